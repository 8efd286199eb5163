@testable import Broadcast
import Reactor
import Synchronization
import XCTest

/// Members that fall behind in a room that conflates get the newest message
/// of each key; members that keep up get every message; volatile messages
/// skip members that are behind; a per-key rate holds the newest back.
private let fast = ConnectionID(slot: 1, generation: 1)
private let slow = ConnectionID(slot: 2, generation: 1)

private func quote(_ symbol: Int, _ version: Int) -> BroadcastMessage {
    BroadcastMessage(text: "S\(symbol)=\(version)", key: "S\(symbol)")
}

final class ConflationTests: XCTestCase {
    func testAMemberBehindHoldsTheNewestOfEachKeyAndGetsItWhenItReadsAgain() throws {
        var configuration = BroadcastConfiguration()
        configuration.roomOptions["quotes"] = RoomOptions(conflate: true)
        let harness = try Harness(loops: 1, configuration: configuration)
        let keys = 20
        let membership = harness.on(0) { rooms, sink in
            _ = rooms.subscribe(fast, to: "quotes")
            let membership = rooms.subscribe(slow, to: "quotes")
            sink.stalled.insert(slow)  // it reads nothing: what it is sent stays queued
            return membership
        }
        // The first pass reaches the slow member (and queues); after that it is behind.
        for version in 0..<10 {
            harness.on(0) { rooms, _ in
                for symbol in 0..<keys { rooms.publish(quote(symbol, version), to: "quotes") }
            }
        }
        harness.settle()
        let held = harness.on(0) { rooms, _ in rooms.heldBack(for: slow, in: "quotes") }
        XCTAssertEqual(held.count, keys, "at most one pending message per key, and one for each")
        XCTAssertEqual(Set(held.values), Set((0..<keys).map { "S\($0)=9" }), "the newest of each key")

        // It reads again: within the pass, it gets the newest value of every key, in the room's order.
        let received = harness.on(0) { rooms, sink in
            sink.stalled.remove(slow)
            sink.received[slow]?.queued = 0
            rooms.memberDrained(slow, in: membership)
            return sink.received[slow]?.messages ?? []
        }
        XCTAssertEqual(received, (0..<keys).map { "S\($0)=9" })
        let fastReceived = harness.on(0) { _, sink in sink.received[fast]?.messages ?? [] }
        XCTAssertEqual(fastReceived, (0..<10).flatMap { version in (0..<keys).map { "S\($0)=\(version)" } }, "a member keeping up gets everything")
        let statistics = try XCTUnwrap(harness.broadcaster.statistics()["quotes"])
        XCTAssertEqual(statistics.conflated, 8 * keys, "the versions 1 to 8 of each key were replaced while waiting")
    }

    /// The room's backend lost it (a Redis restarted without its data) and the room starts over:
    /// what a member held back belongs to the old numbering and goes before anything of the new.
    func testHeldBackMessagesGoBeforeTheNumberingOfARoomThatStartedOver() throws {
        let (harness, backend) = try Harness.scripted(loops: 2) { $0.roomOptions["quotes"] = RoomOptions(conflate: true) }
        let away = 1 - harness.broadcaster.homeLoop(of: "quotes")
        harness.on(away) { rooms, sink in
            _ = rooms.subscribe(fast, to: "quotes")
            _ = rooms.subscribe(slow, to: "quotes")
            sink.stalled.insert(slow)
        }
        harness.settle()
        let numbered = { (sequence: UInt64, message: BroadcastMessage) in
            RoomBackendEvent.message(NumberedMessage(room: "quotes", sequence: sequence, message: message))
        }
        backend.send([.synchronized(room: "quotes", lastSequence: 0), numbered(1, quote(0, 0)), numbered(2, quote(1, 0))], for: "quotes")
        harness.settle()
        backend.send([numbered(3, quote(0, 1)), numbered(4, quote(1, 1))], for: "quotes")
        harness.settle()
        XCTAssertEqual(Set(harness.on(away) { rooms, _ in rooms.heldBack(for: slow, in: "quotes") }.values), ["S0=1", "S1=1"])
        harness.on(away) { _, sink in
            sink.stalled.remove(slow)
            sink.received[slow]?.queued = 0
        }
        backend.send([.reconnected, numbered(1, quote(2, 5)), .synchronized(room: "quotes", lastSequence: 1), numbered(2, quote(0, 5))],
                     for: "quotes")
        harness.settle()
        XCTAssertEqual(harness.on(1 - away) { rooms, _ in rooms.sequencing.startedOver }, 1)
        XCTAssertEqual(harness.on(away) { _, sink in sink.received[slow]?.messages }, ["S0=1", "S1=1", "S2=5", "S0=5"])
        XCTAssertEqual(harness.on(away) { _, sink in sink.received[fast]?.messages }, ["S0=0", "S1=0", "S0=1", "S1=1", "S2=5", "S0=5"])
    }

