import Glibc
import Reactor
import WebSocketCodec

/// `wsbench --deflate-sizes [--samples N]` (hidden; `Benchmarks/deflate-sizes.sh` runs it): what
/// permessage-deflate saves on messages of each size, and what deflating them costs, on two kinds
/// of room traffic: the ticker feed of `--payload ticker` (JSON quotes) and chat lines. Each
/// message is deflated on its own, as a room message is (no context), and its frame compared
/// with the plain one. This is how `DeflateFrameEncoder.defaultMinimumPayloadSize` was chosen.
enum DeflateSizes {
    static let flag = "--deflate-sizes"
    static let usage = "Usage: wsbench --deflate-sizes [--samples N (1-100000, default 2000)]"
    static let sizes = [16, 24, 32, 48, 64, 80, 96, 128, 192, 256, 512, 1024, 4096, 16384]

    static func parse(_ arguments: [String]) throws(UsageError) -> Int {
        guard !arguments.isEmpty else { return 2000 }
        guard arguments.count == 2, arguments[0] == "--samples", let samples = Int(arguments[1]), (1...100_000).contains(samples) else {
            throw UsageError("unexpected \(arguments.joined(separator: " "))")
        }
        return samples
    }

    /// One row: messages of one kind and size.
    struct Row {
        var kind: String
        var size: Int
        var plainFrame: Int
        var deflatedFrame: Double
        /// Share of the messages whose deflated frame is smaller than the plain one.
        var smallerShare: Double
        /// Bytes saved per message when a message goes deflated only if smaller.
        var savedPerMessage: Double
        var nanosecondsPerDeflate: Double
    }

    static func measure(samples: Int) -> [Row] {
        var rows: [Row] = []
        for size in sizes {
            let kinds = [("ticker", TickerPayload.feed(size: size, count: samples, header: false)), ("chat", chatLines(size: size, count: samples))]
            for (kind, messages) in kinds {
                rows.append(measure(kind, size: size, messages))
            }
        }
        return rows
    }

    private static func measure(_ kind: String, size: Int, _ messages: [[UInt8]]) -> Row {
        let deflater = MessageDeflater(memoryLevel: DeflateFrameEncoder.memoryLevel)  // as a room message is
        let plain = FrameEncoder.headerSize(payloadLength: size, masked: false) + size
        var deflatedTotal = 0
        var smaller = 0
        var saved = 0
        for message in messages {
            let length = message.withUnsafeBytes { deflater.compress($0)!.count }
            let frame = FrameEncoder.headerSize(payloadLength: length, masked: false) + length
            deflatedTotal += frame
            if frame < plain {
                smaller += 1
                saved += plain - frame
            }
        }
        // Time: the whole set, best of three passes, after the pass above warmed everything.
        var best = UInt64.max
        for _ in 0..<3 {
            let start = monotonicNanoseconds()
            var checksum = 0
            for message in messages { checksum &+= message.withUnsafeBytes { deflater.compress($0)!.count } }
            best = min(best, monotonicNanoseconds() - start)
            precondition(checksum > 0)
        }
        let count = Double(messages.count)
        return Row(kind: kind, size: size, plainFrame: plain, deflatedFrame: Double(deflatedTotal) / count,
                   smallerShare: Double(smaller) / count, savedPerMessage: Double(saved) / count,
                   nanosecondsPerDeflate: Double(best) / count)
    }

    static func report(_ rows: [Row], samples: Int) -> String {
        var lines = [
            "Deflating each message on its own as DeflateFrameEncoder does (zlib level 6, 15-bit window, memory level "
                + "\(DeflateFrameEncoder.memoryLevel)), \(samples) messages per row.",
            "Frames are unmasked server frames; a deflated frame is sent only when smaller, so 'saved' counts only those.",
            "",
            "| kind | payload | plain frame | deflated frame (mean) | smaller | saved per message | deflate time | ns per byte saved |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows {
            let perByte = row.savedPerMessage > 0 ? Format.fixed(row.nanosecondsPerDeflate / row.savedPerMessage, 1) : "-"
            lines.append("| \(row.kind) | \(row.size) | \(row.plainFrame) | \(Format.fixed(row.deflatedFrame, 1)) | "
                + "\(Format.fixed(row.smallerShare * 100, 0))% | \(Format.fixed(row.savedPerMessage, 1)) "
                + "(\(Format.fixed(row.savedPerMessage / Double(row.plainFrame) * 100, 0))%) | "
                + "\(Format.fixed(row.nanosecondsPerDeflate / 1000, 2)) us | \(perByte) |")
        }
        return lines.joined(separator: "\n")
    }

    /// Chat lines (a nick, then words, some of them CJK) of exactly `size` bytes.
    static func chatLines(size: Int, count: Int) -> [[UInt8]] {
        let words = ["lol", "gg", "666", "nice", "wow", "that", "play", "was", "insane", "again", "replay", "clip", "it",
                     "boss", "fight", "first", "time", "here", "hello", "from", "berlin", "哈哈哈", "前方高能", "太强了", "?", "!!"]
            .map { Array($0.utf8) }
        var random = FastRandom(seed: 0x63_6861_74)  // "chat"
        return (0..<count).map { _ in
            var line = Array("user\(random.next() % 100_000): ".utf8)
            while line.count < size {
                let word = words[Int(random.next() % UInt64(words.count))]
                if line.count + 1 + word.count > size { break }
                line += [UInt8(ascii: " ")] + word
            }
            line += [UInt8](repeating: UInt8(ascii: "!"), count: max(0, size - line.count))
            return Array(line.prefix(size))
        }
    }
}
