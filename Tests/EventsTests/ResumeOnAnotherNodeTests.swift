import Events
import EventsTestSupport
import PushServer
import TestSupport
import XCTest

/// A client that reconnects to another node of a cluster (rooms on a backend that spans
/// servers: `InProcessCluster` here, Redis in production) with its last sequence and former id.
final class ResumeOnAnotherNodeTests: XCTestCase {
    /// A one-loop node: its first session has the same loop, slot and generation as any other
    /// node's first session.
    private func node(of cluster: InProcessCluster, backend: InProcessCluster.Node? = nil) throws -> (PushServer, Int) {
        let backend = backend ?? cluster.node()
        let (server, _, port) = try makeEventServer(threads: 1, server: { $0.broadcast.backend = backend }, configure: { io in
            io.onConnection { socket in
                socket.join("r")
                socket.on("say") { arguments, ack in
                    socket.to("r").emit("said", arguments: arguments)  // everyone but the sender
                    ack(true)
                }
            }
        })
        return (server, port)
    }

    /// The client's former id names a session of node B. On node A, a session with the same
    /// numbers is someone else: what it sent to everyone but itself is replayed to the client.
    func testAFormerIDFromAnotherNodeDoesNotHideALocalSessionsBroadcasts() throws {
        let cluster = InProcessCluster()
        let (a, portA) = try node(of: cluster)
        defer { a.shutdown() }
        let (b, portB) = try node(of: cluster)
        defer { b.shutdown() }
        let mover = try EventsClient(port: portB, transport: .webSocket)
        try mover.connect()
        let local = try EventsClient(port: portA, transport: .webSocket)
        try local.connect()
        try local.emit("say", ["one"], ack: 1)
        _ = try local.skip(to: "ack")
        let last = try XCTUnwrap(mover.events(named: "said", until: "one").last?["seq"]?.int)
        mover.vanish()
        try local.emit("say", ["two"], ack: 2)
        _ = try local.skip(to: "ack")

        let back = try EventsClient(port: portA, transport: .webSocket)
        XCTAssertEqual(try back.connect(resume: ["id": .string(mover.id), "rooms": ["r": JSON(last)]])["type"], "connect")
        try local.emit("say", ["three"], ack: 3)
        XCTAssertEqual(try back.events(named: "said", until: "three").map { $0["args"]?[0] }, ["two", "three"])
    }

    /// The client saw more on node B than node A has yet (the message is on its way there): it is
    /// told no gap (the room did not start over) and not sent again what it had.
    func testAClientAheadOfTheNodeItMovesToGetsNoGapAndNoCopy() throws {
        let cluster = InProcessCluster()
        let slow = cluster.node()
        let (a, portA) = try node(of: cluster, backend: slow)
        defer { a.shutdown() }
        let (b, portB) = try node(of: cluster)
        defer { b.shutdown() }
        let local = try EventsClient(port: portA, transport: .webSocket)
        try local.connect()
        let mover = try EventsClient(port: portB, transport: .webSocket)
        try mover.connect()
        try local.emit("say", ["one"], ack: 1)
        _ = try local.skip(to: "ack")
        slow.missesMessages.store(true, ordering: .relaxed)
        try local.emit("say", ["two"], ack: 2)
        _ = try local.skip(to: "ack")
        let last = try XCTUnwrap(mover.events(named: "said", until: "two").last?["seq"]?.int)
        mover.vanish()

        let back = try EventsClient(port: portA, transport: .webSocket)
        XCTAssertEqual(try back.connect(resume: ["id": .string(mover.id), "rooms": ["r": JSON(last)]])["type"], "connect")
        slow.missesMessages.store(false, ordering: .relaxed)
        try local.emit("say", ["three"], ack: 3)
        var packets: [JSON] = []
        while packets.last?["args"]?[0] != "three" {
            let packet = try back.next()
            if packet["type"] == "event" || packet["type"] == "gap" { packets.append(packet) }
        }
        XCTAssertEqual(packets.map { $0["type"] }, ["event"], "no gap: \(packets)")
        XCTAssertEqual(packets.map { $0["seq"] }, [JSON(last + 1)])
    }
}
