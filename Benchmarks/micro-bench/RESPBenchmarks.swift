import Redis

// The Redis client's codec on its hot paths: replies to a pipeline and pub/sub messages coming in
// (parsed from a buffer of many, as a read delivers them), commands going out (encoded into the
// client's command buffer, as a publish does).

extension Benchmark {
    static var respBenchmarks: [Benchmark] {
        [
            Benchmark(
                name: "resp-parse-integer", operation: "parse one integer reply (INCR's) from a buffer of many",
                item: "reply", gateIterations: 16_384,
                prepare: { respParseWorkload(Array(":1234567\r\n".utf8), copies: 4096) }),
            Benchmark(
                name: "resp-parse-message-64B", operation: "parse one RESP3 pub/sub message of 64 bytes from a buffer of many",
                bytesPerIteration: 64, item: "message", gateIterations: 8192,
                prepare: {
                    let payload = String(repeating: "m", count: 64)
                    return respParseWorkload(Array(">3\r\n$7\r\nmessage\r\n$15\r\nfanout:room:abc\r\n$64\r\n\(payload)\r\n".utf8), copies: 1024)
                }),
            Benchmark(
                name: "resp-encode-publish-64B", operation: "encode one PUBLISH of 64 bytes into the command buffer",
                bytesPerIteration: 64, item: "command", gateIterations: 16_384,
                prepare: { respEncodeWorkload() }),
        ]
    }
}

private func respParseWorkload(_ reply: [UInt8], copies: Int) -> Workload {
    let bytes = Array([[UInt8]](repeating: reply, count: copies).joined())
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
    buffer.copyBytes(from: bytes)
    return Workload(run: { iterations in
        var reader = RESPReader()
        var offset = 0
        var checksum: UInt64 = 0
        for _ in 0..<iterations {
            guard let (value, consumed) = try? reader.read(UnsafeRawBufferPointer(rebasing: buffer[offset...])), let value else {
                fatalError("resp benchmark: expected a reply")
            }
            switch value {
            case .integer(let number): checksum &+= UInt64(number)
            case .push(let items): checksum &+= UInt64(items.count)
            default: fatalError("resp benchmark: unexpected \(value)")
            }
            offset += consumed
            if offset == buffer.count { offset = 0 }
        }
        return checksum
    }, tearDown: { buffer.deallocate() })
}

private func respEncodeWorkload() -> Workload {
    let output = RESPCommandBuffer(capacity: 256 * 1024)
    let payload = [UInt8](repeating: UInt8(ascii: "m"), count: 64)
    let channel = "fanout:room:abc"
    return Workload(run: { iterations in
        var checksum: UInt64 = 0
        for index in 0..<iterations {
            output.append("PUBLISH", channel, payload)
            if index & 1023 == 1023 {
                checksum &+= UInt64(output.count)
                output.removeAll()
            }
        }
        checksum &+= UInt64(output.count)
        output.removeAll()
        return checksum
    })
}
