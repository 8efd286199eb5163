import Events
import PushServer
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
