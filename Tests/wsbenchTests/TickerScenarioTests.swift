import PushServer
import XCTest
@testable import wsbench

/// The ticker scenario against an in-process room server built like
/// echo-server's room mode: full-speed members get every update, slow ones
/// are spared what conflation replaced and still end current; a server that
/// sends an older value after a newer one, or never the last value of a
/// key, fails the run; a server that does not conflate closes the slow ones.
final class TickerScenarioTests: XCTestCase {
    private func run(_ arguments: [String], server fault: TickerRoomServer.Fault = .none, conflating: Bool = true,
                     threads: Int = 1) throws -> RunResult {
        let (server, port) = try TickerRoomServer.start(fault: fault, conflating: conflating, threads: threads)
        defer { server.shutdown() }
        let options = try parseOptions(["--scenario", "ticker", "--warmup", "0", "--timeout", "5s"] + arguments
            + ["ws://127.0.0.1:\(port)/room/ticker"])
        return try BenchRun.run(options)
    }

    func testFullSpeedMembersGetEveryUpdate() throws {
        let result = try run(["-c", "4", "-t", "1", "-r", "200", "-d", "400ms", "--keys", "5"])
        try assertCleanRoomRun(result, receivers: 3)
        let ticker = try XCTUnwrap(result.windows.first?.ticker)
        XCTAssertEqual(ticker.fastReceivers, 3)
        XCTAssertEqual(ticker.slowReceivers, 0)
        XCTAssertEqual(ticker.counters, TickerCounters(), "no slow subscriber, no key fault")
        XCTAssertEqual(ticker.serverConflated, 0, "the server's /stats was read: nobody fell behind")
        XCTAssert(TextReport.render(result).contains("By group"))
        let json = JSONReport.render(result)
        for field in [#""scenario": "ticker""#, #""keys": 5"#, #""slow_subscribers": 0"#, #""staleness_ns""#, #""keys_not_final": 0"#] {
            XCTAssert(json.contains(field), "JSON lacks \(field)")
        }
    }

    func testTwoPublishersOnTwoLoopsEachHearTheOthersKeys() throws {
        // Keys 0, 2, 4 are publisher 0's, 1, 3 publisher 1's; each publisher ends holding the other's last values.
        let result = try run(["-c", "6", "--publishers", "2", "-t", "2", "-r", "300", "-d", "400ms", "--keys", "5"], threads: 2)
        try assertCleanRoomRun(result, receivers: 5)
        XCTAssertEqual(result.windows.first?.ticker?.fastReceivers, 6, "4 subscribers and the 2 publishers")
    }

    func testSlowSubscribersAreSparedWhatConflationReplacedAndEndCurrent() throws {
        // 16 KiB updates at 1,000/s: a subscriber at a tenth of that fills the kernel's buffers for it
        // (a few MiB) within half a second, then the server holds the newest update of each key for it.
        let result = try run(["-c", "5", "--slow", "2", "-s", "16k", "-r", "1000", "-d", "1500ms", "--keys", "10"])
        XCTAssertEqual(result.exitStatus, ExitStatus.passed, "\(result.failures) \(result.totals.errorsByKind)")
        let window = try XCTUnwrap(result.windows.first)
        let ticker = try XCTUnwrap(window.ticker)
        XCTAssertEqual(ticker.fastReceivers, 2)
        XCTAssertEqual(ticker.slowReceivers, 2)
        XCTAssertEqual(window.lost, 0)
        XCTAssertEqual(window.received, window.sent * 2, "full-speed members got every update")
        let counters = ticker.counters
        XCTAssertGreaterThan(counters.slowSkipped, 0, "the slow ones fell behind and were conflated")
        XCTAssertEqual(ticker.serverConflated, counters.slowSkipped, "what they missed is what the server says it conflated")
        XCTAssertEqual(counters.slowKeysNotFinal + counters.fastKeysNotFinal, 0)
        XCTAssertGreaterThan(counters.staleness.count, 0)
        // They read at about their pace (100 a second each) while publishing went on.
        let slowPerSecond = Double(ticker.slowArrived) / window.measuredSeconds / 2
        XCTAssertLessThan(slowPerSecond, 200, "a slow subscriber read more than its pace allows")
        XCTAssertGreaterThan(slowPerSecond, 25)
    }

    func testAnOlderValueAfterANewerOneIsAFault() throws {
        let result = try run(["-c", "3", "-r", "200", "-d", "400ms", "--keys", "4"], server: .olderAfterNewer(key: 0))
        let counters = result.totals.ticker
        XCTAssertEqual(counters.fastKeyRegressions, 2, "each of the 2 subscribers got value 2 of key 0 after value 3")
        XCTAssertEqual(result.totals.reordered, 2, "and out of its publisher's order")
        XCTAssertEqual(result.totals.lost, 0)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
        XCTAssert(result.failures.contains("2 updates older than a value of their key already received"), "\(result.failures)")
    }

    func testAKeyThatNeverReachesItsLastValueIsAFault() throws {
        // The drain waits for the last values until its timeout.
        let result = try run(["-c", "5", "--slow", "1", "-r", "300", "-d", "400ms", "--keys", "3", "--timeout", "1s"],
                             server: .stopKey(1, after: 2))
        let counters = result.totals.ticker
        XCTAssertEqual(counters.fastKeysNotFinal, 3, "key 1 for each of the 3 full-speed subscribers")
        XCTAssertEqual(counters.slowKeysNotFinal, 1)
        XCTAssertGreaterThan(result.totals.lost, 0, "the full-speed ones also lost its updates")
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
        XCTAssert(result.failures.contains("4 subscriber keys did not end at the last value published"), "\(result.failures)")
    }

    func testAServerThatDoesNotConflateClosesItsSlowSubscribers() throws {
        // Past 1 MiB queued a member is closed with 1008: the slow one reads it once publishing stops.
        let result = try run(["-c", "3", "--slow", "1", "-s", "16k", "-r", "1000", "-d", "1500ms", "--keys", "10"], conflating: false)
        XCTAssertEqual(result.totals.ticker.slowSkipped, 0, "nothing conflated")
        XCTAssertEqual(result.totals.closesByCode[1008], 1, "\(result.totals.closesByCode)")
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }
}
