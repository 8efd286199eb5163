import Events
import EventsTestSupport
import PushServer
import Reactor
import TestSupport
import XCTest

/// Every transport is pinged; a client that answers stays, one that goes
/// silent is evicted within `pingInterval + pingTimeout` (and a tick).
final class HeartbeatTests: XCTestCase {
    private func heartbeatServer() throws -> (PushServer, EventServer, Int) {
        try makeEventServer({ configuration in
            configuration.sessions.pingInterval = .milliseconds(200)
            configuration.sessions.pingTimeout = .milliseconds(300)
        }, configure: { io in
            io.onConnection { socket in socket.on("echo") { arguments, ack in ack.reply(arguments) } }
        })
    }

    func testAClientThatAnswersPingsStays() throws {
        let (server, _, port) = try heartbeatServer()
        defer { server.shutdown() }
        for transport in EventsClient.Transport.allCases {
            let client = try EventsClient(port: port, transport: transport)
            XCTAssertEqual(client.open["pingInterval"], 200)
            XCTAssertEqual(client.open["pingTimeout"], 300)
            try client.connect()
            let start = monotonicNanoseconds()
            var pings = 0
            while monotonicNanoseconds() - start < 1_500_000_000 {  // three times the limit
                let packet = try client.nextPacket()
                XCTAssertEqual(packet["type"], "ping", "\(transport)")
                pings += 1
                try client.send(["type": "pong"])
            }
            XCTAssertGreaterThanOrEqual(pings, 3, "\(transport): pinged every 200 to 300 ms")
            try client.emit("echo", ["still here"], ack: 1)
            XCTAssertEqual(try client.next("ack")["args"], ["still here"], "\(transport)")
        }
    }

    func testASilentClientIsEvictedWithinTheTimeout() throws {
        let (server, _, port) = try heartbeatServer()
        defer { server.shutdown() }
        for transport in [EventsClient.Transport.webSocket, .eventStream] {
            let client = try EventsClient(port: port, transport: transport)
            try client.connect()
            let start = monotonicNanoseconds()
            var packet = try client.nextPacket()
            while packet["type"] == "ping" { packet = try client.nextPacket() }  // never answered
            let waited = Double(monotonicNanoseconds() - start) / 1e6
            XCTAssertEqual(packet["type"], "close", "\(transport)")
            XCTAssertEqual(packet["reason"], "no packet for 500 ms")
            XCTAssertGreaterThanOrEqual(waited, 450, "\(transport): evicted early")
            XCTAssertLessThan(waited, 1_500, "\(transport): evicted late")
        }
        // A polling client that stops polling.
        _ = try EventsClient(port: port, transport: .polling)
        XCTAssertTrue(waitUntil(seconds: 3) { server.statistics().heartbeatEvictions == 3 })
        XCTAssertEqual(server.statistics().openSessions, 0)
    }
}
