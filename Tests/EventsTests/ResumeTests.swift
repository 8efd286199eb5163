import Events
import EventsTestSupport
import PushServer
import TestSupport
import XCTest

/// A client that comes back with the last sequence it saw per room gets
/// exactly what it missed, from the room's history, or a gap.
final class ResumeTests: XCTestCase {
    private func tickerServer(historyCount: Int = 1024) throws -> (PushServer, EventServer, Int) {
        try makeEventServer(server: { $0.broadcast.historyCount = historyCount }, configure: { io in
            io.onConnection { socket in
                socket.join("ticks")
                socket.on("publish") { arguments, ack in
                    for n in arguments[0].int!...arguments[1].int! { io.to("ticks").emit("tick", JSON(n)) }
                    ack(true)
                }
                socket.on("mine") { arguments, _ in socket.to("ticks").emit("tick", arguments[0]) }
            }
        })
    }

    private func ticks(_ client: EventsClient, through last: Int) throws -> [(JSON, Int)] {
        try client.events(named: "tick", until: JSON(last)).map { ($0["args"]![0]!, $0["seq"]!.int!) }
    }

    func testAClientThatComesBackGetsExactlyWhatItMissed() throws {
        let (server, _, port) = try tickerServer()
        defer { server.shutdown() }
        for transport in EventsClient.Transport.allCases {
            let publisher = try EventsClient(port: port, transport: .webSocket)
            try publisher.connect()
            let leaving = try EventsClient(port: port, transport: transport)
            try leaving.connect()
            try publisher.emit("publish", [1, 5], ack: 1)
            _ = try publisher.skip(to: "ack")
            let last = try XCTUnwrap(ticks(leaving, through: 5).last?.1)
            // Its own broadcast to the room (everyone but itself), then more, then it drops without reading them.
            try leaving.emit("mine", ["own"])
            try publisher.emit("publish", [6, 8], ack: 2)
            _ = try publisher.skip(to: "ack")
            leaving.vanish()
            try publisher.emit("publish", [9, 12], ack: 3)
            _ = try publisher.skip(to: "ack")

            let back = try EventsClient(port: port, transport: transport)
            let resume: JSON = ["id": .string(leaving.id), "rooms": ["ticks": JSON(last)]]
            XCTAssertEqual(try back.connect(resume: resume)["type"], "connect")
            try publisher.emit("publish", [13, 14], ack: 4)
            let after = try ticks(back, through: 14)
            XCTAssertEqual(after.map(\.0), (6...14).map { JSON($0) }, "\(transport): missed, then live, each once, in order, not its own")
            // The room's sequence: increasing, and covering all ten packets since but one, its own.
            let sequences = after.map(\.1)
            XCTAssertEqual(sequences, sequences.sorted(), "\(transport)")
            XCTAssertEqual(Set(sequences).count, 9)
            XCTAssertTrue(sequences.allSatisfy { (last + 1...last + 10).contains($0) }, "\(transport): \(sequences)")
            _ = try publisher.skip(to: "ack")
        }
    }

    func testAResumeOlderThanTheHistoryGetsAGap() throws {
        let (server, _, port) = try tickerServer(historyCount: 4)
        defer { server.shutdown() }
        let publisher = try EventsClient(port: port, transport: .webSocket)
        try publisher.connect()
        try publisher.emit("publish", [1, 10], ack: 1)
        _ = try publisher.skip(to: "ack")
        let back = try EventsClient(port: port, transport: .webSocket)
        XCTAssertEqual(try back.connect(resume: ["rooms": ["ticks": 2]])["type"], "connect")
        let gap = try back.next("gap")
        XCTAssertEqual(gap["room"], "ticks")
        XCTAssertEqual(gap["oldest"], 7)
        XCTAssertEqual(gap["last"], 10)
        try publisher.emit("publish", [11, 11], ack: 2)
        XCTAssertEqual(try ticks(back, through: 11).map(\.0), [11], "after a gap: live messages only")
    }

    func testAResumeFromBeforeARestartGetsAGapNotSomeoneElsesMessages() throws {
        let (server, _, port) = try tickerServer()
        defer { server.shutdown() }
        let publisher = try EventsClient(port: port, transport: .webSocket)
        try publisher.connect()
        try publisher.emit("publish", [1, 10], ack: 1)
        _ = try publisher.skip(to: "ack")
        // An id of this server's shape from another boot: the client saw 2 of a room that has since started over.
        let id = try XCTUnwrap(SessionID(publisher.id))
        let before = SessionID(boot: id.boot &+ 1, loop: id.loop, slot: id.slot, generation: id.generation)
        let back = try EventsClient(port: port, transport: .webSocket)
        XCTAssertEqual(try back.connect(resume: ["id": .string(before.description), "rooms": ["ticks": 2]])["type"], "connect")
        let gap = try back.next("gap")
        XCTAssertEqual(gap["room"], "ticks")
        XCTAssertEqual(gap["oldest"], .null)
        XCTAssertEqual(gap["last"], 10)
        try publisher.emit("publish", [11, 11], ack: 2)
        XCTAssertEqual(try ticks(back, through: 11).map(\.0), [11], "told of the gap, it is not sent 3...10 of the new numbering as if they followed its 2")
    }

