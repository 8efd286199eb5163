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
