import PushServer
import XCTest
@testable import wsbench

/// The events scenario against an in-process events server built like
/// echo-server's events mode: every connection opens a session, publishers
/// emit `publish`, members get `message`; nothing lost when the server
/// behaves, and a dropped, repeated or swapped message is seen by every
/// member. Pings are answered, a refusal is a failed handshake.
final class EventsScenarioTests: XCTestCase {
    /// About 80 messages at 200/s for 0.4 s; publisher 0's 5th is the faulty one.
    private func run(connections: Int, publishers: Int = 1, threads: Int = 1, rate: Int = 200, duration: String = "400ms",
                     server settings: EventsRoomServer.Settings = EventsRoomServer.Settings(),
                     url: String = "/room/test") throws -> (RunResult, ServerStatistics) {
        let (server, port) = try EventsRoomServer.start(settings)
        defer { server.shutdown() }
        let arguments = ["--scenario", "events", "-c", String(connections), "--publishers", String(publishers),
                         "-t", String(threads), "-r", String(rate), "-d", duration, "--warmup", "0", "--timeout", "2s",
                         "ws://127.0.0.1:\(port)\(url)"]
        let result = try BenchRun.run(try XCTUnwrap(try BenchOptionsParser.parse(arguments)))
        return (result, server.statistics())
    }

    private func assertClean(_ result: RunResult, receivers: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertCleanRoomRun(result, receivers: receivers, file: file, line: line)
        XCTAssert(result.windows.first?.byTransport.isEmpty == true, "every member is a WebSocket session: no table by transport",
                  file: file, line: line)
    }

    // MARK: A room that behaves

    func testMembersMissNothing() throws {
        let (result, server) = try run(connections: 6)
        try assertClean(result, receivers: 5)
        XCTAssertEqual(result.url, "ws://127.0.0.1:\(result.options.port)/events/ws?room=test")
        XCTAssertEqual(server.sessionsOpened, 6)
        let text = TextReport.render(result)
        XCTAssert(text.contains("events sessions over WebSocket"), text)
        XCTAssert(JSONReport.render(result).contains("\"scenario\": \"events\""))
    }

    func testTwoPublishersOnTwoLoopsOfEachSide() throws {
        // Each publisher hears the other (self=0 leaves out only itself): 7 receivers of each message.
        let (result, _) = try run(connections: 8, publishers: 2, threads: 2,
                                  server: EventsRoomServer.Settings(threads: 2), url: "/events/ws?room=two")
        try assertClean(result, receivers: 7)
    }

    func testClosedLoop() throws {
        // The publisher sends its next message once the last reached every member.
        let (result, _) = try run(connections: 4, rate: 0, duration: "300ms")
        try assertClean(result, receivers: 3)
    }

    func testPingsAreAnswered() throws {
        // Silent for 250 ms, a session is evicted; the run lasts 1.2 s and subscribers send nothing but pongs.
        var settings = EventsRoomServer.Settings()
        settings.pingInterval = .milliseconds(100)
        settings.pingTimeout = .milliseconds(150)
        let (result, server) = try run(connections: 4, rate: 50, duration: "1200ms", server: settings)
        try assertClean(result, receivers: 3)
        XCTAssertEqual(server.heartbeatEvictions, 0)
        // Packets the server received: 4 connects, the publishes, and the pongs.
        XCTAssertGreaterThan(server.messagesReceived, 4 + Int(result.totals.sent) + 3 * 5, "too few pongs")
    }

    // MARK: A room that misbehaves

    func testADroppedMessageIsLoss() throws {
        let (result, _) = try run(connections: 4, server: EventsRoomServer.Settings(fault: .drop(sequence: 5)))
        XCTAssertEqual(result.totals.lost, 3, "each of the 3 subscribers misses it")
        XCTAssertEqual(result.totals.duplicated, 0)
        XCTAssertEqual(result.totals.reordered, 0)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
        XCTAssert(result.failures.contains("3 messages lost"), "\(result.failures)")
    }

    func testARepeatedMessageIsADuplicateAndASwapAReorder() throws {
        for (fault, duplicated, reordered): (PushRoomServer.Fault, UInt64, UInt64) in [(.repeatOnce(sequence: 5), 2, 0), (.swap(sequence: 5), 0, 2)] {
            let (result, _) = try run(connections: 3, server: EventsRoomServer.Settings(fault: fault))
            XCTAssertEqual(result.totals.lost, 0, "\(fault)")
            XCTAssertEqual(result.totals.duplicated, duplicated, "\(fault)")
            XCTAssertEqual(result.totals.reordered, reordered, "\(fault): a reorder, not a loss")
            XCTAssertEqual(result.exitStatus, ExitStatus.failed, "\(fault)")
        }
    }

    func testASessionTheServerEndsIsOneFailure() throws {
        // Each subscriber gets a disconnect packet, a close packet and a close frame: one failure, not three.
        let (result, _) = try run(connections: 3, server: EventsRoomServer.Settings(endSessionsAt: 5))
        XCTAssertEqual(result.totals.errorCount, 2, "\(result.totals.errorsByKind)")
        XCTAssertEqual(result.totals.errorsByKind["the server ended the events session (a close or disconnect packet)"], 2)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }

    func testARefusedSocketIsAFailedHandshake() throws {
        let (result, _) = try run(connections: 3, server: EventsRoomServer.Settings(refusal: "no entry"))
        XCTAssertEqual(result.totals.established, 0)
        XCTAssertEqual(result.totals.handshakeFailures, 3)
        XCTAssertEqual(result.totals.errorsByKind["handshake rejected: connect_error: no entry"], 3, "\(result.totals.errorsByKind)")
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }

    func testAServerWithoutEventsFailsTheHandshake() throws {
        // The raw room server answers /events/ws with no upgrade at all.
        let (group, port) = try MisbehavingRoomServer.start(fault: .none)
        defer { group.shutdown() }
        let options = try XCTUnwrap(try BenchOptionsParser.parse(
            ["--scenario", "events", "-c", "2", "-t", "1", "-r", "50", "-d", "100ms", "--warmup", "0", "--timeout", "1s",
             "ws://127.0.0.1:\(port)/room/none"]))
        let result = try BenchRun.run(options)
        XCTAssertEqual(result.totals.handshakeFailures, 2)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }
}
