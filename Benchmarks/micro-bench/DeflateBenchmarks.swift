import WebSocketCodec

// permessage-deflate on a room's traffic: a 1 KiB JSON ticker message deflated once into the frame
// every subscriber shares (what Fanout does), against one deflate stream per subscriber that keeps
// its context (what ws and other per-socket servers do), and inflating it (a subscriber, or a
// server reading a client's message).

extension Benchmark {
    static var deflateBenchmarks: [Benchmark] {
        [
            Benchmark(
                name: "deflate-once-1KiB-ticker", operation: "deflate a 1 KiB JSON ticker message into the frame every subscriber shares",
                bytesPerIteration: tickerSize, item: "message", gateIterations: 256,
                prepare: deflateOnceWorkload),
            Benchmark(
                name: "deflate-per-subscriber-1KiB-ticker-100",
                operation: "deflate a 1 KiB JSON ticker message on each of 100 subscribers' own streams (context kept)",
                bytesPerIteration: tickerSize * perSubscriberCount, itemsPerIteration: perSubscriberCount, item: "subscriber",
                gateIterations: 4, prepare: deflatePerSubscriberWorkload),
            Benchmark(
                name: "inflate-1KiB-ticker", operation: "inflate a deflated 1 KiB JSON ticker message (a loop's shared inflater)",
                bytesPerIteration: tickerSize, item: "message", gateIterations: 512,
                prepare: inflateWorkload),
        ]
    }
}

private let tickerSize = 1024
private let perSubscriberCount = 100

/// Eight 1 KiB quote batches: the same symbols and keys, prices moving a little, like a feed.
let tickerMessages: [[UInt8]] = (0..<8).map { batch in
    let symbols = ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "UNH", "XOM", "WMT"]
    var text = #"{"type":"quotes","batch":\#(batch),"q":["#
    var index = 0
    while true {
        let bid = 18_000 + (index * 7_919 + batch * 104_729) % 30_000
        let quote = #"{"s":"\#(symbols[(index * 5 + batch) % symbols.count])","b":\#(bid / 100).\#(bid % 100 / 10)\#(bid % 10),"#
            + #""a":\#((bid + 3) / 100).\#((bid + 3) % 100 / 10)\#((bid + 3) % 10),"v":\#((index * 3_571 + batch * 911) % 90_000 + 100)}"#
        if text.utf8.count + quote.utf8.count + 3 > tickerSize { break }
        text += (index == 0 ? "" : ",") + quote
        index += 1
    }
    text += "]}"
    return Array((text + String(repeating: " ", count: tickerSize - text.utf8.count)).utf8)
}

private func deflateOnceWorkload() -> Workload {
    let encoder = DeflateFrameEncoder()
    let destination = UnsafeMutableRawPointer.allocate(byteCount: DeflateFrameEncoder.maximumFrameSize(payloadLength: tickerSize), alignment: 16)
    return Workload(run: { iterations in
        var checksum: UInt64 = 0
        for iteration in 0..<iterations {
            let (size, compressed) = tickerMessages[iteration & 7].withUnsafeBytes {
                encoder.encode(opcode: .text, payload: $0, into: opaque(destination))
            }
            precondition(compressed, "the ticker message did not shrink")
            checksum &+= UInt64(size)
        }
        return checksum
    }, tearDown: { destination.deallocate() })
}

private func deflatePerSubscriberWorkload() -> Workload {
    // Each a stream as a per-socket server keeps one: its own context, zlib's default memory level.
    let streams = (0..<perSubscriberCount).map { _ in MessageDeflater(keepsContext: true) }
    return Workload(run: { iterations in
        var checksum: UInt64 = 0
        for iteration in 0..<iterations {
            tickerMessages[iteration & 7].withUnsafeBytes { message in
                for stream in streams { checksum &+= UInt64(stream.compress(message)!.count) }
            }
        }
        return checksum
    })
}

private func inflateWorkload() -> Workload {
    let deflater = MessageDeflater()
    let compressed = tickerMessages.map { message in message.withUnsafeBytes { Array(deflater.compress($0)!) } }
    let inflater = MessageInflater.sharedPerLoop()
    return Workload(run: { iterations in
        var checksum: UInt64 = 0
        for iteration in 0..<iterations {
            compressed[iteration & 7].withUnsafeBytes { payload in
                guard case .inflated(let message) = inflater.inflate(payload, limit: 1 << 20), message.count == tickerSize else {
                    fatalError("inflate benchmark: the message did not come back")
                }
                checksum &+= UInt64(message[message.count / 2])
            }
        }
        return checksum
    })
}
