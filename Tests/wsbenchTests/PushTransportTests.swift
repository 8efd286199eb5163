import XCTest
@testable import wsbench

/// The sse and longpoll scenarios against an in-process PushServer with
/// echo-server's routes: subscribers over SSE or long-polling (and some over
/// WebSocket) in one room with WebSocket publishers; nothing lost when the
/// server behaves, and a dropped, repeated or swapped message is seen by
/// every subscriber, whatever its transport.
final class PushTransportTests: XCTestCase {
    /// About 80 messages at 200/s for 0.4 s; publisher 0's 5th is the faulty one.
    private func run(_ scenario: String, connections: Int, publishers: Int = 1, webSocketSubscribers: Int = 0,
                     threads: Int = 1, rate: Int = 200, duration: String = "400ms",
                     fault: PushRoomServer.Fault = .none, extra: [String] = []) throws -> RunResult {
        let (server, port) = try PushRoomServer.start(fault: fault)
        defer { server.shutdown() }
        var arguments = ["--scenario", scenario, "-c", String(connections), "--publishers", String(publishers),
                         "-t", String(threads), "-r", String(rate), "-d", duration, "--warmup", "0", "--timeout", "2s"]
        if webSocketSubscribers > 0 { arguments += ["--ws-subscribers", String(webSocketSubscribers)] }
        let options = try XCTUnwrap(try BenchOptionsParser.parse(arguments + extra + ["ws://127.0.0.1:\(port)/room/test"]))
        return try BenchRun.run(options)
    }

    // MARK: Well-behaved rooms

    func testSSESubscribersMissNothing() throws {
        let result = try run("sse", connections: 6)
        try assertCleanRoomRun(result, receivers: 5)
        let window = try XCTUnwrap(result.windows.first)
        let sse = try XCTUnwrap(window.byTransport.first { $0.transport == .eventStream })
        XCTAssertEqual(sse.receivers, 5)
        XCTAssertEqual(sse.received, window.received)
        XCTAssertEqual(sse.latency.count, window.latency.count)
    }

    func testLongPollSubscribersMissNothing() throws {
        let result = try run("longpoll", connections: 6)
        try assertCleanRoomRun(result, receivers: 5)
        let window = try XCTUnwrap(result.windows.first)
        XCTAssertEqual(window.byTransport.map(\.transport), [.longPolling], "a lone publisher hears nothing: no WebSocket receivers")
        XCTAssertEqual(window.byTransport.last?.receivers, 5)
        XCTAssertEqual(window.byTransport.last?.received, window.received)
    }

    func testSSEAndWebSocketSubscribersShareTheRoom() throws {
        // 2 publishers (each hears the other), 2 WebSocket subscribers, 4 SSE subscribers, on two loops.
        let result = try run("sse", connections: 8, publishers: 2, webSocketSubscribers: 2, threads: 2)
        try assertCleanRoomRun(result, receivers: 7)
        let window = try XCTUnwrap(result.windows.first)
        let webSocket = try XCTUnwrap(window.byTransport.first { $0.transport == .webSocket })
        let sse = try XCTUnwrap(window.byTransport.first { $0.transport == .eventStream })
        XCTAssertEqual(webSocket.receivers, 4)
        XCTAssertEqual(sse.receivers, 4)
        XCTAssertEqual(sse.received, window.sent * 4)
        XCTAssertEqual(webSocket.received, window.sent * 3, "a publisher does not hear itself")
        XCTAssertEqual(webSocket.received + sse.received, window.received)
        let text = TextReport.render(result)
        XCTAssert(text.contains("  sse"), text)
        XCTAssert(text.contains("  websocket"), text)
        let json = JSONReport.render(result)
        XCTAssert(json.contains("\"by_transport\""), json)
        XCTAssert(json.contains("\"ws_subscribers\": 2"), json)
    }

