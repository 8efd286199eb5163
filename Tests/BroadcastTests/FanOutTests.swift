import Broadcast
import Reactor
import XCTest

final class FanOutTests: XCTestCase {
    /// 1,000 subscribers over all loops, 4 publishers on different loops,
    /// 10,000 messages: each subscriber gets every message exactly once, and
    /// all in one and the same order; each message is encoded exactly once.
    func testEveryMessageReachesEverySubscriberOnceInOneOrder() throws {
        let loops = 4
        let harness = try Harness(loops: loops)
        let subscribersPerLoop = 250
        for index in 0..<loops {
            harness.on(index) { rooms, _ in
                for slot in 0..<UInt32(subscribersPerLoop) {
                    _ = rooms.subscribe(ConnectionID(slot: slot, generation: 1), to: "danmaku")
                }
            }
        }
        harness.settle()  // every loop's interest has reached the room's home
        let perPublisher = 2_500
        let publishers = (0..<4).map { Thread(publisher: $0, loop: $0 % loops) }
        for publisher in publishers {
            let loop = harness.group.loops[publisher.loop]
            let rooms = harness.broadcaster
            loop.execute {
                // Bursts of 50 per loop pass, so batches hold several messages.
                @Sendable func burst(_ start: Int) {
                    for sequence in start..<min(start + 50, perPublisher) {
                        rooms.part(on: loop).publish(BroadcastMessage(text: "\(publisher.publisher):\(sequence)"), to: "danmaku")
                    }
                    if start + 50 < perPublisher { loop.execute { burst(start + 50) } }
                }
                burst(0)
            }
        }
        let total = perPublisher * publishers.count
        // 10 million deliveries, each parsed by the recording sink: seconds in a debug build, more on a busy machine.
        guard waitUntil(seconds: 90, { harness.broadcaster.statistics()["danmaku"]?.delivered == total * loops * subscribersPerLoop }) else {
            return XCTFail("delivered: \(harness.broadcaster.statistics()["danmaku"]?.delivered ?? 0) of \(total * loops * subscribersPerLoop)")
        }
        let statistics = try XCTUnwrap(harness.broadcaster.statistics()["danmaku"])
        XCTAssertEqual(statistics.published, total)
        XCTAssertEqual(statistics.encoded, total, "a message was encoded more than once")
        XCTAssertEqual(statistics.subscribers, loops * subscribersPerLoop)

        var reference: [String]?
        for index in 0..<loops {
            let lists = harness.on(index) { _, sink in sink.received.values.map(\.messages) }
            XCTAssertEqual(lists.count, subscribersPerLoop)
            for messages in lists {
                XCTAssertEqual(messages.count, total)
                if let reference {
                    XCTAssertTrue(messages == reference, "two subscribers saw different orders")
                } else {
                    reference = messages
                    XCTAssertEqual(Set(messages).count, total, "duplicates")
                    // Each publisher's messages keep their order.
                    var next = [Int](repeating: 0, count: publishers.count)
                    for message in messages {
                        let parts = message.split(separator: ":").map { Int($0)! }
                        XCTAssertEqual(parts[1], next[parts[0]], "publisher \(parts[0]) out of order")
                        next[parts[0]] = parts[1] + 1
                    }
                }
            }
        }
    }

    /// Batching: a caught-up subscriber gets one write per loop pass, not one per message.
    func testManyMessagesInOnePassLeaveInOneWrite() throws {
        let harness = try Harness(loops: 1)
        harness.on(0) { rooms, _ in _ = rooms.subscribe(ConnectionID(slot: 0, generation: 1), to: "ticker") }
        harness.on(0) { rooms, _ in
            for price in 0..<100 { rooms.publish(BroadcastMessage(text: "quote \(price)"), to: "ticker") }
        }
        harness.settle()
        let (calls, count) = harness.on(0) { _, sink in (sink.deliverCalls, sink.received.first?.value.messages.count ?? 0) }
        XCTAssertEqual(count, 100)
        XCTAssertEqual(calls, 1, "100 messages of one pass took \(calls) writes")
    }

