import WebSocketCodec
import XCTest

final class WebSocketReaderTests: XCTestCase {
    private let key = MaskKey(0x12, 0x34, 0x56, 0x78)
    /// Streams every incomplete data frame over 64 bytes, so small tests reach the streaming path.
    private let streamingLimits = WebSocketLimits(maxMessageSize: 1 << 20, streamingThreshold: 64)

    private func frame(_ opcode: Opcode, fin: Bool = true, _ payload: [UInt8], masked: Bool = true) -> [UInt8] {
        FrameEncoder.frame(opcode: opcode, fin: fin, payload: payload, maskKey: masked ? key : nil)
    }

    private func text(_ string: String) -> [UInt8] { Array(string.utf8) }

    /// The events of one byte string, unsplit, must equal those of every two-piece split and of a byte-at-a-time feed.
    private func assertSplitInvariant(_ bytes: [UInt8], role: WebSocketRole = .server, expected: [Recorded],
                                      file: StaticString = #filePath, line: UInt = #line) {
        for limits in [WebSocketLimits(), streamingLimits] {
            let whole = ReaderHarness.events(bytes, splits: [], role: role, limits: limits)
            XCTAssertEqual(whole, expected, "unsplit", file: file, line: line)
            for split in 0...bytes.count {
                let events = ReaderHarness.events(bytes, splits: [split], role: role, limits: limits)
                if events != expected {
                    XCTFail("split at \(split) of \(bytes.count): \(events) != \(expected)", file: file, line: line)
                    return
                }
            }
            let byteByByte = ReaderHarness.events(bytes, splits: Array(0..<bytes.count), role: role, limits: limits)
            XCTAssertEqual(byteByByte, expected, "byte by byte", file: file, line: line)
        }
    }

    func testEverySplitOfEachFrameKind() {
        var generator = SeededGenerator(seed: 5)
        let short = text("Hello, WebSocket")
        let medium = generator.bytes(300)            // 16-bit length
        let mediumText = Array(String(repeating: "κόσμε🎉", count: 30).utf8)
        assertSplitInvariant(frame(.text, short), expected: [.message(.text, short)])
        assertSplitInvariant(frame(.text, []), expected: [.message(.text, [])])
        assertSplitInvariant(frame(.binary, medium), expected: [.message(.binary, medium)])
        assertSplitInvariant(frame(.text, mediumText), expected: [.message(.text, mediumText)])
        assertSplitInvariant(frame(.ping, text("ping!")), expected: [.ping(text("ping!"))])
        assertSplitInvariant(frame(.pong, []), expected: [.pong([])])
        assertSplitInvariant(frame(.close, FrameEncoder.closePayload(code: .goingAway, reason: "bye")),
                             expected: [.close(1001, text("bye"))])
        assertSplitInvariant(frame(.close, []), expected: [.close(nil, [])])
        // A 64-bit length form (non-minimal, which the reader accepts) keeps every split affordable.
        let long = rawFrame(opcode: 2, payload: medium, maskKey: key, lengthForm: 64)
        assertSplitInvariant(long, expected: [.message(.binary, medium)])
        // Unmasked frames to a client-role reader.
        assertSplitInvariant(frame(.text, short, masked: false), role: .client, expected: [.message(.text, short)])
        assertSplitInvariant(frame(.binary, medium, masked: false), role: .client, expected: [.message(.binary, medium)])
    }

    func testEverySplitOfAFragmentedMessageWithInterleavedPing() {
        let part1 = text("fragmented κό")
        let part2 = Array(Array("σμε 🎉".utf8).prefix(5))   // ends inside a multibyte sequence
        let part3 = Array(Array("σμε 🎉".utf8).dropFirst(5)) + text(" end")
        let bytes = frame(.text, fin: false, part1) + frame(.ping, text("p")) + frame(.continuation, fin: false, part2)
            + frame(.pong, []) + frame(.continuation, fin: true, part3) + frame(.binary, [1, 2, 3])
        assertSplitInvariant(bytes, expected: [.ping(text("p")), .pong([]), .message(.text, part1 + part2 + part3),
                                               .message(.binary, [1, 2, 3])])
        // Empty fragments, including an empty final one.
        let empties = frame(.binary, fin: false, []) + frame(.continuation, fin: false, [9]) + frame(.continuation, fin: true, [])
        assertSplitInvariant(empties, expected: [.message(.binary, [9])])
    }

