import Broadcast
import Reactor
import Synchronization
import XCTest

final class HistoryTests: XCTestCase {
    func testRejoinWithLastSequenceGetsExactlyWhatItMissedInOrder() throws {
        let harness = try Harness(loops: 2)
        let steady = ConnectionID(slot: 1, generation: 1)
        let returning = ConnectionID(slot: 2, generation: 1)
        let home = harness.broadcaster.homeLoop(of: "chat")
        let away = 1 - home
        let first = harness.on(away) { rooms, _ in
            (rooms.subscribe(steady, to: "chat"), rooms.subscribe(returning, to: "chat")).1
        }
        harness.settle()
        for index in 1...5 { harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "m\(index)"), to: "chat") } }
        harness.settle()
        // The returning subscriber saw up to m3 (sequence 3), then dropped abruptly.
        harness.on(away) { rooms, sink in
            rooms.unsubscribe(returning, first)
            sink.received[returning] = nil
        }
        for index in 6...8 { harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "m\(index)"), to: "chat") } }
        let outcome = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        harness.on(away) { rooms, _ in
            _ = rooms.subscribe(returning, to: "chat", resumeAfter: 3) { result in outcome.withLock { $0 = result } }
        }
        // Publishing goes on while the resume is in flight.
        for index in 9...10 { harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "m\(index)"), to: "chat") } }
        harness.settle()
        XCTAssertTrue(waitUntil { outcome.withLock { $0 } != nil })
        XCTAssertEqual(outcome.withLock { $0 }, .resumed(replayed: 5, lastSequence: 8))
        let received = harness.on(away) { _, sink in sink.received.mapValues(\.messages) }
        XCTAssertEqual(received[returning], (4...10).map { "m\($0)" })
        XCTAssertEqual(received[steady], (1...10).map { "m\($0)" })
        XCTAssertEqual(harness.on(home) { rooms, _ in rooms.lastSequence(of: "chat") }, 10)
    }

    func testAResumeOnTheHomeLoopInThePassThatPublishesMissesNothing() throws {
        let harness = try Harness(loops: 2)
        let home = harness.broadcaster.homeLoop(of: "ticker")
        let steady = ConnectionID(slot: 1, generation: 1)
        let returning = ConnectionID(slot: 2, generation: 1)
        harness.on(home) { rooms, _ in _ = rooms.subscribe(steady, to: "ticker") }
        for index in 1...3 { harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "m\(index)"), to: "ticker") } }
        harness.settle()
        // One pass of the home loop: a long-poll that has seen m3 resumes, then m4 is published in
        // the same pass. m4 must reach it once: from the pass's batch or from history, not neither.
        let outcome = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        harness.on(home) { rooms, _ in
            _ = rooms.subscribe(returning, to: "ticker", resumeAfter: 3) { result in outcome.withLock { $0 = result } }
            rooms.publish(BroadcastMessage(text: "m4"), to: "ticker")
        }
        harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "m5"), to: "ticker") }
        harness.settle()
        XCTAssertNotNil(outcome.withLock { $0 })
        let received = harness.on(home) { _, sink in sink.received.mapValues(\.messages) }
        XCTAssertEqual(received[returning], ["m4", "m5"])
        XCTAssertEqual(received[steady], (1...5).map { "m\($0)" })
    }

    func testAGapOlderThanTheHistoryIsReportedPlainly() throws {
        var configuration = BroadcastConfiguration()
        configuration.historyCount = 4
        let harness = try Harness(loops: 1, configuration: configuration)
        for index in 1...10 { harness.on(0) { rooms, _ in rooms.publish(BroadcastMessage(text: "m\(index)"), to: "news") } }
        let outcome = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        let late = ConnectionID(slot: 7, generation: 1)
        harness.on(0) { rooms, _ in
            _ = rooms.subscribe(late, to: "news", resumeAfter: 2) { result in outcome.withLock { $0 = result } }
        }
        harness.settle()
        harness.on(0) { rooms, _ in rooms.publish(BroadcastMessage(text: "m11"), to: "news") }
        harness.settle()
        XCTAssertEqual(outcome.withLock { $0 }, .gapTooOld(oldestAvailable: 7, lastSequence: 10))
        XCTAssertEqual(harness.on(0) { _, sink in sink.received[late]?.messages }, ["m11"])
    }

    func testAMessageLargerThanTheHistoryIsNotKept() throws {
        var configuration = BroadcastConfiguration()
        configuration.historyBytes = 1 << 16
        let harness = try Harness(loops: 1, configuration: configuration)
        harness.on(0) { rooms, _ in rooms.publish(BroadcastMessage(text: "small"), to: "big") }
        harness.on(0) { rooms, _ in rooms.publish(BroadcastMessage(text: String(repeating: "x", count: 1 << 17)), to: "big") }
        harness.settle()
        let outcome = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        harness.on(0) { rooms, _ in
            _ = rooms.subscribe(ConnectionID(slot: 3, generation: 1), to: "big", resumeAfter: 0) { result in outcome.withLock { $0 = result } }
        }
        harness.settle()
        // Keeping the 128 KiB message would have let one message pin memory past the bound; it, and what came before, is gone.
        XCTAssertEqual(outcome.withLock { $0 }, .gapTooOld(oldestAvailable: nil, lastSequence: 2))
    }

    func testRoomsNobodyUsesAreForgottenAndComeBackFresh() throws {
        var configuration = BroadcastConfiguration()
        configuration.idleRoomTimeout = .milliseconds(100)
        let harness = try Harness(loops: 2, configuration: configuration)
        let home = harness.broadcaster.homeLoop(of: "passing")
        let away = 1 - home
        let visitor = ConnectionID(slot: 1, generation: 1), resident = ConnectionID(slot: 2, generation: 1)
        let membership = harness.on(away) { rooms, _ in rooms.subscribe(visitor, to: "passing") }
        harness.on(away) { rooms, _ in _ = rooms.subscribe(resident, to: "kept") }
        for index in 1...3 { harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "m\(index)"), to: "passing") } }
        harness.settle()
        harness.on(away) { rooms, _ in rooms.unsubscribe(visitor, membership) }
        let known = { (loop: Int) in harness.on(loop) { rooms, _ in Set(rooms.localStatistics().keys) } }
        XCTAssertTrue(waitUntil { !known(home).contains("passing") && !known(away).contains("passing") },
                      "forgotten on both loops: \(known(home)), \(known(away))")
        XCTAssertTrue(known(away).contains("kept"), "a room with a member stays")
        // It comes back as new: its sequence starts again, and a member gets what is published.
        harness.on(away) { rooms, _ in _ = rooms.subscribe(visitor, to: "passing") }
        harness.settle()
        harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "again"), to: "passing") }
        harness.settle()
        XCTAssertEqual(harness.on(home) { rooms, _ in rooms.lastSequence(of: "passing") }, 1)
        XCTAssertEqual(harness.on(away) { _, sink in sink.received[visitor]?.messages }, ["m1", "m2", "m3", "again"])
    }

    func testMembershipAfterJoinsLeavesAndReuse() throws {
        let harness = try Harness(loops: 2)
        let a = ConnectionID(slot: 1, generation: 1), b = ConnectionID(slot: 2, generation: 1), c = ConnectionID(slot: 3, generation: 1)
        let memberships = harness.on(0) { rooms, _ in [a, b, c].map { rooms.subscribe($0, to: "lobby") } }
        harness.on(1) { rooms, _ in _ = rooms.subscribe(a, to: "lobby") }  // same slot number, other loop: another subscriber
        XCTAssertEqual(Set(harness.broadcaster.members(of: "lobby")), [
            SubscriberID(loop: 0, connection: a), SubscriberID(loop: 0, connection: b),
            SubscriberID(loop: 0, connection: c), SubscriberID(loop: 1, connection: a),
        ])
        harness.on(0) { rooms, _ in rooms.unsubscribe(b, memberships[1]) }
        // A stale membership (already left) does nothing.
        harness.on(0) { rooms, _ in rooms.unsubscribe(b, memberships[1]) }
        let d = ConnectionID(slot: 2, generation: 2)  // b's slot, reused by a new connection
        harness.on(0) { rooms, _ in _ = rooms.subscribe(d, to: "lobby") }
        harness.on(0) { rooms, _ in rooms.unsubscribe(b, memberships[1]) }
        XCTAssertEqual(harness.broadcaster.members(of: "lobby").count, 4)
        XCTAssertTrue(harness.broadcaster.members(of: "lobby").contains(SubscriberID(loop: 0, connection: d)))
        XCTAssertEqual(harness.broadcaster.rooms(), ["lobby": 4])
        harness.on(0) { rooms, _ in
            rooms.unsubscribe(a, memberships[0])
            rooms.unsubscribe(c, memberships[2])
        }
        XCTAssertEqual(harness.broadcaster.rooms(), ["lobby": 2])
    }
}
