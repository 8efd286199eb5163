import CZlib
import WebSocketCodec
import XCTest

/// Compress once, share with every subscriber; window sizes; what stays plain.
final class DeflateFrameEncoderTests: XCTestCase {
    /// A realistic room message: a batch of JSON quotes.
    private let ticker = Array((#"{"type":"quotes","t":1732400000123,"q":["#
        + (0..<12).map { #"{"s":"SYM\#($0 % 5)","b":\#(180 + $0).\#(10 + $0 * 7 % 89),"a":\#(180 + $0).\#(12 + $0 * 7 % 87),"v":\#(100 * ($0 + 3))}"# }
            .joined(separator: ",") + "]}").utf8)

    private func text(_ string: String) -> [UInt8] { Array(string.utf8) }

    func testOneFrameServesEverySubscriberByteForByte() {
        let encoder = DeflateFrameEncoder()
        let frame = encoder.frame(opcode: .text, payload: ticker)
        XCTAssertEqual(frame[0], 0xC1, "FIN, RSV1, text")
        XCTAssertLessThan(frame.count, ticker.count / 2)
        XCTAssertEqual(encoder.compressedCount, 1)
        // No context: the same message always makes the same frame, whatever came before.
        _ = encoder.frame(opcode: .text, payload: text(String(repeating: "something else entirely ", count: 20)))
        XCTAssertEqual(encoder.frame(opcode: .text, payload: ticker), frame)
        // Subscribers of every kind read the very same bytes, message after message: the loop's shared
        // inflater, connections that keep their context (any window that fits), several in a row.
        let subscribers: [MessageInflater] = [.sharedPerLoop(), .sharedPerLoop(), MessageInflater(keepsContext: true),
                                              MessageInflater(windowBits: 15, keepsContext: true)]
        let stream = frame + frame + encoder.frame(opcode: .binary, payload: ticker) + frame
        let expected: [Recorded] = [.message(.text, ticker), .message(.text, ticker), .message(.binary, ticker), .message(.text, ticker)]
        for (index, inflater) in subscribers.enumerated() {
            for split in stride(from: 0, through: stream.count, by: 7) {
                let events = ReaderHarness.events(stream, splits: [split], role: .client, inflater: inflater)
                if events != expected { return XCTFail("subscriber \(index), split \(split): \(events)") }
            }
        }
    }

    func testSmallOrIncompressibleMessagesStayPlain() {
        let encoder = DeflateFrameEncoder()
        let short = text(#"{"s":"AAPL","p":187.31}"#)
        XCTAssertLessThan(short.count, DeflateFrameEncoder.defaultMinimumPayloadSize)
        XCTAssertEqual(encoder.frame(opcode: .text, payload: short), FrameEncoder.frame(opcode: .text, payload: short))
        var generator = SeededGenerator(seed: 11)
        let noise = generator.bytes(1000)
        XCTAssertEqual(encoder.frame(opcode: .binary, payload: noise), FrameEncoder.frame(opcode: .binary, payload: noise))
        XCTAssertEqual(encoder.plainCount, 2)
        XCTAssertEqual(encoder.compressedCount, 0)
        // With no threshold a short message is still sent plain when compressing does not make the frame smaller.
        let eager = DeflateFrameEncoder(minimumPayloadSize: 0)
        XCTAssertEqual(eager.frame(opcode: .text, payload: text("Hello")), FrameEncoder.frame(opcode: .text, payload: text("Hello")))
        XCTAssertEqual(eager.frame(opcode: .text, payload: text(String(repeating: "a", count: 40)))[0], 0xC1)
        // A message around the 16-bit length boundary: the frame, header included, must be smaller.
        let boundary = [UInt8](repeating: 0x62, count: 130)
        let frame = eager.frame(opcode: .binary, payload: boundary)
        XCTAssertLessThan(frame.count, FrameEncoder.frame(opcode: .binary, payload: boundary).count)
        XCTAssertLessThanOrEqual(frame.count, DeflateFrameEncoder.maximumFrameSize(payloadLength: boundary.count))
    }

    func testMaskedFramesForClients() {
        let encoder = DeflateFrameEncoder()
        let key = MaskKey(0xA1, 0xB2, 0xC3, 0xD4)
        let frame = encoder.frame(opcode: .text, payload: ticker, maskKey: key)
        XCTAssertEqual(frame[0], 0xC1)
        XCTAssertEqual(frame[1] & 0x80, 0x80, "masked")
        XCTAssertEqual(ReaderHarness.events(frame, splits: [], role: .server, inflater: .sharedPerLoop()), [.message(.text, ticker)])
    }

    func testWhichSubscribersAFrameSuits() {
        let encoder = DeflateFrameEncoder(windowBits: 15)
        let full = PerMessageDeflate.Parameters(serverNoContextTakeover: true)
        let small = PerMessageDeflate.Parameters(serverNoContextTakeover: true, serverMaxWindowBits: 10)
        XCTAssertTrue(encoder.suits(full, payloadLength: 1 << 20))
        XCTAssertTrue(encoder.suits(small, payloadLength: 1024), "no match reaches back past the message's start")
        XCTAssertFalse(encoder.suits(small, payloadLength: 1025))
        XCTAssertTrue(DeflateFrameEncoder(windowBits: 10).suits(small, payloadLength: 1 << 20))
        XCTAssertTrue(DeflateFrameEncoder(windowBits: 8).suits(PerMessageDeflate.Parameters(serverMaxWindowBits: 8), payloadLength: 1 << 20))
    }

    // MARK: Window sizes

    /// Text whose repeats lie between 300 and 3,000 bytes apart.
    private func farRepeats() -> [UInt8] {
        var generator = SeededGenerator(seed: 5)
        let blocks = (0..<8).map { _ in (0..<Int.random(in: 300...3000, using: &generator)).map { _ in UInt8.random(in: 97...122, using: &generator) } }
        return (0..<40).flatMap { blocks[$0 * 7 % 8] }
    }

    /// Inflates with zlib's window of exactly `windowBits`, one output byte per call, so every match
    /// is copied out of the window and one that reaches further back than it fails.
    private func inflatesWithin(_ compressed: [UInt8], windowBits: Int32, expected: [UInt8]) -> Bool {
        // zlib's state points back at the stream, so it must stay put: on the heap.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard czlib_inflate_init(stream, -windowBits) == Z_OK else { return false }
        defer { inflateEnd(stream) }
        var input = compressed + [0, 0, 0xFF, 0xFF]
        var output = [UInt8](repeating: 0, count: expected.count)
        var status = Z_OK
        input.withUnsafeMutableBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                stream.pointee.next_in = input.baseAddress
                stream.pointee.avail_in = uInt(input.count)
                var produced = 0
                while produced < output.count {
                    stream.pointee.next_out = output.baseAddress! + produced
                    stream.pointee.avail_out = 1
                    status = inflate(stream, Z_SYNC_FLUSH)
                    if status != Z_OK { return }
                    produced += 1 - Int(stream.pointee.avail_out)
                }
            }
        }
        return status == Z_OK && output == expected
    }

