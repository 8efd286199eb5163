import Events
import EventsTestSupport
import PushServer
import Synchronization
import TestSupport
import XCTest

/// The same conversation over every session transport.
final class TransportTests: XCTestCase {
    private func echoServer() throws -> (PushServer, EventServer, Int) {
        try makeEventServer(configure: { io in
            io.onConnection { socket in
                socket.on("echo") { arguments, ack in ack.reply(arguments) }
                socket.on("shout") { arguments, _ in socket.emit("shouted", arguments: arguments) }
            }
            io.namespace("/news").onConnection { socket in
                socket.on("echo") { arguments, ack in ack.reply([.string("news")] + arguments) }
            }
        })
    }

    func testEventsAndAcksBothWaysOnEveryTransport() throws {
        let (server, _, port) = try echoServer()
        defer { server.shutdown() }
        for transport in EventsClient.Transport.allCases {
            let client = try EventsClient(port: port, transport: transport, query: "token=abc")
            XCTAssertEqual(client.open["pingInterval"], 25000)
            let connected = try client.connect()
            XCTAssertEqual(connected["type"], "connect", "\(transport)")
            XCTAssertEqual(connected["id"]?.string, client.id)

            try client.emit("echo", ["héllo", 42, ["nested": [true, .null]], .binary([0, 1, 255])], ack: 7)
            let ack = try client.next("ack")
            XCTAssertEqual(ack["ack"], 7)
            XCTAssertEqual(ack["args"], ["héllo", 42, ["nested": [true, .null]], .binary([0, 1, 255])], "\(transport)")

            try client.emit("shout", ["hey"])
            let shouted = try client.next("event")
            XCTAssertEqual(shouted["event"], "shouted")
            XCTAssertEqual(shouted["args"], ["hey"])
            XCTAssertNil(shouted["seq"], "a packet to one socket has no room sequence")

            // A second namespace over the same session.
            XCTAssertEqual(try client.connect("/news")["type"], "connect")
            try client.emit("echo", ["x"], namespace: "/news", ack: 1)
            let newsAck = try client.next("ack")
            XCTAssertEqual(newsAck["ns"], "/news")
            XCTAssertEqual(newsAck["args"], ["news", "x"])
        }
        XCTAssertTrue(waitUntil { server.statistics().sessionsOpened == 3 }, "one session per client, whatever its namespaces")
    }

    func testAnUnknownNamespaceAndMalformedPacketsAreRefused() throws {
        let (server, _, port) = try echoServer()
        defer { server.shutdown() }
        let client = try EventsClient(port: port, transport: .webSocket)
        let refused = try client.connect("/nowhere")
        XCTAssertEqual(refused["type"], "connect_error")
        XCTAssertEqual(refused["message"], "no namespace /nowhere on this server")

        try client.send(["type": 3])
        let closed = try client.next("close")
        XCTAssertEqual(closed["reason"]?.string?.hasPrefix("malformed packet"), true, "\(closed)")
    }

    func testAPostForAnUnknownSessionGetsAClearError() throws {
        let (server, _, port) = try echoServer()
        defer { server.shutdown() }
        let poster = try HTTPTestClient(port: port)
        let unknown = try XCTUnwrap(poster.request("POST", "/events/send?sid=0-99-0.1234", body: Array("{\"type\":\"pong\"}".utf8)))
        XCTAssertEqual(unknown.status, 400)
        XCTAssertEqual(unknown.text, "{\"error\":\"unknown session\"}")
        let missing = try XCTUnwrap(poster.request("POST", "/events/send", body: []))
        XCTAssertEqual(missing.status, 400)
        // A real session's id with a guessed secret is as unknown.
        let client = try EventsClient(port: port, transport: .polling)
        let guessed = try XCTUnwrap(poster.request("POST", "/events/send?sid=\(client.id).0", body: Array("{}".utf8)))
        XCTAssertEqual(guessed.status, 400)
    }

    func testATransportTheServerDoesNotOfferIsRefusedWith403() throws {
        let (server, _, port) = try makeEventServer({ $0.sessions.transports = [.polling] })
        defer { server.shutdown() }
        let http = try HTTPTestClient(port: port)
        XCTAssertEqual(http.request("GET", "/events/sse")?.status, 403)
        XCTAssertThrowsError(try TestClient(port: port, path: "/events/ws"), "the upgrade is refused")
        XCTAssertNoThrow(try EventsClient(port: port, transport: .polling))
    }
}
