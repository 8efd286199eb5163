import WebSocketCodec
import XCTest

/// Reading permessage-deflate messages (RFC 7692): reserved-bit rules, the RFC's examples, round
/// trips at every split point, context takeover, window sizes, and what bad data gets.
final class DeflateReaderTests: XCTestCase {
    private let key = MaskKey(0x12, 0x34, 0x56, 0x78)
    private let streamingLimits = WebSocketLimits(maxMessageSize: 1 << 20, streamingThreshold: 64)

    /// RSV1 is 4 in `rawFrame`'s numbering (bit 6 of the first byte), RSV2 2, RSV3 1.
    private func compressedFrame(_ opcode: UInt8, fin: Bool = true, _ payload: [UInt8], rsv: UInt8 = 4, masked: Bool = true) -> [UInt8] {
        rawFrame(fin: fin, rsv: rsv, opcode: opcode, payload: payload, maskKey: masked ? key : nil)
    }

    private func events(_ bytes: [UInt8], role: WebSocketRole = .server, inflater: MessageInflater = .sharedPerLoop(),
                        limits: WebSocketLimits = WebSocketLimits()) -> [Recorded] {
        ReaderHarness.events(bytes, splits: [], role: role, limits: limits, inflater: inflater)
    }

    private func text(_ string: String) -> [UInt8] { Array(string.utf8) }

    /// Compresses on its own, as a sender without context takeover does: the payload of one message.
    private func deflate(_ bytes: [UInt8], windowBits: Int = 15) -> [UInt8] {
        let deflater = MessageDeflater(windowBits: windowBits)
        return deflater.compressed(bytes)!
    }

    // MARK: Reserved bits

    func testReservedBitsAllowedExactlyWhereTheExtensionOwnsThem() {
        let hello = deflate(text("Hello"))
        // RSV1 on a text or binary message's first frame: a compressed message.
        XCTAssertEqual(events(compressedFrame(1, hello)), [.message(.text, text("Hello"))])
        XCTAssertEqual(events(compressedFrame(2, hello)), [.message(.binary, text("Hello"))])
        XCTAssertEqual(events(compressedFrame(1, fin: false, Array(hello[..<3])) + compressedFrame(0, Array(hello[3...]), rsv: 0)),
                       [.message(.text, text("Hello"))])
        // RSV1 on a continuation frame, on every control frame, or on a reserved opcode: 1002.
        XCTAssertEqual(events(compressedFrame(1, fin: false, Array(hello[..<3])) + compressedFrame(0, Array(hello[3...]))), [.failure(1002)])
        for control: UInt8 in [8, 9, 10] {
            XCTAssertEqual(events(compressedFrame(control, [])), [.failure(1002)], "opcode \(control)")
        }
        XCTAssertEqual(events(compressedFrame(3, [])), [.failure(1002)])
        // RSV2 and RSV3 belong to no negotiated extension.
        XCTAssertEqual(events(compressedFrame(1, hello, rsv: 2)), [.failure(1002)])
        XCTAssertEqual(events(compressedFrame(1, hello, rsv: 5)), [.failure(1002)])
        // Without the extension, RSV1 is as wrong as ever, and decided from the first two bytes.
        XCTAssertEqual(ReaderHarness.events(compressedFrame(1, hello), splits: []), [.failure(1002)])
        XCTAssertEqual(ReaderHarness.events(Array(compressedFrame(1, hello).prefix(2)), splits: []), [.failure(1002)])
        // A plain message on a deflate connection is read as it always was.
        XCTAssertEqual(events(compressedFrame(1, text("plain"), rsv: 0)), [.message(.text, text("plain"))])
    }

    func testReservedBitFailuresSayWhy() {
        var reader = WebSocketReader()
        let inflater = MessageInflater.sharedPerLoop()
        func reason(_ frame: [UInt8]) -> String {
            reader = WebSocketReader()
            var bytes = frame
            let (event, _) = bytes.withUnsafeMutableBytes { reader.read($0, role: .server, limits: WebSocketLimits(), inflater: inflater) }
            guard case .failure(_, let reason) = event else { return "no failure: \(event)" }
            return reason
        }
        XCTAssertEqual(reason(compressedFrame(9, [])), "RSV1 set on a control frame")
        XCTAssertEqual(reason(compressedFrame(1, fin: false, [0xF2]) + compressedFrame(0, [0])), "RSV1 set on a continuation frame")
        XCTAssertEqual(reason(compressedFrame(1, [0], rsv: 1)), "reserved bits 0x10 set that no negotiated extension uses")
    }