    func testEachWindowSizeStaysWithinItsWindow() {
        let data = farRepeats()
        for bits in 9...15 {
            let compressed = MessageDeflater(windowBits: bits).compressed(data)!
            XCTAssertTrue(inflatesWithin(compressed, windowBits: Int32(bits), expected: data), "window \(bits)")
            if bits >= 12 {
                XCTAssertFalse(inflatesWithin(compressed, windowBits: 9, expected: data), "window \(bits) read with 9: the check must be able to fail")
            }
        }
        // zlib has no 256-byte window: asked for 8 it uses 512, whose matches reach back at most 250 bytes.
        let eight = MessageDeflater(windowBits: 8).compressed(data)!
        XCTAssertEqual(MessageDeflater(windowBits: 8).windowBits, 9)
        XCTAssertTrue(inflatesWithin(eight, windowBits: 8, expected: data))
        XCTAssertLessThan(eight.count, data.count, "still compresses")
        // Our inflater, told 8, reads it (and what a zlib peer told 8 sends).
        XCTAssertEqual(ReaderHarness.events(rawFrame(rsv: 4, opcode: 2, payload: eight, maskKey: nil), splits: [], role: .client,
                                            inflater: MessageInflater(windowBits: 8, keepsContext: true)), [.message(.binary, data)])
    }
}