    func testSenderExclusionAndSeveralRoomsReachEachMemberOnce() throws {
        let harness = try Harness(loops: 2)
        let sender = ConnectionID(slot: 1, generation: 1)
        let both = ConnectionID(slot: 2, generation: 1)
        let onlyB = ConnectionID(slot: 3, generation: 1)
        harness.on(0) { rooms, sink in
            for (member, names) in [(sender, ["a"]), (both, ["a", "b"]), (onlyB, ["b"])] {
                for name in names {
                    let membership = rooms.subscribe(member, to: name)
                    sink.memberships[member, default: []].insert(membership.room)
                }
            }
        }
        harness.settle()
        harness.on(0) { rooms, _ in
            rooms.publish(BroadcastMessage(text: "to a, not me"), to: "a", excluding: Exclusion(subscriber: SubscriberID(loop: 0, connection: sender)))
            rooms.publish(BroadcastMessage(text: "to a and b"), to: ["a", "b"])
        }
        harness.settle()
        let received = harness.on(0) { _, sink in sink.received.mapValues(\.messages) }
        XCTAssertEqual(received[sender], ["to a and b"])
        XCTAssertEqual(received[both], ["to a, not me", "to a and b"])
        XCTAssertEqual(received[onlyB], ["to a and b"])
    }

    func testSlowSubscriberIsClosedWhileOthersKeepReceiving() throws {
        var configuration = BroadcastConfiguration()
        configuration.maxQueuedBytes = 10_000
        try checkSlowSubscriber(configuration)
    }

    func testSlowSubscriberIsSkippedWithTheSkipPolicy() throws {
        var configuration = BroadcastConfiguration()
        configuration.maxQueuedBytes = 10_000
        configuration.slowSubscriberPolicy = .skip
        try checkSlowSubscriber(configuration)
    }

    private func checkSlowSubscriber(_ configuration: BroadcastConfiguration) throws {
        let harness = try Harness(loops: 2, configuration: configuration)
        let slow = ConnectionID(slot: 0, generation: 1)
        for index in 0..<2 {
            harness.on(index) { rooms, sink in
                if index == 0 { sink.stalled.insert(slow) }
                for slot in 0..<UInt32(10) { _ = rooms.subscribe(ConnectionID(slot: slot, generation: 1), to: "live") }
            }
        }
        harness.settle()
        let payload = String(repeating: "x", count: 100)
        for round in 0..<50 {
            harness.on(1) { rooms, _ in
                for index in 0..<10 { rooms.publish(BroadcastMessage(text: "\(round).\(index) \(payload)"), to: "live") }
            }
        }
        harness.settle()
        let statistics = try XCTUnwrap(harness.broadcaster.statistics()["live"])
        let (evicted, slowQueued) = harness.on(0) { _, sink in (sink.evicted, sink.received[slow]?.queued ?? 0) }
        for index in 0..<2 {
            let counts = harness.on(index) { _, sink in sink.received.filter { $0.key != slow || index != 0 }.map(\.value.messages.count) }
            XCTAssertEqual(counts.count, 10 - (index == 0 ? 1 : 0))
            XCTAssertTrue(counts.allSatisfy { $0 == 500 }, "a healthy subscriber lost messages: \(counts)")
        }
        if configuration.slowSubscriberPolicy == .close {
            XCTAssertEqual(evicted.first, slow)
            XCTAssertGreaterThanOrEqual(statistics.evicted, 1)
            XCTAssertEqual(statistics.dropped, 0)
        } else {
            XCTAssertEqual(evicted, [])
            XCTAssertGreaterThan(statistics.dropped, 0)
            // Bounded: the cap is checked once per loop pass, so it can be passed by what one pass
            // brings (a few batches when the home loop ran ahead), never by what was published (60 KB).
            XCTAssertLessThanOrEqual(slowQueued, configuration.maxQueuedBytes + 20 * 10 * 120)
        }
    }

    private struct Thread: Sendable {
        let publisher: Int
        let loop: Int
    }
}

func waitUntil(seconds: Double = 20, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
    while monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
