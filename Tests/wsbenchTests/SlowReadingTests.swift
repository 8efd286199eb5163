import WebSocketCodec
import XCTest
@testable import wsbench

/// A slow subscriber's allowance and the frames it takes: whole frames of at
/// most the messages it earned, control frames free, a partial frame left.
final class SlowReadingTests: XCTestCase {
    func testTheAllowanceEarnsAtItsPaceKeepsFractionsAndIsCapped() {
        var allowance = ReadAllowance()
        // 150 messages a second, 10 ms at a time: 1.5 a read, so 1 then 2.
        allowance.earn(perSecond: 150, over: 10_000_000, cap: 3)
        XCTAssertEqual(allowance.messages, 1)
        allowance.spend(1)
        allowance.earn(perSecond: 150, over: 10_000_000, cap: 3)
        XCTAssertEqual(allowance.messages, 2)
        allowance.spend(2)
        XCTAssertEqual(allowance.credit, 0, accuracy: 1e-9)
        // Nothing to read for a second: it saves no more than the cap.
        allowance.earn(perSecond: 150, over: 1_000_000_000, cap: 3)
        XCTAssertEqual(allowance.messages, 3)
        // A pace under a message a read still reads now and then; the cap is at least one message.
        var slow = ReadAllowance()
        for _ in 0..<7 { slow.earn(perSecond: 12.5, over: 10_000_000, cap: 0.25) }
        XCTAssertEqual(slow.messages, 0)
        slow.earn(perSecond: 12.5, over: 10_000_000, cap: 0.25)
        XCTAssertEqual(slow.messages, 1)
        slow.spend(5)
        XCTAssertEqual(slow.credit, 0, "never below nothing")
    }

    private func frame(_ opcode: Opcode, _ length: Int, fin: Bool = true) -> [UInt8] {
        var bytes = FrameEncoder.frame(opcode: opcode, payload: [UInt8](repeating: 7, count: length))
        if !fin { bytes[0] &= 0x7F }
        return bytes
    }

    private func whole(_ bytes: [UInt8], messages: Int) -> ServerFrames.Extent {
        bytes.withUnsafeBytes { ServerFrames.whole(in: $0, messages: messages) }
    }

    func testWholeFramesUpToTheAllowance() {
        let small = frame(.binary, 64)          // 2-byte header
        let medium = frame(.binary, 1000)       // 4-byte header
        let large = frame(.binary, 70_000)      // 10-byte header
        XCTAssertEqual(small.count, 66)
        XCTAssertEqual(medium.count, 1004)
        XCTAssertEqual(large.count, 70_010)
        let stream = small + medium + large + small
        XCTAssertEqual(whole(stream, messages: 0), .init(bytes: 0, messages: 0, partialFrameSize: nil))
        XCTAssertEqual(whole(stream, messages: 1), .init(bytes: 66, messages: 1, partialFrameSize: nil))
        XCTAssertEqual(whole(stream, messages: 3), .init(bytes: 66 + 1004 + 70_010, messages: 3, partialFrameSize: nil))
        XCTAssertEqual(whole(stream, messages: 10), .init(bytes: stream.count, messages: 4, partialFrameSize: nil))
    }

    func testControlFramesComeFreeAndFragmentsCountOnce() {
        let ping = frame(.ping, 4)
        let message = frame(.binary, 40)
        // Pings are taken wherever they are, up to the next message past the allowance.
        let stream = message + ping + message + ping + message
        XCTAssertEqual(whole(stream, messages: 2), .init(bytes: 2 * message.count + 2 * ping.count, messages: 2, partialFrameSize: nil))
        XCTAssertEqual(whole(ping + ping, messages: 0), .init(bytes: 2 * ping.count, messages: 0, partialFrameSize: nil))
        // A message in two fragments is one message, counted at its last.
        let fragmented = frame(.binary, 10, fin: false) + frame(.continuation, 10) + message
        XCTAssertEqual(whole(fragmented, messages: 1), .init(bytes: 24, messages: 1, partialFrameSize: nil))
    }

    func testAPartialFrameStaysAndSaysItsSize() {
        let message = frame(.binary, 1000)
        let stream = message + Array(message.prefix(500))
        XCTAssertEqual(whole(stream, messages: 5), .init(bytes: 1004, messages: 1, partialFrameSize: 1004))
        XCTAssertEqual(whole(stream, messages: 1), .init(bytes: 1004, messages: 1, partialFrameSize: nil), "the limit stopped it first")
        XCTAssertEqual(whole(Array(message.prefix(500)), messages: 5), .init(bytes: 0, messages: 0, partialFrameSize: 1004))
        // Not even the whole header: no size yet.
        XCTAssertEqual(whole(Array(message.prefix(3)), messages: 5), .init(bytes: 0, messages: 0, partialFrameSize: nil))
        XCTAssertEqual(whole([0x82], messages: 5), .init(bytes: 0, messages: 0, partialFrameSize: nil))
        // A 64-bit length no server sends is just too large, never negative.
        let absurd: [UInt8] = [0x82, 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2]
        let extent = whole(absurd, messages: 5)
        XCTAssertEqual(extent.bytes, 0)
        XCTAssertGreaterThan(extent.partialFrameSize ?? 0, 1 << 32)
        XCTAssertEqual(whole(message + absurd, messages: 5).bytes, 1004, "the frames before it are whole")
    }
}
