import XCTest
@testable import wsbench

/// wsbench against a room server that drops, repeats or swaps one message
/// of one receiver: each fault is counted exactly once, and fails the run.
final class LossDetectionTests: XCTestCase {
    /// One publisher and two subscribers at 200 messages/s for 0.4 s: about 80 messages, the 5th is the faulty one.
    private func runBroadcast(against fault: MisbehavingRoomServer.Fault, extra: [String] = []) throws -> RunResult {
        let (group, port) = try MisbehavingRoomServer.start(fault: fault)
        defer { group.shutdown() }
        let arguments = ["--scenario", "broadcast", "-c", "3", "--publishers", "1", "-t", "1", "-r", "200",
                         "-d", "400ms", "--warmup", "0", "--timeout", "1s"] + extra + ["ws://127.0.0.1:\(port)/room/test"]
        let options = try XCTUnwrap(try BenchOptionsParser.parse(arguments))
        return try BenchRun.run(options)
    }

    func testAWellBehavedRoomPasses() throws {
        let result = try runBroadcast(against: .none)
        XCTAssertEqual(result.totals.established, 3)
        XCTAssertEqual(result.totals.lost, 0)
        XCTAssertEqual(result.totals.duplicated, 0)
        XCTAssertEqual(result.totals.reordered, 0)
        XCTAssertEqual(result.totals.errorCount, 0, "\(result.totals.errorsByKind)")
        let window = try XCTUnwrap(result.windows.first)
        XCTAssertGreaterThan(window.sent, 50)
        // Every message reaches both subscribers (the publisher asked not to hear itself).
        XCTAssertEqual(window.received, window.sent * 2)
        XCTAssertEqual(result.exitStatus, ExitStatus.passed, "\(result.failures)")
    }

    func testADroppedMessageIsLoss() throws {
        let result = try runBroadcast(against: .drop(sequence: 5))
        XCTAssertEqual(result.totals.lost, 1)
        XCTAssertEqual(result.totals.duplicated, 0)
        XCTAssertEqual(result.totals.reordered, 0)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
        XCTAssert(result.failures.contains("1 messages lost"), "\(result.failures)")
    }

    func testARepeatedMessageIsADuplicate() throws {
        let result = try runBroadcast(against: .repeatOnce(sequence: 5))
        XCTAssertEqual(result.totals.lost, 0)
        XCTAssertEqual(result.totals.duplicated, 1)
        XCTAssertEqual(result.totals.reordered, 0)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }

    func testSwappedMessagesAreAReorderNotALoss() throws {
        let result = try runBroadcast(against: .swap(sequence: 5))
        XCTAssertEqual(result.totals.lost, 0)
        XCTAssertEqual(result.totals.duplicated, 0)
        XCTAssertEqual(result.totals.reordered, 1)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }

    func testAllowLossPassesTheGate() throws {
        let result = try runBroadcast(against: .drop(sequence: 5), extra: ["--allow-loss"])
        XCTAssertEqual(result.totals.lost, 1)
        XCTAssertEqual(result.exitStatus, ExitStatus.passed, "\(result.failures)")
    }

    func testClosedLoopBroadcastAgainstAWellBehavedRoom() throws {
        let (group, port) = try MisbehavingRoomServer.start(fault: .none)
        defer { group.shutdown() }
        let options = try XCTUnwrap(try BenchOptionsParser.parse(
            ["--scenario", "broadcast", "-c", "4", "--publishers", "2", "-t", "2", "-d", "300ms", "--warmup", "0",
             "--timeout", "1s", "ws://127.0.0.1:\(port)/room/closed"]))
        let result = try BenchRun.run(options)
        let window = try XCTUnwrap(result.windows.first)
        XCTAssertGreaterThan(window.sent, 10)
        // Each of the two publishers' messages reaches the other three connections.
        XCTAssertEqual(window.received, window.sent * 3)
        XCTAssertEqual(result.exitStatus, ExitStatus.passed, "\(result.failures) \(result.totals.errorsByKind)")
    }
}