    func testLongPollAndWebSocketSubscribersShareTheRoom() throws {
        let result = try run("longpoll", connections: 6, publishers: 1, webSocketSubscribers: 2, threads: 2)
        try assertCleanRoomRun(result, receivers: 5)
        let window = try XCTUnwrap(result.windows.first)
        XCTAssertEqual(window.byTransport.first { $0.transport == .longPolling }?.received, window.sent * 3)
    }

    func testClosedLoopOverSSEAndLongPolling() throws {
        // The publisher sends its next message once the last reached every subscriber, over any transport.
        for scenario in ["sse", "longpoll"] {
            let result = try run(scenario, connections: 4, webSocketSubscribers: 1, rate: 0, duration: "300ms")
            try assertCleanRoomRun(result, receivers: 3)
        }
    }

    // MARK: Misbehaving rooms

    func testADroppedMessageIsLossOverSSE() throws {
        let result = try run("sse", connections: 4, fault: .drop(sequence: 5))
        XCTAssertEqual(result.totals.lost, 3, "each of the 3 SSE subscribers misses it")
        XCTAssertEqual(result.totals.duplicated, 0)
        XCTAssertEqual(result.totals.reordered, 0)
        XCTAssertEqual(result.windows.first?.byTransport.first { $0.transport == .eventStream }?.lost, 3)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
        XCTAssert(result.failures.contains("3 messages lost"), "\(result.failures)")
    }

    func testADroppedMessageIsLossOverLongPolling() throws {
        let result = try run("longpoll", connections: 4, fault: .drop(sequence: 5))
        XCTAssertEqual(result.totals.lost, 3)
        XCTAssertEqual(result.totals.duplicated, 0)
        XCTAssertEqual(result.totals.reordered, 0)
        XCTAssertEqual(result.windows.first?.byTransport.first { $0.transport == .longPolling }?.lost, 3)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }

    func testADroppedMessageIsLossForEveryTransportInAMixedRoom() throws {
        let result = try run("sse", connections: 5, webSocketSubscribers: 2, fault: .drop(sequence: 5))
        XCTAssertEqual(result.totals.lost, 4)
        let window = try XCTUnwrap(result.windows.first)
        XCTAssertEqual(window.byTransport.first { $0.transport == .webSocket }?.lost, 2)
        XCTAssertEqual(window.byTransport.first { $0.transport == .eventStream }?.lost, 2)
    }

    func testARepeatedMessageIsADuplicate() throws {
        for scenario in ["sse", "longpoll"] {
            let result = try run(scenario, connections: 3, fault: .repeatOnce(sequence: 5))
            XCTAssertEqual(result.totals.lost, 0, scenario)
            XCTAssertEqual(result.totals.duplicated, 2, scenario)
            XCTAssertEqual(result.totals.reordered, 0, scenario)
            XCTAssertEqual(result.exitStatus, ExitStatus.failed, scenario)
        }
    }

    func testSwappedMessagesAreAReorderNotALoss() throws {
        for scenario in ["sse", "longpoll"] {
            let result = try run(scenario, connections: 3, fault: .swap(sequence: 5))
            XCTAssertEqual(result.totals.lost, 0, scenario)
            XCTAssertEqual(result.totals.duplicated, 0, scenario)
            XCTAssertEqual(result.totals.reordered, 2, scenario)
            XCTAssertEqual(result.exitStatus, ExitStatus.failed, scenario)
        }
    }

    func testARoomWithoutStreamsFailsToJoin() throws {
        // A server without /sse/ and /poll/ routes answers 404: the subscribers' joins fail, the run fails.
        let (group, port) = try MisbehavingRoomServer.start(fault: .none)
        defer { group.shutdown() }
        let options = try XCTUnwrap(try BenchOptionsParser.parse(
            ["--scenario", "sse", "-c", "3", "-t", "1", "-r", "50", "-d", "100ms", "--warmup", "0", "--timeout", "1s",
             "http://127.0.0.1:\(port)/sse/none"]))
        let result = try BenchRun.run(options)
        XCTAssertEqual(result.totals.handshakeFailures, 2)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }
}