    func testSixtyFourBitFrameAtStridedSplits() {
        var generator = SeededGenerator(seed: 6)
        let payload = generator.bytes(65536 + 17)
        let bytes = frame(.binary, payload)
        XCTAssertEqual(bytes.count, 14 + payload.count)
        let expected: [Recorded] = [.message(.binary, payload)]
        let splits = Array(0...40) + Array(stride(from: 41, to: bytes.count - 40, by: 4093)) + Array((bytes.count - 40)...bytes.count)
        for split in splits {
            XCTAssertEqual(ReaderHarness.events(bytes, splits: [split]), expected, "split \(split)")
        }
        // Arriving in 1400-byte segments, like TCP.
        XCTAssertEqual(ReaderHarness.events(bytes, splits: Array(stride(from: 1400, to: bytes.count, by: 1400))), expected)
    }

    func testRandomRoundTrips() {
        var generator = SeededGenerator(seed: 42)
        let sizes = [0, 1, 2, 7, 125, 126, 127, 1000, 65535, 65536, 70000]
        for round in 0..<60 {
            var wire: [UInt8] = []
            var expected: [Recorded] = []
            let role: WebSocketRole = round % 4 == 3 ? .client : .server
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let size = Bool.random(using: &generator) ? sizes.randomElement(using: &generator)! : Int.random(in: 0...300, using: &generator)
                let isText = Bool.random(using: &generator)
                let payload = isText ? Array(String(repeating: "é", count: size / 2).utf8) + (size % 2 == 1 ? [0x41] : [])
                                     : generator.bytes(size)
                let maskKey: MaskKey? = role == .server ? generator.maskKey() : nil
                // Fragment at random points, sometimes with a ping between fragments.
                var cuts = (0..<Int.random(in: 0...3, using: &generator)).map { _ in Int.random(in: 0...payload.count, using: &generator) }
                cuts = (cuts + [0, payload.count]).sorted()
                for index in 0..<(cuts.count - 1) {
                    let opcode: Opcode = index == 0 ? (isText ? .text : .binary) : .continuation
                    let piece = Array(payload[cuts[index]..<cuts[index + 1]])
                    wire += FrameEncoder.frame(opcode: opcode, fin: index == cuts.count - 2, payload: piece, maskKey: maskKey)
                    if index < cuts.count - 2 && Bool.random(using: &generator) {
                        let ping = generator.bytes(Int.random(in: 0...125, using: &generator))
                        wire += FrameEncoder.frame(opcode: .ping, payload: ping, maskKey: maskKey)
                        expected.append(.ping(ping))
                    }
                }
                expected.append(.message(isText ? .text : .binary, payload))
            }
            // Random chunking of the whole stream.
            var splits: [Int] = []
            var position = 0
            while true {
                position += Int.random(in: 1...9000, using: &generator)
                if position >= wire.count { break }
                splits.append(position)
            }
            let limits = round % 2 == 0 ? WebSocketLimits() : streamingLimits
            XCTAssertEqual(ReaderHarness.events(wire, splits: splits, role: role, limits: limits), expected, "round \(round)")
        }
    }

    // MARK: - Zero-copy and memory shape

    func testCompleteFrameIsDeliveredInPlaceAndSmallIncompleteFrameIsNotConsumed() {
        var reader = WebSocketReader()
        var bytes = frame(.binary, [1, 2, 3, 4, 5]) + frame(.text, text("incomplete"))
        let firstLength = 6 + 5
        bytes.removeLast(3)
        bytes.withUnsafeMutableBytes { buffer in
            let (event, consumed) = reader.read(buffer, role: .server, limits: WebSocketLimits())
            XCTAssertEqual(consumed, firstLength)
            guard case .message(.binary, let payload) = event else { return XCTFail("\(event)") }
            XCTAssertEqual(payload.baseAddress, UnsafeRawPointer(buffer.baseAddress! + 6), "delivered in place")
            XCTAssertEqual(Array(payload), [1, 2, 3, 4, 5])
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[consumed...])
            let (second, secondConsumed) = reader.read(rest, role: .server, limits: WebSocketLimits())
            guard case .needMore = second else { return XCTFail("\(second)") }
            XCTAssertEqual(secondConsumed, 0)
        }
        XCTAssertTrue(reader.isIdle)
    }

    func testLargeIncompleteFrameStreamsAndReaderIsIdleAfterward() {
        var generator = SeededGenerator(seed: 9)
        let payload = generator.bytes(200_000)
        var bytes = frame(.binary, payload)
        var reader = WebSocketReader()
        let limits = WebSocketLimits()
        var head = Array(bytes[..<100_000])
        let consumed = head.withUnsafeMutableBytes { reader.read($0, role: .server, limits: limits) }
        guard case .needMore = consumed.event else { return XCTFail("\(consumed.event)") }
        XCTAssertEqual(consumed.consumed, 100_000, "a large frame is consumed as it arrives")
        XCTAssertFalse(reader.isIdle)
        bytes.removeFirst(100_000)
        bytes.withUnsafeMutableBytes { buffer in
            let (event, used) = reader.read(buffer, role: .server, limits: limits)
            XCTAssertEqual(used, buffer.count)
            guard case .message(.binary, let message) = event else { return XCTFail("\(event)") }
            XCTAssertEqual(Array(message), payload)
            let (after, _) = reader.read(UnsafeMutableRawBufferPointer(rebasing: buffer[used...]), role: .server, limits: limits)
            guard case .needMore = after else { return XCTFail("\(after)") }
        }
        XCTAssertTrue(reader.isIdle, "the partial message is released by the call after delivery")
    }

    // MARK: - Hostile input

    private func firstFailure(_ bytes: [UInt8], role: WebSocketRole = .server,
                              limits: WebSocketLimits = WebSocketLimits()) -> UInt16? {
        let events = ReaderHarness.events(bytes, splits: [], role: role, limits: limits)
        if case .failure(let code)? = events.last { return code }
        return nil
    }

    func testProtocolViolationsGive1002() {
        for rsv: UInt8 in [1, 2, 4, 7] {
            XCTAssertEqual(firstFailure(rawFrame(rsv: rsv, opcode: 1, payload: text("x"), maskKey: key)), 1002, "rsv \(rsv)")
        }
        for opcode: UInt8 in [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
            XCTAssertEqual(firstFailure(rawFrame(opcode: opcode, payload: [], maskKey: key)), 1002, "opcode \(opcode)")
        }
        // Control frames: over 125 bytes, or fragmented.
        XCTAssertEqual(firstFailure(rawFrame(opcode: 9, payload: [UInt8](repeating: 0, count: 126), maskKey: key)), 1002)
        XCTAssertEqual(firstFailure(rawFrame(fin: false, opcode: 9, payload: [], maskKey: key)), 1002)
        XCTAssertEqual(firstFailure(rawFrame(fin: false, opcode: 8, payload: [], maskKey: key)), 1002)
        // Continuation with nothing to continue; a new message inside a fragmented one.
        XCTAssertEqual(firstFailure(frame(.continuation, text("x"))), 1002)
        XCTAssertEqual(firstFailure(frame(.text, fin: false, text("a")) + frame(.text, text("b"))), 1002)
        XCTAssertEqual(firstFailure(frame(.binary, fin: false, [1]) + frame(.binary, fin: false, [2])), 1002)
        // Close payload of 1 byte; close codes a peer may not send.
        XCTAssertEqual(firstFailure(frame(.close, [0x03])), 1002)
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            XCTAssertEqual(firstFailure(frame(.close, FrameEncoder.closePayload(code: CloseCode(code)))), 1002, "code \(code)")
        }
        // Failures are decided from the first two bytes, without waiting for the rest.
        XCTAssertEqual(firstFailure(Array(rawFrame(rsv: 4, opcode: 2, payload: [UInt8](repeating: 1, count: 1000), maskKey: key).prefix(2))), 1002)
    }

    func testValidCloseCodesAreAccepted() {
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            let reason = code == 1000 ? "" : "réason"
            XCTAssertEqual(ReaderHarness.events(frame(.close, FrameEncoder.closePayload(code: CloseCode(code), reason: reason)), splits: []),
                           [.close(code, text(reason))])
        }
    }

    func testMaskingRuleDependsOnRole() {
        XCTAssertEqual(firstFailure(frame(.text, text("hi"), masked: false), role: .server), 1002)
        XCTAssertEqual(firstFailure(frame(.text, text("hi"), masked: true), role: .client), 1002)
        XCTAssertEqual(firstFailure(frame(.ping, [], masked: true), role: .client), 1002)
        XCTAssertEqual(ReaderHarness.events(frame(.text, text("hi"), masked: false), splits: [], role: .client), [.message(.text, text("hi"))])
    }

    func testInvalidUTF8Gives1007() {
        let bad: [UInt8] = [0x61, 0xED, 0xA0, 0x80, 0x62]
        XCTAssertEqual(firstFailure(frame(.text, bad)), 1007)
        // Ending inside a sequence, in a single frame and at the end of a fragmented message.
        XCTAssertEqual(firstFailure(frame(.text, [0x61, 0xE2, 0x82])), 1007)
        XCTAssertEqual(firstFailure(frame(.text, fin: false, [0x61, 0xE2]) + frame(.continuation, [0x82])), 1007)
        // Close reason not UTF-8.
        XCTAssertEqual(firstFailure(frame(.close, [0x03, 0xE8, 0xFF])), 1007)
        // Binary is not checked.
        XCTAssertEqual(ReaderHarness.events(frame(.binary, bad), splits: []), [.message(.binary, bad)])
    }

    func testInvalidUTF8FailsFastAcrossFragmentsAndPartialFrames() {
        let bad: [UInt8] = [0xF4, 0x90, 0x80, 0x80]
        // The first fragment is bad: fail before any later fragment arrives.
        XCTAssertEqual(firstFailure(frame(.text, fin: false, text("ok ") + bad)), 1007)
        // A good first fragment, then a bad one: fail on the second without the final.
        XCTAssertEqual(firstFailure(frame(.text, fin: false, text("κόσμε")) + frame(.continuation, fin: false, bad)), 1007)
        // Part of a small frame: the bad bytes arrived, the rest has not.
        let small = frame(.text, text("κόσμε") + bad + text("edited"))
        XCTAssertEqual(firstFailure(Array(small.prefix(6 + text("κόσμε").count + 2))), 1007)
        XCTAssertNil(firstFailure(Array(small.prefix(6 + text("κόσμε").count + 1))))
        // Part of a large (streamed) frame.
        let large = frame(.text, [UInt8](repeating: 0x61, count: 100_000) + bad + [UInt8](repeating: 0x61, count: 100_000))
        XCTAssertEqual(firstFailure(Array(large.prefix(14 + 100_002))), 1007)
        XCTAssertNil(firstFailure(Array(large.prefix(14 + 100_000))))
    }

    func testTooBigGives1009BeforeBuffering() {
        // A header claiming 2^63-1 bytes, with no payload at all: failed at once.
        var huge: [UInt8] = [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        var reader = WebSocketReader()
        let (event, consumed) = huge.withUnsafeMutableBytes { reader.read($0, role: .server, limits: WebSocketLimits(maxMessageSize: Int.max / 2)) }
        guard case .failure(.messageTooBig, _) = event else { return XCTFail("\(event)") }
        XCTAssertEqual(consumed, 0)
        XCTAssertTrue(reader.isFailed)
        XCTAssertFalse(reader.isIdle)
        // And the top bit set (2^64-1).
        XCTAssertEqual(firstFailure([0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), 1009)
        huge[0] = 0x81
        XCTAssertEqual(firstFailure(huge), 1009)
        // One frame just over, exactly at, a fragmented message summing over the limit.
        let limits = WebSocketLimits(maxMessageSize: 1000)
        XCTAssertEqual(firstFailure(Array(frame(.binary, [UInt8](repeating: 0, count: 1001)).prefix(8)), limits: limits), 1009)
        XCTAssertNil(firstFailure(frame(.binary, [UInt8](repeating: 0, count: 1000)), limits: limits))
        let fragments = frame(.binary, fin: false, [UInt8](repeating: 0, count: 600)) + frame(.continuation, [UInt8](repeating: 0, count: 401))
        XCTAssertEqual(firstFailure(fragments, limits: limits), 1009)
        XCTAssertEqual(ReaderHarness.events(fragments, splits: [], limits: WebSocketLimits(maxMessageSize: 1001)),
                       [.message(.binary, [UInt8](repeating: 0, count: 1001))])
    }

    func testReaderStaysDeadAfterFailure() {
        var reader = WebSocketReader()
        var bytes = frame(.continuation, []) + frame(.text, text("after"))
        bytes.withUnsafeMutableBytes { buffer in
            guard case .failure(.protocolError, _) = reader.read(buffer, role: .server, limits: WebSocketLimits()).event else {
                return XCTFail("expected failure")
            }
            guard case .failure = reader.read(UnsafeMutableRawBufferPointer(rebasing: buffer[6...]), role: .server, limits: WebSocketLimits()).event else {
                return XCTFail("a failed reader must keep failing")
            }
        }
    }

    func testEmptyInputNeedsMore() {
        var reader = WebSocketReader()
        let (event, consumed) = reader.read(UnsafeMutableRawBufferPointer(start: nil, count: 0), role: .server, limits: WebSocketLimits())
        guard case .needMore = event else { return XCTFail("\(event)") }
        XCTAssertEqual(consumed, 0)
    }
}