    func testNeverAnOlderValueAfterANewerOne() throws {
        let harness = try Harness(loops: 2)
        let home = harness.broadcaster.homeLoop(of: "ticker")
        let away = 1 - home
        let membership = harness.on(away) { rooms, sink in
            let membership = rooms.subscribe(slow, to: "ticker", options: SubscriptionOptions(conflate: true))
            sink.stalled.insert(slow)
            return membership
        }
        harness.settle()
        var seen: [String: Int] = [:]
        for round in 0..<30 {
            harness.on(home) { rooms, _ in
                for symbol in 0..<5 { rooms.publish(quote(symbol, round), to: "ticker") }
            }
            if round % 7 == 3 {  // it reads now and then
                harness.settle()
                let got = harness.on(away) { rooms, sink in
                    sink.stalled.remove(slow)
                    sink.received[slow]?.queued = 0
                    rooms.memberDrained(slow, in: membership)
                    let messages = sink.received[slow]?.messages ?? []
                    sink.received[slow]?.messages = []
                    sink.stalled.insert(slow)
                    return messages
                }
                for message in got {
                    let parts = message.dropFirst().split(separator: "=").map { Int($0)! }
                    XCTAssertGreaterThan(parts[1], seen[String(parts[0])] ?? -1, "an older value after a newer one: \(message)")
                    seen[String(parts[0])] = parts[1]
                }
            }
        }
    }

    func testVolatileMessagesSkipOnlyMembersThatAreBehind() throws {
        let harness = try Harness(loops: 1)
        harness.on(0) { rooms, sink in
            _ = rooms.subscribe(fast, to: "danmaku")
            _ = rooms.subscribe(slow, to: "danmaku")
            sink.stalled.insert(slow)
        }
        harness.on(0) { rooms, _ in rooms.publish(BroadcastMessage(text: "first"), to: "danmaku") }  // makes it behind
        for index in 0..<5 {
            harness.on(0) { rooms, _ in rooms.publish(BroadcastMessage(text: "v\(index)", isVolatile: true), to: "danmaku") }
        }
        harness.on(0) { rooms, _ in rooms.publish(BroadcastMessage(text: "last"), to: "danmaku") }
        harness.settle()
        let (fastGot, slowQueued) = harness.on(0) { _, sink in (sink.received[fast]?.messages ?? [], sink.received[slow]?.queued ?? 0) }
        XCTAssertEqual(fastGot, ["first", "v0", "v1", "v2", "v3", "v4", "last"])
        let statistics = try XCTUnwrap(harness.broadcaster.statistics()["danmaku"])
        XCTAssertEqual(statistics.volatileDropped, 5, "one drop per volatile message for the member behind")
        XCTAssertEqual(slowQueued, FrameSize.of("first") + FrameSize.of("last"), "the member behind was sent the others: first and last")
    }

    func testAPerKeyRateHoldsTheNewestBackUntilItsTurn() throws {
        let harness = try Harness(loops: 1)
        harness.on(0) { rooms, _ in _ = rooms.subscribe(slow, to: "fx", options: SubscriptionOptions(maxUpdatesPerKey: 10)) }
        let start = monotonicNanoseconds()
        for version in 0..<50 {
            harness.on(0) { rooms, _ in rooms.publish(quote(0, version), to: "fx") }
        }
        // The first goes at once; then at most one per 100 ms, the newest.
        XCTAssertTrue(waitUntil(seconds: 5) { harness.on(0) { _, sink in sink.received[slow]?.messages.last } == "S0=49" })
        let elapsed = monotonicNanoseconds() - start
        let got = harness.on(0) { _, sink in sink.received[slow]?.messages ?? [] }
        XCTAssertEqual(got.first, "S0=0")
        XCTAssertLessThanOrEqual(got.count, 1 + Int(elapsed / 100_000_000) + 1, "more than 10 a second: \(got)")
        XCTAssertEqual(got, got.sorted { Int($0.dropFirst(3))! < Int($1.dropFirst(3))! }, "in order")
    }
}

private enum FrameSize {
    static func of(_ text: String) -> Int { text.utf8.count + 2 }
}
