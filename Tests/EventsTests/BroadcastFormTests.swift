import Broadcast
import Events
import EventsTestSupport
import PushServer
import TestSupport
import XCTest

/// Every broadcast form of the documents, over a mix of transports and loops:
/// to all, all but the sender, a room with and without the sender, several
/// rooms (each member once), all but a room's members, a namespace's own rooms.
final class BroadcastFormTests: XCTestCase {
    private func formsServer() throws -> (PushServer, EventServer, Int) {
        try makeEventServer(configure: { io in
            for namespace in [io.defaultNamespace, io.namespace("/news")] {
                namespace.onConnection { socket in
                    socket.on("join") { arguments, ack in
                        for room in arguments.compactMap(\.string) { socket.join(room) }
                        ack(true)
                    }
                    socket.on("to-all") { arguments, _ in namespace.emit("msg", arguments: arguments) }
                    socket.on("to-all-but-me") { arguments, _ in socket.broadcast.emit("msg", arguments: arguments) }
                    socket.on("to-room") { arguments, _ in namespace.to(arguments[0].string!).emit("msg", arguments[1]) }
                    socket.on("to-room-but-me") { arguments, _ in socket.to(arguments[0].string!).emit("msg", arguments[1]) }
                    socket.on("to-rooms") { arguments, _ in
                        namespace.to(arguments[0].string!).to(arguments[1].string!).emit("msg", arguments[2])
                    }
                    socket.on("to-all-but-room") { arguments, _ in namespace.except(arguments[0].string!).emit("msg", arguments[1]) }
                }
            }
        })
    }

    func testEachFormReachesExactlyWhoItNames() throws {
        let (server, _, port) = try formsServer()
        defer { server.shutdown() }
        let a = try EventsClient(port: port, transport: .webSocket)
        let b = try EventsClient(port: port, transport: .eventStream)
        let c = try EventsClient(port: port, transport: .polling)
        let news = try EventsClient(port: port, transport: .webSocket)
        for client in [a, b, c] { XCTAssertEqual(try client.connect()["type"], "connect") }
        XCTAssertEqual(try news.connect("/news")["type"], "connect")
        try a.emit("join", ["red"], ack: 1)
        try b.emit("join", ["red", "green"], ack: 1)
        try c.emit("join", ["green"], ack: 1)
        try news.emit("join", ["red"], namespace: "/news", ack: 1)
        for client in [a, b, c] { XCTAssertEqual(try client.next("ack")["args"], [true]) }
        XCTAssertEqual(try news.next("ack")["args"], [true])

        try a.emit("to-all", ["1"])
        try a.emit("to-all-but-me", ["2"])
        try a.emit("to-room", ["red", "3"])
        try a.emit("to-room-but-me", ["red", "4"])
        try c.emit("to-rooms", ["red", "green", "5"])
        try a.emit("to-all-but-room", ["red", "6"])
        try a.emit("to-room", ["green", "7"])
        // Order is kept per room, not across rooms: what each got is compared as a set, after a pause
        // long enough for any stray delivery and a last broadcast each client reads up to.
        usleep(200_000)
        try news.emit("to-all", ["end"], namespace: "/news")
        try a.emit("to-all", ["end"])

        func payloads(_ client: EventsClient) throws -> [String] {
            try client.events(named: "msg", until: "end").map { $0["args"]?[0]?.string ?? "?" }.sorted()
        }
        XCTAssertEqual(try payloads(a), ["1", "3", "5", "end"])
        XCTAssertEqual(try payloads(b), ["1", "2", "3", "4", "5", "7", "end"], "5 reached b once, through red and green")
        XCTAssertEqual(try payloads(c), ["1", "2", "5", "6", "7", "end"])
        XCTAssertEqual(try payloads(news), ["end"], "a namespace's rooms are its own")
    }

    func testRoomPacketsCarryTheRoomAndItsSequence() throws {
        let (server, _, port) = try formsServer()
        defer { server.shutdown() }
        let a = try EventsClient(port: port, transport: .webSocket)
        try a.connect()
        try a.emit("join", ["red"], ack: 1)
        _ = try a.next("ack")
        for n in 1...3 { try a.emit("to-room", ["red", .string("r\(n)")]) }
        let red = try a.events(named: "msg", until: "r3")
        XCTAssertEqual(red.map { $0["room"] }, ["red", "red", "red"])
        XCTAssertEqual(red.map { $0["seq"] }, [1, 2, 3], "the room's own sequence")
        try a.emit("to-all", ["everyone"])
        let everyone = try a.events(named: "msg", until: "everyone")
        XCTAssertEqual(everyone.map { $0["room"] }, [nil], "a broadcast to the namespace names no room")
        XCTAssertEqual(everyone.map { $0["seq"] }, [1], "the namespace's own sequence")
    }
}

final class KeyedPacketTests: XCTestCase {
    func testAKeyedEmitCarriesItsKeyAndConflatesForAMemberThatAsked() throws {
        let (server, _, port) = try makeEventServer(configure: { io in
            io.onConnection { socket in
                socket.join("quotes", options: SubscriptionOptions(conflate: true))
                socket.on("quote") { arguments, _ in io.to("quotes").keyed(arguments[0].string!).emit("quote", arguments: arguments) }
            }
        })
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .webSocket)
        try client.connect()
        try client.emit("quote", ["AAPL", 190])
        let packet = try client.next("event")
        XCTAssertEqual(packet["key"], "AAPL")
        XCTAssertEqual(packet["room"], "quotes")
        XCTAssertEqual(packet["args"], ["AAPL", 190])
    }
}
