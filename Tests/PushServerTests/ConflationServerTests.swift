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
        let (server, port) = try makeTickerServer { configuration in
            configuration.broadcast.roomOptions["quotes"] = RoomOptions(conflate: true)
        }
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

    /// A megabyte of quotes to a member that stopped reading: the kernel would take all
    /// of it (it grows a slow socket's send buffer to 4 MiB), and the member would later
    /// read a megabyte of stale quotes. With the unsent bytes capped, the server holds
    /// the rest back and conflates it.
    func testTheKernelHoldsLittleForAMemberThatConflates() throws {
        let (conflated, received, total) = try quotesToAStalledMember(unsentLimit: 65_536)
        XCTAssertGreaterThan(conflated, 0, "the server never held anything back: the kernel took it all")
        XCTAssertEqual(conflated + received, total)
        // What it reads: the newest of each symbol, plus what was already past the cap, sent
        // into its own receive buffer (a few hundred KiB on loopback), which nobody can take back.
        XCTAssertLessThan(received, total / 2, "the member read \(received) of \(total) quotes")
    }

    /// The control: what the cap is for. It needs Linux's default `tcp_wmem` maximum (4 MiB).
    func testWithoutTheCapTheKernelTakesEverythingFirst() throws {
        let maximum = Self.tcpWriteMemoryMaximum()
        try XCTSkipIf(maximum < 2 << 20, "net.ipv4.tcp_wmem's maximum is \(maximum) here, under the megabyte this control sends")
        let (conflated, received, total) = try quotesToAStalledMember(unsentLimit: nil)
        XCTAssertEqual(conflated, 0, "what this test measures has changed: the kernel no longer takes a megabyte")
        XCTAssertEqual(received, total)
    }

    /// 64 symbols × 16 rounds of 1 KiB quotes to a conflating member that reads
    /// only afterwards: (conflated, quotes it read, quotes published).
    private func quotesToAStalledMember(unsentLimit: Int?) throws -> (Int, Int, Int) {
        let (server, port) = try makeTickerServer { configuration in
            configuration.conflatingUnsentLimit = unsentLimit
        }
        defer { server.shutdown() }
        let keys = 64, rounds = 16
        let stalled = try TestClient(port: port, path: "/ticker/stalled?conflate=1")
        let publisher = try TestClient(port: port, path: "/ticker/publisher")
        XCTAssertTrue(waitUntil { server.broadcaster?.statistics()["quotes"]?.subscribers == 2 })
        let padding = String(repeating: "x", count: 1_000)
        for round in 0..<rounds {
            for key in 0..<keys { publisher.sendFrame(.text, Array("\(key + 100)=\(round + 100_000) \(padding)".utf8)) }
        }
        let total = keys * rounds
        XCTAssertTrue(waitUntil { (server.broadcaster?.statistics()["quotes"]?.published ?? 0) == total })
        usleep(200_000)  // the last pass's deliveries and hold-backs
        var newest: [String: Int] = [:]
        var received = 0
        while newest.count < keys || newest.values.contains(where: { $0 != rounds - 1 + 100_000 }) {
            guard case .text(let quote) = stalled.receiveFrame() else {
                XCTFail("the stalled member was dropped after \(received)")
                break
            }
            received += 1
            newest[String(quote.prefix(3))] = Int(quote.dropFirst(4).prefix(6))!
        }
        let conflated = try XCTUnwrap(server.broadcaster?.statistics()["quotes"]).conflated
        return (conflated, received, total)
    }

    /// The third number of /proc/sys/net/ipv4/tcp_wmem; 0 if unreadable.
    private static func tcpWriteMemoryMaximum() -> Int {
        guard let file = fopen("/proc/sys/net/ipv4/tcp_wmem", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).last.flatMap { Int($0) } ?? 0
    }

    /// One loop; `/ticker/NAME[?conflate=1]` joins room "quotes", and what it sends is
    /// published there keyed by its first three bytes. Conflation, not eviction, bounds
    /// what a slow member holds here.
    private func makeTickerServer(_ configure: (inout ServerConfiguration) -> Void) throws -> (PushServer, Int) {
        try makeServer({ configuration in
            configuration.threads = 1
            configuration.broadcast.maxQueuedBytes = 64 << 20
            configure(&configuration)
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
    }
}