    // MARK: RFC 7692 §7.2.3

    func testTheRFCExamples() {
        let hello: [Recorded] = [.message(.text, text("Hello"))]
        let unmasked: [[UInt8]] = [
            [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00],                          // §7.2.3.1, one frame
            [0x41, 0x03, 0xF2, 0x48, 0xCD, 0x80, 0x04, 0xC9, 0xC9, 0x07, 0x00],              // §7.2.3.1, fragmented
            [0xC1, 0x0B, 0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00],  // §7.2.3.3, stored block
            [0xC1, 0x08, 0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00],                    // §7.2.3.4, BFINAL set
            [0xC1, 0x0D, 0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00],  // §7.2.3.5, two blocks
        ]
        for frames in unmasked {
            for split in 0...frames.count {
                XCTAssertEqual(ReaderHarness.events(frames, splits: [split], role: .client, inflater: .sharedPerLoop()), hello,
                               "\(frames) split at \(split)")
            }
        }
        // §7.2.3.2: the second "Hello" refers back into the first, which only a kept window can follow.
        let shared: [UInt8] = [0xC1, 0x07, 0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00]
        XCTAssertEqual(events(shared, role: .client, inflater: MessageInflater(keepsContext: true)), hello + hello)
        XCTAssertEqual(events(shared, role: .client, inflater: .sharedPerLoop()), hello + [.failure(1007)])
        // After a BFINAL block the kept window still serves the next message.
        let finalThenShared: [UInt8] = [0xC1, 0x08, 0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00, 0xC1, 0x05, 0xF2, 0x00, 0x11, 0x00, 0x00]
        XCTAssertEqual(events(finalThenShared, role: .client, inflater: MessageInflater(keepsContext: true)), hello + hello)
        // And the compressing side produces the RFC's bytes.
        let deflater = MessageDeflater(keepsContext: true)
        let first = deflater.compressed(text("Hello"))!
        let second = deflater.compressed(text("Hello"))!
        XCTAssertEqual(first, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        XCTAssertEqual(second, [0xF2, 0x00, 0x11, 0x00, 0x00])
        XCTAssertEqual(deflate(text("Hello")), first, "without context, every message compresses like the first")
        // The empty message compresses to one byte (§7.2.3.6), and both it and an empty payload read as empty.
        XCTAssertEqual(deflate([]), [0x00])
        XCTAssertEqual(events(compressedFrame(2, [0x00]) + compressedFrame(1, [])), [.message(.binary, []), .message(.text, [])])
    }

    // MARK: Round trips

    func testEverySplitOfCompressedMessages() {
        let json = text(#"{"quotes":[{"s":"AAPL","p":187.31,"v":1200},{"s":"MSFT","p":411.05,"v":300},{"s":"AAPL","p":187.32,"v":700}]}"#)
        let compressed = deflate(json)
        XCTAssertLessThan(compressed.count, json.count)
        // One frame; the same message fragmented in three with a ping between; then a plain one after it.
        let single = compressedFrame(1, compressed)
        let thirds = [compressed.count / 3, 2 * compressed.count / 3]
        let fragmented = compressedFrame(1, fin: false, Array(compressed[..<thirds[0]]))
            + rawFrame(opcode: 9, payload: text("p"), maskKey: key)
            + compressedFrame(0, fin: false, Array(compressed[thirds[0]..<thirds[1]]), rsv: 0)
            + compressedFrame(0, Array(compressed[thirds[1]...]), rsv: 0)
            + compressedFrame(2, [1, 2, 3], rsv: 0)
        let expectations: [([UInt8], [Recorded])] = [
            (single, [.message(.text, json)]),
            (fragmented, [.ping(text("p")), .message(.text, json), .message(.binary, [1, 2, 3])]),
        ]
        for (bytes, expected) in expectations {
            for limits in [WebSocketLimits(), streamingLimits] {
                for split in 0...bytes.count {
                    let got = ReaderHarness.events(bytes, splits: [split], limits: limits, inflater: .sharedPerLoop())
                    if got != expected { return XCTFail("split at \(split) of \(bytes.count): \(got) != \(expected)") }
                }
                XCTAssertEqual(ReaderHarness.events(bytes, splits: Array(0..<bytes.count), limits: limits, inflater: .sharedPerLoop()),
                               expected, "byte by byte")
            }
        }
    }

    func testRandomRoundTripsThroughBothRoles() {
        var generator = SeededGenerator(seed: 77)
        for round in 0..<40 {
            let role: WebSocketRole = round % 2 == 0 ? .server : .client
            let keeps = round % 4 < 2
            let deflater = MessageDeflater(windowBits: 9 + round % 7, keepsContext: keeps)
            let inflater = MessageInflater(windowBits: 9 + round % 7, keepsContext: keeps)
            var wire: [UInt8] = []
            var expected: [Recorded] = []
            for _ in 0..<Int.random(in: 1...5, using: &generator) {
                // Text that repeats itself (so it compresses) with random words in it.
                let words = (0..<Int.random(in: 0...400, using: &generator)).map { _ in ["bid", "ask", "AAPL", "☃", String(Int.random(in: 0...999, using: &generator))].randomElement(using: &generator)! }
                let payload = text(words.joined(separator: " "))
                let compressed = deflater.compressed(payload)!
                let maskKey: MaskKey? = role == .server ? generator.maskKey() : nil
                let cut = Int.random(in: 0...compressed.count, using: &generator)
                if Bool.random(using: &generator) {
                    wire += rawFrame(rsv: 4, opcode: 1, payload: compressed, maskKey: maskKey)
                } else {
                    wire += rawFrame(fin: false, rsv: 4, opcode: 1, payload: Array(compressed[..<cut]), maskKey: maskKey)
                    wire += rawFrame(opcode: 0, payload: Array(compressed[cut...]), maskKey: maskKey)
                }
                expected.append(.message(.text, payload))
            }
            var splits: [Int] = []
            var position = 0
            while true {
                position += Int.random(in: 1...700, using: &generator)
                if position >= wire.count { break }
                splits.append(position)
            }
            let limits = round % 3 == 0 ? streamingLimits : WebSocketLimits()
            XCTAssertEqual(ReaderHarness.events(wire, splits: splits, role: role, limits: limits, inflater: inflater), expected, "round \(round)")
        }
    }

    func testContextTakeoverCompressesBetterAndNeedsItsOwnInflater() {
        let message = text(#"{"type":"quote","symbol":"AAPL","bid":187.31,"ask":187.33}"#)
        let keeping = MessageDeflater(keepsContext: true)
        let sizes = (0..<3).map { _ in keeping.compressed(message)!.count }
        XCTAssertLessThan(sizes[1], sizes[0] / 2, "the second message refers back into the first")
        // Frames that refer back need the kept window; frames that do not read anywhere.
        let own = MessageInflater(keepsContext: true)
        var wire: [UInt8] = []
        let sender = MessageDeflater(keepsContext: true)
        for _ in 0..<3 { wire += compressedFrame(1, sender.compressed(message)!) }
        XCTAssertEqual(events(wire, inflater: own), Array(repeating: .message(.text, message), count: 3))
        XCTAssertEqual(events(wire, inflater: .sharedPerLoop()), [.message(.text, message), .failure(1007)])
        let contextless = (0..<3).flatMap { _ in compressedFrame(1, deflate(message)) }
        XCTAssertEqual(events(contextless, inflater: MessageInflater(keepsContext: true)), Array(repeating: .message(.text, message), count: 3))
        // A deflater that gives up on a message (not smaller) forgets its context, which the peer's kept window tolerates.
        let giver = MessageDeflater(keepsContext: true)
        var mixed = compressedFrame(1, giver.compressed(message)!)
        XCTAssertNil(giver.compressed(message, smallerThan: 3))
        mixed += compressedFrame(1, message, rsv: 0)
        mixed += compressedFrame(1, giver.compressed(message)!)
        XCTAssertEqual(events(mixed, inflater: MessageInflater(keepsContext: true)), Array(repeating: .message(.text, message), count: 3))
    }

    // MARK: Bad data

    func testBadCompressedDataGets1007() {
        XCTAssertEqual(events(compressedFrame(1, [0xFF, 0xFF, 0xFF, 0xFF])), [.failure(1007)], "not DEFLATE")
        let hello = deflate(text("Hello, Hello, Hello, Hello"))
        XCTAssertEqual(events(compressedFrame(1, Array(hello.dropLast(2)))), [.failure(1007)], "cut short")
        // Inflated text must be UTF-8, checked once inflated.
        XCTAssertEqual(events(compressedFrame(1, deflate([0x61, 0xC3, 0x28, 0x62]))), [.failure(1007)])
        XCTAssertEqual(events(compressedFrame(2, deflate([0x61, 0xC3, 0x28, 0x62]))), [.message(.binary, [0x61, 0xC3, 0x28, 0x62])])
        // A reader that failed stays failed; the shared inflater is clean for the next connection.
        let shared = MessageInflater.sharedPerLoop()
        XCTAssertEqual(events(compressedFrame(1, [0xFF, 0xFF]), inflater: shared), [.failure(1007)])
        XCTAssertEqual(events(compressedFrame(1, hello), inflater: shared), [.message(.text, text("Hello, Hello, Hello, Hello"))])
    }

    func testInflatedSizeIsBoundedByTheMessageLimit() {
        let payload = [UInt8](repeating: 0x61, count: 5000)
        let compressed = deflate(payload)
        XCTAssertLessThan(compressed.count, 100)
        let exact = WebSocketLimits(maxMessageSize: 5000, streamingThreshold: 64)
        XCTAssertEqual(events(compressedFrame(1, compressed), limits: exact), [.message(.text, payload)])
        let under = WebSocketLimits(maxMessageSize: 4999, streamingThreshold: 64)
        XCTAssertEqual(events(compressedFrame(1, compressed), limits: under), [.failure(1009)])
        // The compressed size counts too, before anything is inflated.
        var random = SystemRandomNumberGenerator()
        let noise = deflate((0..<5000).map { _ in UInt8.random(in: 0...255, using: &random) })
        let tiny = WebSocketLimits(maxMessageSize: 1000, streamingThreshold: 64)
        XCTAssertLessThan(tiny.maxCompressedMessageSize, noise.count)
        let inflater = MessageInflater.sharedPerLoop()
        XCTAssertEqual(events(compressedFrame(2, noise), inflater: inflater, limits: tiny), [.failure(1009)])
        XCTAssertEqual(inflater.peakOutputCapacity, 0, "refused by its compressed size")
    }

    /// Data that does not compress comes out of DEFLATE larger: a message of the limit, so
    /// compressed, is still a message of the limit.
    func testAnIncompressibleMessageOfTheLimitIsAcceptedCompressed() {
        var random = SystemRandomNumberGenerator()
        let payload = (0..<(256 << 10)).map { _ in UInt8.random(in: 0...255, using: &random) }
        // zlib with a 256-byte window (sent as 9) and the least memory: stored blocks of under 512 bytes, 5 bytes each more.
        let deflater = MessageDeflater(windowBits: 8, level: 1, memoryLevel: 1)
        let compressed = deflater.compressed(payload)!
        XCTAssertGreaterThan(compressed.count, payload.count, "incompressible data grows")
        let limits = WebSocketLimits(maxMessageSize: payload.count, streamingThreshold: 64 << 10)
        XCTAssertLessThanOrEqual(compressed.count, limits.maxCompressedMessageSize)
        for splits in [[], Array(stride(from: 1000, to: compressed.count, by: 65536))] {
            XCTAssertEqual(ReaderHarness.events(compressedFrame(2, compressed), splits: splits, limits: limits, inflater: .sharedPerLoop()),
                           [.message(.binary, payload)])
        }
        // Fragmented: the frames' sum is held to the compressed limit, the message to the limit.
        let half = compressed.count / 2
        let fragmented = compressedFrame(2, fin: false, Array(compressed[..<half])) + compressedFrame(0, Array(compressed[half...]), rsv: 0)
        XCTAssertEqual(events(fragmented, limits: limits), [.message(.binary, payload)])
        let smaller = WebSocketLimits(maxMessageSize: payload.count - 1, streamingThreshold: 64 << 10)
        XCTAssertEqual(events(compressedFrame(2, compressed), limits: smaller), [.failure(1009)])
    }
}
