import XCTest
@testable import wsbench

final class SequenceTrackerTests: XCTestCase {
    private func verdicts(_ sequences: [UInt64]) -> (SequenceTracker, [SequenceTracker.Verdict]) {
        var tracker = SequenceTracker()
        let verdicts = sequences.map { tracker.observe($0) }
        return (tracker, verdicts)
    }

    func testInOrder() {
        let (tracker, verdicts) = verdicts([0, 1, 2, 3])
        XCTAssertEqual(verdicts, [.inOrder, .inOrder, .inOrder, .inOrder])
        XCTAssertEqual(tracker.expected, 4)
        XCTAssertEqual(tracker.missing, 0)
    }

    func testGapThenLateArrivalIsAReorder() {
        let (_, verdicts) = verdicts([0, 2, 1, 3])
        XCTAssertEqual(verdicts, [.inOrder, .gap(1), .late, .inOrder])
    }

    func testRepeatIsADuplicate() {
        let (_, verdicts) = verdicts([0, 1, 1, 2, 0])
        XCTAssertEqual(verdicts, [.inOrder, .inOrder, .duplicate, .inOrder, .duplicate])
    }

    func testLateArrivalCountsOnce() {
        let (_, verdicts) = verdicts([0, 3, 1, 1, 2])
        XCTAssertEqual(verdicts, [.inOrder, .gap(2), .late, .duplicate, .late])
    }

    func testTheWindowIs64Deep() {
        var tracker = SequenceTracker()
        XCTAssertEqual(tracker.observe(1), .gap(1))  // 0 is missing
        for sequence in 2...63 { XCTAssertEqual(tracker.observe(UInt64(sequence)), .inOrder) }
        XCTAssertEqual(tracker.observe(0), .late, "63 behind is still inside the window")
        XCTAssertEqual(tracker.observe(65), .gap(1))  // 64 is missing
        for sequence in 66...129 { XCTAssertEqual(tracker.observe(UInt64(sequence)), .inOrder) }
        XCTAssertEqual(tracker.observe(64), .lateBeyondWindow)
    }

    func testHugeGap() {
        var tracker = SequenceTracker()
        XCTAssertEqual(tracker.observe(1_000), .gap(1_000))
        XCTAssertEqual(tracker.observe(999), .late)
        XCTAssertEqual(tracker.observe(937), .late)
        XCTAssertEqual(tracker.observe(936), .lateBeyondWindow)
    }

    func testCloseOutCountsTheTail() {
        var tracker = SequenceTracker()
        _ = tracker.observe(0)
        _ = tracker.observe(1)
        XCTAssertEqual(tracker.closeOut(published: 5), 3)
        XCTAssertEqual(tracker.closeOut(published: 5), 0)
        XCTAssertEqual(tracker.observe(5), .inOrder)
    }

    func testMessageHeaderRoundTrip() {
        var bytes = [UInt8](repeating: 0xEE, count: 64)
        let fields = MessageHeader.Fields(sender: 7, sequence: 1 << 40 | 3, intendedTime: 123_456_789_012)
        bytes.withUnsafeMutableBytes { MessageHeader.write(fields, to: $0.baseAddress!) }
        XCTAssertEqual(Array(bytes[0..<4]), Array("wsb1".utf8))
        bytes.withUnsafeBytes {
            XCTAssertEqual(MessageHeader.read($0.baseAddress!, count: 64), fields)
            XCTAssertNil(MessageHeader.read($0.baseAddress!, count: 23))
            XCTAssertNil(MessageHeader.read($0.baseAddress! + 1, count: 63))
        }
    }

    func testFormatting() {
        XCTAssertEqual(Format.fixed(1.005, 2), "1.00")  // binary 1.005 is just below
        XCTAssertEqual(Format.fixed(-2.5, 1), "-2.5")
        XCTAssertEqual(Format.fixed(3, 0), "3")
        XCTAssertEqual(Format.duration(999), "999ns")
        XCTAssertEqual(Format.duration(1_234_567), "1.23ms")
        XCTAssertEqual(Format.duration(12_345), "12.3us")
        XCTAssertEqual(Format.count(1_234_567), "1235k")
        XCTAssertEqual(Format.count(12_345_678), "12.3M")
    }

    func testJSONEscapes() {
        var out = ""
        JSONValue.object([("a\"b", .string("line\nbreak\u{1}")), ("n", .array([.integer(-3), .bool(true), .null]))]).render(into: &out)
        XCTAssertEqual(out, "{\n  \"a\\\"b\": \"line\\nbreak\\u0001\",\n  \"n\": [\n    -3,\n    true,\n    null\n  ]\n}")
    }
}
