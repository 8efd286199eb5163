import Events
import EventsTestSupport
import PushServer
import Reactor
import Synchronization
import TestSupport
import XCTest

/// Acknowledgements both ways: answered, timed out, answered after an `await`.
final class AcknowledgementTests: XCTestCase {
    func testTheServerGetsTheClientsAnswerOrATimeout() throws {
        let (server, _, port) = try makeEventServer(configure: { io in
            io.onConnection { socket in
                socket.on("ask") { arguments, _ in
                    let timeout = Duration.milliseconds(arguments[1].int!)
                    socket.emit("question", arguments[0], timeout: timeout) { result in
                        switch result {
                        case .success(let reply): socket.emit("answer", arguments: reply)
                        case .failure(let error): socket.emit("no-answer", .string("\(error)"))
                        }
                    }
                }
            }
        })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .webSocket)
        try client.connect()

        try client.emit("ask", ["what?", 5000])
        let question = try client.next("event")
        XCTAssertEqual(question["event"], "question")
        XCTAssertEqual(question["args"], ["what?"])
        let id = try XCTUnwrap(question["ack"]?.int)
        try client.send(["type": "ack", "ns": "/", "ack": JSON(id), "args": ["42", ["sure": true]]])
        let answer = try client.next("event")
        XCTAssertEqual(answer["event"], "answer")
        XCTAssertEqual(answer["args"], ["42", ["sure": true]])

        let asked = monotonicNanoseconds()
        try client.emit("ask", ["and now?", 300])
        XCTAssertEqual(try client.next("event")["event"], "question")
        let unanswered = try client.next("event")  // not acknowledged
        let waited = Double(monotonicNanoseconds() - asked) / 1e6
        XCTAssertEqual(unanswered["event"], "no-answer")
        XCTAssertEqual(unanswered["args"], ["timedOut"])
        XCTAssertGreaterThanOrEqual(waited, 300, "reported before the timeout")
        XCTAssertLessThan(waited, 2_000, "reported long after the timeout")
    }

    func testAnAnswerAfterAnAwaitRunsOnTheSocketsLoop() throws {
        let (server, _, port) = try makeEventServer(configure: { io in
            io.onConnection { socket in
                socket.on("store") { arguments, ack async in
                    let onLoopBefore = socket.loop.inEventLoop
                    try? await Task.sleep(nanoseconds: 50_000_000)  // storage, say
                    let reply = await Task.detached { arguments.count }.value  // another thread's answer
                    ack(.bool(onLoopBefore && socket.loop.inEventLoop), JSON(reply))
                }
                socket.on("ask-async") { _, _ async in
                    do {
                        let reply = try await socket.emitWithAck("question", "async?", timeout: .seconds(5))
                        socket.emit("answer", arguments: reply)
                    } catch {
                        socket.emit("no-answer", .string("\(error)"))
                    }
                }
            }
        })
        defer { server.shutdown() }
        for transport in EventsClient.Transport.allCases {
            let client = try EventsClient(port: port, transport: transport)
            try client.connect()
            try client.emit("store", ["a", "b"], ack: 3)
            let ack = try client.next("ack")
            XCTAssertEqual(ack["ack"], 3)
            XCTAssertEqual(ack["args"], [true, 2], "\(transport): the handler ran off its loop, or did not answer")

            try client.emit("ask-async")
            let question = try client.next("event")
            try client.send(["type": "ack", "ns": "/", "ack": question["ack"]!, "args": ["yes"]])
            XCTAssertEqual(try client.next("event")["args"], ["yes"], "\(transport)")
        }
    }

    func testAnAcknowledgementIsSentOnceAndOnlyWhenAskedFor() throws {
        let (server, _, port) = try makeEventServer(configure: { io in
            io.onConnection { socket in
                socket.on("twice") { _, ack in
                    ack("first")
                    ack("second")
                    socket.emit("asked", .bool(ack.isRequested))
                }
            }
        })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .webSocket)
        try client.connect()
        try client.emit("twice", ack: 9)
        XCTAssertEqual(try client.next("ack")["args"], ["first"])
        XCTAssertEqual(try client.next("event")["args"], [true])
        try client.emit("twice")
        XCTAssertEqual(try client.next()["args"], [false], "no ack packet when none was asked for")
    }

    func testRepliesPendingWhenASocketDisconnectsFail() throws {
        let outcome = Mutex<Result<[JSON], AckError>?>(nil)
        let (server, _, port) = try makeEventServer(configure: { io in
            io.onConnection { socket in
                socket.emit("question", timeout: .seconds(30)) { result in outcome.withLock { $0 = result } }
            }
        })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .webSocket)
        try client.connect()
        XCTAssertEqual(try client.next("event")["event"], "question")
        client.vanish()
        XCTAssertTrue(waitUntil { outcome.withLock { $0 } != nil })
        XCTAssertEqual(outcome.withLock { $0.map { "\($0)" } }, "failure(Events.AckError.disconnected)")
    }
}
