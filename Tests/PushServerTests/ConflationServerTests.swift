import Broadcast
import Glibc
import PushServer
import Reactor
import TestSupport
import WebSocketCodec
import XCTest

/// A ticker over real sockets: a subscriber that stops reading while a feed
/// runs gets, once it reads again, the newest quote of every symbol and never
/// an older one after a newer; a subscriber that keeps up gets every quote.
final class ConflationServerTests: XCTestCase {
    func testASubscriberThatStopsReadingCatchesUpWithTheNewestQuotes() throws {
        let (server, port) = try makeServer({ configuration in
            configuration.threads = 1
            configuration.broadcast.maxQueuedBytes = 64 << 20  // conflation, not eviction, bounds it here
            configuration.broadcast.roomOptions["quotes"] = RoomOptions(conflate: true)
        }, routes: { server in
            server.webSocket("/ticker/*") { behavior in
                behavior.open = { socket, request in
                    socket.join("quotes", options: SubscriptionOptions(query: request.query) ?? SubscriptionOptions())
                }
                behavior.message = { socket, message in
                    let key = String(decoding: message.payload.prefix(3), as: UTF8.self)
                    socket.publish(BroadcastMessage(opcode: .text, payload: message.bytes, key: key), to: "quotes", includeSelf: false)
                }
            }
        })
        defer { server.shutdown() }
        let keys = 64, rounds = 1_000
        let slow = try TestClient(port: port, path: "/ticker/slow", receiveBuffer: 4096)
        let fast = try TestClient(port: port, path: "/ticker/fast")
        let publisher = try TestClient(port: port, path: "/ticker/publisher")
        let padding = String(repeating: "x", count: 100)
        var fastSeen = 0
        for round in 0..<rounds {
            for key in 0..<keys {
                let symbol = String(key + 100)
                publisher.sendFrame(.text, Array("\(symbol)=\(String(round + 100_000)) \(padding)".utf8))
            }
            // The fast subscriber reads as it goes (so neither it nor the publisher falls behind).
            for _ in 0..<keys {
                guard case .text(let quote) = fast.receiveFrame() else { return XCTFail("the fast subscriber lost its connection") }
                XCTAssertEqual(quote.prefix(10), "\((fastSeen % keys) + 100)=\(fastSeen / keys + 100_000)", "the fast one gets every quote in order")
                fastSeen += 1
            }
        }
        // Now the slow one reads: every symbol's newest quote, and per symbol only ever newer ones.
        var newest: [String: Int] = [:]
        var received = 0
        while newest.count < keys || newest.values.contains(where: { $0 != rounds - 1 + 100_000 }) {
            guard case .text(let quote) = slow.receiveFrame() else { return XCTFail("the slow subscriber was dropped after \(received)") }
            received += 1
            let symbol = String(quote.prefix(3)), version = Int(quote.dropFirst(4).prefix(6))!
            XCTAssertGreaterThan(version, newest[symbol] ?? -1, "an older quote of \(symbol) after a newer one")
            newest[symbol] = version
        }
        XCTAssertLessThan(received, keys * rounds, "it got every quote: nothing was conflated")
        let statistics = try XCTUnwrap(server.broadcaster?.statistics()["quotes"])
        XCTAssertEqual(statistics.conflated, keys * rounds - received)
        XCTAssertEqual(statistics.evicted, 0)
    }
}