    func testAResumeBeyondTheRoomsSequenceSaysTheRoomStartedOver() throws {
        let (server, _, port) = try tickerServer()
        defer { server.shutdown() }
        let back = try EventsClient(port: port, transport: .webSocket)
        XCTAssertEqual(try back.connect(resume: ["rooms": ["ticks": 500]])["type"], "connect")
        let gap = try back.next("gap")
        XCTAssertEqual(gap["oldest"], .null)
        XCTAssertEqual(gap["last"], 0)
    }
}

/// A packet sent to several rooms, and a client that resumes them: memberships
/// then are not memberships now, so every copy is replayed, each carrying the
/// packet's one `mid`, and the client takes the first (as client.js does).
final class MultiRoomResumeTests: XCTestCase {
    private func server() throws -> (PushServer, EventServer, Int) {
        try makeEventServer(threads: 1, configure: { io in
            io.onConnection { socket in
                socket.on("join") { arguments, ack in
                    for room in arguments.compactMap(\.string) { socket.join(room) }
                    ack(true)
                }
                socket.on("to-room") { arguments, _ in io.to(arguments[0].string!).emit("msg", arguments[1]) }
                socket.on("to-rooms") { arguments, _ in io.to(arguments[0].string!).to(arguments[1].string!).emit("msg", arguments[2]) }
            }
        })
    }

    /// The `msg` texts a client takes until `last`, dropping packets whose `mid` it has seen.
    private func taken(_ client: EventsClient, until last: String, seen: inout Set<String>) throws -> [String] {
        var texts: [String] = []
        for packet in try client.events(named: "msg", until: .string(last)) {
            if let id = packet["mid"]?.string, !seen.insert(id).inserted { continue }
            texts.append(packet["args"]?[0]?.string ?? "?")
        }
        return texts
    }

    func testAPacketMissedInOneRoomComesBackThoughTheClientIsNowInTheOtherToo() throws {
        let (server, _, port) = try self.server()
        defer { server.shutdown() }
        let x = try EventsClient(port: port, transport: .webSocket)
        let y = try EventsClient(port: port, transport: .webSocket)
        for client in [x, y] { XCTAssertEqual(try client.connect()["type"], "connect") }
        try x.emit("join", ["b"], ack: 1)
        _ = try x.next("ack")
        try y.emit("to-room", ["b", "first"])
        let lastB = try XCTUnwrap(x.skip(to: "event")["seq"]?.int)
        x.vanish()
        usleep(200_000)
        try y.emit("to-rooms", ["a", "b", "missed"])
        usleep(100_000)
        let back = try EventsClient(port: port, transport: .webSocket)
        XCTAssertEqual(try back.connect(resume: ["id": .string(x.id), "rooms": ["b": JSON(lastB)]])["type"], "connect")
        try back.emit("join", ["a", "b"], ack: 1)
        try y.emit("to-room", ["b", "end"])
        var seen: Set<String> = []
        XCTAssertEqual(try taken(back, until: "end", seen: &seen), ["missed", "end"])
    }

    func testAPacketTakenThroughAnotherRoomComesAgainWithItsIdAndIsDropped() throws {
        let (server, _, port) = try self.server()
        defer { server.shutdown() }
        let x = try EventsClient(port: port, transport: .webSocket)
        let y = try EventsClient(port: port, transport: .webSocket)
        for client in [x, y] { XCTAssertEqual(try client.connect()["type"], "connect") }
        try x.emit("join", ["b"], ack: 1)
        _ = try x.next("ack")
        try y.emit("to-room", ["b", "first"])
        let lastB = try XCTUnwrap(x.skip(to: "event")["seq"]?.int)
        try x.emit("join", ["a"], ack: 2)
        _ = try x.skip(to: "ack")
        try y.emit("to-rooms", ["a", "b", "seen"])
        let seenPacket = try x.skip(to: "event")
        XCTAssertEqual(seenPacket["room"], "a", "live, it came through the first room only")
        let id = try XCTUnwrap(seenPacket["mid"]?.string, "a packet sent to several rooms carries an id")
        let lastA = try XCTUnwrap(seenPacket["seq"]?.int)
        x.vanish()
        usleep(200_000)
        let back = try EventsClient(port: port, transport: .webSocket)
        XCTAssertEqual(try back.connect(resume: ["id": .string(x.id), "rooms": ["a": JSON(lastA), "b": JSON(lastB)]])["type"], "connect")
        try back.emit("join", ["b", "a"], ack: 1)
        try y.emit("to-room", ["b", "end"])
        var seen: Set<String> = [id]  // what the client remembers from before it dropped
        XCTAssertEqual(try taken(back, until: "end", seen: &seen), ["end"], "the copy through b was dropped by its id")
    }
}
