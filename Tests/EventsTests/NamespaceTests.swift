import Events
import EventsTestSupport
import PushServer
import Synchronization
import TestSupport
import XCTest

/// Middleware, listing rooms and members across loops, and what an abrupt
/// disconnect leaves behind (nothing).
final class NamespaceTests: XCTestCase {
    func testMiddlewareRefusesWithAReasonTheClientSees() throws {
        let (server, _, port) = try makeEventServer(configure: { io in
            let secure = io.namespace("/private")
            secure.use { socket in
                try await Task.sleep(nanoseconds: 10_000_000)  // a token store, say
                guard socket.auth["token"] == "secret" else { throw ConnectionRefused("not authorized", data: ["code": 401]) }
            }
            secure.use { socket in
                guard socket.handshake.queryValue("room") != "closed" else { throw ConnectionRefused("that room is closed") }
            }
            secure.onConnection { socket in socket.emit("welcome", .string(socket.handshake.queryValue("room") ?? "")) }
        })
        defer { server.shutdown() }
        for transport in EventsClient.Transport.allCases {
            let client = try EventsClient(port: port, transport: transport, query: "room=open")
            let refused = try client.connect("/private", auth: ["token": "guess"])
            XCTAssertEqual(refused["type"], "connect_error", "\(transport)")
            XCTAssertEqual(refused["message"], "not authorized")
            XCTAssertEqual(refused["data"], ["code": 401])
            XCTAssertEqual(try client.connect("/private", auth: ["token": "secret"])["type"], "connect", "\(transport)")
            XCTAssertEqual(try client.next("event")["args"], ["open"], "the handshake's query reaches the application")
        }
        let closed = try EventsClient(port: port, transport: .webSocket, query: "room=closed")
        XCTAssertEqual(try closed.connect("/private", auth: ["token": "secret"])["message"], "that room is closed")
    }

    private func roomsServer(threads: Int = 2) throws -> (PushServer, EventServer, Int) {
        try makeEventServer(threads: threads, server: { $0.broadcast.idleRoomTimeout = .zero }, { configuration in
            configuration.sessions.pingInterval = .milliseconds(200)
            configuration.sessions.pingTimeout = .milliseconds(300)
        }, configure: { io in
            io.onConnection { socket in
                socket.on("join") { arguments, ack in
                    for room in arguments.compactMap(\.string) { socket.join(room) }
                    ack(true)
                }
            }
        })
    }

    func testRoomsAndMembersAreListedAcrossLoops() async throws {
        let (server, io, port) = try roomsServer()
        defer { server.shutdown() }
        var clients: [EventsClient] = []
        // Enough clients that both loops have some (connections are spread by the kernel).
        while Set(clients.map { SessionID($0.id)?.loop }).count < 2 || clients.count < 6 {
            let client = try EventsClient(port: port, transport: clients.count % 2 == 0 ? .webSocket : .polling)
            try client.connect()
            clients.append(client)
            guard clients.count < 60 else { return XCTFail("every client landed on one loop") }
        }
        for (index, client) in clients.enumerated() {
            try client.emit("join", index % 2 == 0 ? ["red", "green"] : ["red"], ack: 1)
            XCTAssertEqual(try client.next("ack")["args"], [true])
        }
        let namespace = io.defaultNamespace
        let rooms = await namespace.rooms()
        XCTAssertEqual(rooms, ["red": clients.count, "green": (clients.count + 1) / 2])
        let red = await namespace.members(of: "red")
        XCTAssertEqual(red, clients.map(\.id).sorted())
        let everyone = await namespace.sockets()
        XCTAssertEqual(everyone, clients.map(\.id).sorted())
        let first = await namespace.rooms(of: clients[0].id)
        XCTAssertEqual(first, ["red", "green"])
        let second = await namespace.rooms(of: clients[1].id)
        XCTAssertEqual(second, ["red"])
    }

    func testAbruptDisconnectsLeaveNothingBehind() async throws {
        let (server, io, port) = try roomsServer()
        defer { server.shutdown() }
        var clients: [EventsClient] = []
        for transport in EventsClient.Transport.allCases {
            for _ in 0..<3 {
                let client = try EventsClient(port: port, transport: transport)
                try client.connect()
                try client.emit("join", ["red"], ack: 1)
                _ = try client.next("ack")
                clients.append(client)
            }
        }
        let members = await io.defaultNamespace.members(of: "red")
        XCTAssertEqual(members.count, 9)
        for client in clients { client.vanish() }
        // Streams and WebSockets end with their connection; polling sessions with the heartbeat.
        XCTAssertTrue(waitUntil {
            let statistics = server.statistics()
            return statistics.openSessions == 0 && statistics.connections == 0 && statistics.openStreams == 0
        }, "\(server.statistics())")
        let left = await io.defaultNamespace.members(of: "red")
        XCTAssertEqual(left, [])
        let rooms = await io.defaultNamespace.rooms()
        XCTAssertEqual(rooms, [:])
        XCTAssertEqual(server.statistics().heartbeatEvictions, 3, "the polling sessions")
    }

    func testASocketHandleKeptAfterItsSessionEndedReachesNobody() throws {
        let sockets = Mutex<[Socket]>([])
        let (server, _, port) = try makeEventServer(threads: 1, configure: { io in
            io.onConnection { socket in sockets.withLock { $0.append(socket) } }
        })
        defer { server.shutdown() }
        do {
            let first = try EventsClient(port: port, transport: .webSocket)
            try first.connect()
            try first.send(["type": "close"])
        }
        XCTAssertTrue(waitUntil { server.statisticsSnapshot().server.openSessions == 0 })
        let second = try EventsClient(port: port, transport: .webSocket)
        try second.connect()
        XCTAssertTrue(waitUntil { sockets.withLock { $0.count } == 2 })
        let (old, new) = sockets.withLock { ($0[0], $0[1]) }
        XCTAssertEqual(old.session.id.slot, new.session.id.slot, "the second session did not reuse the slot")
        XCTAssertNotEqual(old.session.id.generation, new.session.id.generation)
        old.emit("stale", "from the past")
        old.join("stolen")
        old.session.send(Array("{\"type\":\"event\",\"event\":\"stale\",\"args\":[]}".utf8))
        old.disconnect(close: true)
        new.emit("fresh", "from the present")
        let next = try second.next("event")
        XCTAssertEqual(next["event"], "fresh", "a stale handle reached the new session")
    }
}
