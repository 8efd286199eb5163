import Events
import EventsTestSupport
import Glibc
import PushServer
import Reactor
import Synchronization
import TestSupport
import XCTest

/// Handles, refusals and connects that must not reach further than they should (from review).
final class SocketLifetimeTests: XCTestCase {
    /// A handle kept after its socket left the namespace (the session stays) reaches nobody, not even the
    /// session's next socket in that namespace.
    func testASocketHandleKeptAfterANamespaceDisconnectReachesNobodyNotEvenTheNextSocket() throws {
        let kept = Mutex<[Socket]>([])
        let (server, _, port) = try makeEventServer(configure: { io in
            io.onConnection { socket in
                kept.withLock { $0.append(socket) }
                socket.on("echo") { arguments, ack in ack.reply(arguments) }
            }
        })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .webSocket)
        XCTAssertEqual(try client.connect()["type"], "connect")
        try client.send(["type": "disconnect", "ns": "/"])
        usleep(100_000)
        let first = kept.withLock { $0[0] }
        first.emit("stale", "after its disconnect")
        usleep(100_000)
        XCTAssertEqual(try client.connect()["type"], "connect", "the first thing after reconnecting is the connect answer")
        // The session connected to "/" again: a new socket. The old handle must not be it.
        first.emit("stale", "to the next socket of the session")
        first.join("old-handle-room")
        try client.emit("echo", ["marker"], ack: 1)
        XCTAssertEqual(try client.next()["type"], "ack", "nothing sent through the old handle arrived first")
        let rooms = try XCTUnwrap(kept.withLock { $0.last }).session
        let joined = Mutex<[String]>([])
        let done = expectation(description: "rooms read")
        rooms.loop.execute { joined.withLock { $0 = rooms.rooms }; done.fulfill() }
        wait(for: [done], timeout: 5)
        XCTAssertFalse(joined.withLock { $0 }.contains("/#old-handle-room"), "the old handle joined the new socket to a room")
    }

    /// A refused socket must not stay in the rooms its middleware joined.
    func testAMiddlewareRefusalLeavesTheRoomsTheMiddlewareJoined() async throws {
        let (server, io, port) = try makeEventServer(configure: { io in
            let vip = io.namespace("/vip")
            vip.use { socket in
                socket.join("lounge")
                throw ConnectionRefused("not on the list")
            }
            io.onConnection { _ in }
        })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .webSocket)
        XCTAssertEqual(try client.connect("/vip")["type"], "connect_error")
        usleep(100_000)
        let members = await io.namespace("/vip").members(of: "lounge")
        XCTAssertEqual(members, [], "the refused socket is still a member")
        io.namespace("/vip").to("lounge").emit("secret", "for members only")
        usleep(100_000)
        let next = try client.connect("/")
        XCTAssertEqual(next["type"], "connect", "the refused client was sent: \(next)")
    }

    /// One client sending many `connect` packets to a namespace whose middleware awaits starts one run of it.
    func testAConnectWhileMiddlewareDecidesIsIgnored() throws {
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let (server, _, port) = try makeEventServer(configure: { io in
            io.namespace("/slow").use { _ in
                let now = running.add(1, ordering: .relaxed).newValue
                peak.max(now, ordering: .relaxed)
                try? await Task.sleep(nanoseconds: 300_000_000)  // an auth service
                running.subtract(1, ordering: .relaxed)
            }
        })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .webSocket)
        for _ in 0..<500 { try client.send(["type": "connect", "ns": "/slow"]) }
        usleep(200_000)
        XCTAssertLessThanOrEqual(peak.load(ordering: .relaxed), 1, "middleware tasks awaiting at once for one socket")
    }

    /// A poll naming an SSE (or WebSocket) session is not a poll of a polling session.
    func testAPollForANonPollingSessionIsRefused() throws {
        let (server, _, port) = try makeEventServer({ $0.sessions.pingInterval = .milliseconds(300) })
        defer { server.shutdown() }
        let stream = try EventsClient(port: port, transport: .eventStream)
        let http = try HTTPTestClient(port: port)
        let answer = try XCTUnwrap(http.request("GET", "/events/poll?sid=\(stream.sid)"))
        XCTAssertEqual(answer.status, 400, "held, then answered \(answer.status) \(answer.text)")
    }
}

/// What a client that does not read can make the server hold, and what a page elsewhere learns of a refusal.
final class SessionLimitTests: XCTestCase {
    func testAClientThatAsksButNeverReadsIsClosedPastTheCap() throws {
        let (server, _, port) = try makeEventServer(server: { $0.broadcast.maxQueuedBytes = 64 * 1024 }, configure: { io in
            io.onConnection { socket in socket.on("echo") { arguments, ack in ack.reply(arguments) } }
        })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .polling)
        try client.connect()
        let poster = try HTTPTestClient(port: port)
        let big = String(repeating: "x", count: 8 * 1024)
        var refusedAt: Int?
        for index in 0..<40 {  // 40 acks of 8 KiB wait for a poll that never comes
            let body = JSON.object([("type", "event"), ("ns", "/"), ("event", "echo"), ("args", [.string(big)]), ("ack", JSON(index))])
            let answer = try XCTUnwrap(poster.request("POST", "/events/send?sid=\(client.sid)", body: body.serialized()))
            if answer.status != 204 {
                XCTAssertEqual(answer.status, 400)
                XCTAssertEqual(answer.text, "{\"error\":\"unknown session\"}")
                refusedAt = index
                break
            }
        }
        XCTAssertEqual(refusedAt, 8, "closed once more than 64 KiB waited for it")
        XCTAssertTrue(waitUntil { server.statistics().slowSubscriberEvictions == 1 })
    }

    func testABodyOverTheLimitIsRefusedReadablyAcrossOrigins() throws {
        let (server, _, port) = try makeEventServer(server: { $0.corsOrigins = ["https://page.example"]; $0.maxBodySize = 1024 })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .polling)
        XCTAssertEqual(client.open["maxPayload"], 1024, "a POST cannot carry more than the server's body limit")
        let poster = try HTTPTestClient(port: port)
        let answer = try XCTUnwrap(poster.request("POST", "/events/send?sid=\(client.sid)", headers: [("Origin", "https://page.example")],
                                                  body: Array(repeating: UInt8(ascii: " "), count: 2048)))
        XCTAssertEqual(answer.status, 413)
        XCTAssertEqual(answer.header("Access-Control-Allow-Origin"), "https://page.example")
    }
}

final class SessionShutdownTests: XCTestCase {
    func testAHeldPollIsToldTheServerIsGoingAndTheDrainDoesNotWaitForIt() throws {
        let (server, _, port) = try makeEventServer()
        let client = try EventsClient(port: port, transport: .polling)
        let polls = try HTTPTestClient(port: port)
        polls.send("GET", "/events/poll?sid=\(client.sid)")  // held: nothing waits for it
        usleep(100_000)
        let start = monotonicNanoseconds()
        let stopping = try startThread(named: "shutdown") { server.shutdown() }
        let head = try XCTUnwrap(polls.readHead())
        let answer = try XCTUnwrap(polls.readResponse(afterHead: head))
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(answer.header("Connection"), "close", "its last answer")
        XCTAssertTrue(answer.text.contains("\"type\":\"close\""), answer.text)
        XCTAssertTrue(answer.text.contains("server shutting down"))
        polls.reset()  // a client closes a connection told it is closing
        pthread_join(stopping, nil)
        XCTAssertLessThan(monotonicNanoseconds() - start, 3_000_000_000, "the drain waited for the poll's connection")
    }
}
