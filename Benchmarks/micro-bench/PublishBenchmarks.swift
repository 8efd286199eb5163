import Broadcast
import Reactor
import Synchronization

// Fan-out: one message published to a room whose members all live on the publishing loop, and
// delivered to every one of them. One iteration is one publish fully delivered; per delivery is
// that divided by the room size (it includes one loop pass per publish, spread over the room).

extension Benchmark {
    static var publishBenchmarks: [Benchmark] {
        [1000, 10_000].map { members in
            Benchmark(
                name: "publish-\(members)-subscribers",
                operation: "publish a 64-byte text message to \(members) local subscribers and deliver it",
                itemsPerIteration: members, item: "delivery", gateIterations: members >= 10_000 ? 16 : 128,
                prepare: { publishWorkload(members: members) })
        }
    }
}

/// A 64-byte chat line.
private let message = BroadcastMessage(text: "user1234: 这条弹幕有六十四个字节吗? let us count: 64")

private func publishWorkload(members: Int) -> Workload {
    precondition(message.payload.count == 64, "the sample message is 64 bytes")
    let room = PublishedRoom(members: members)
    return Workload(run: { iterations in
        let delivered = room.publish(times: iterations)
        precondition(delivered == iterations * members, "a publish was not delivered to every member")
        return UInt64(delivered)
    }, tearDown: { room.group.shutdown() })
}

/// A room on a one-loop group with `members` subscribers on that loop, published to from the loop.
private final class PublishedRoom: Sendable {
    static let name = "bench-room"

    /// What lives on the loop.
    final class State {
        let part: LoopBroadcaster
        let sink: SubscriberTableSink

        init(part: LoopBroadcaster, sink: SubscriberTableSink) {
            self.part = part
            self.sink = sink
        }
    }

    let group: EventLoopGroup
    /// Held here: each loop's part refers back to it without owning it.
    private let broadcaster: Broadcaster
    private let state: LoopBound<State>
    /// The sink's delivery count at the end of the last `publish(times:)`, handed to the caller.
    private let deliveries = Atomic<Int>(0)

    init(members: Int) {
        group = try! EventLoopGroup(loopCount: 1)
        broadcaster = Broadcaster(group: group)
        let broadcaster = broadcaster
        let made = Mutex<LoopBound<State>?>(nil)
        group.onEveryLoop { loop in
            let state = State(part: broadcaster.part(on: loop), sink: SubscriberTableSink(subscriberCount: members))
            state.part.sink = state.sink
            made.withLock { $0 = LoopBound(state, loop: loop) }
        }
        state = made.withLock { $0! }
        // Fill the room's history to its cap before anyone joins (cheaply: nobody to deliver to), so
        // the measured publishes find it in its steady state, each one retiring the oldest entry.
        _ = publish(times: broadcaster.configuration.historyCount + 16)
        let state = state
        group.onEveryLoop { _ in
            let room = state.value
            for index in 0..<members { _ = room.part.subscribe(room.sink.id(of: index), to: Self.name) }
        }
        _ = publish(times: 1)  // the first delivery sizes what is sized lazily
    }

    /// Publishes `count` times, one publish per loop pass: the task publishes, the broadcaster
    /// delivers at the end of the pass (its pre-flush hook), and the task for the next publish,
    /// posted from this one, runs in the next pass. Returns the deliveries made.
    func publish(times count: Int) -> Int {
        let done = Semaphore()
        let start = deliveries.load(ordering: .relaxed)
        state.loop.execute { self.publish(remaining: count, done: done) }
        done.wait()
        return deliveries.load(ordering: .relaxed) - start
    }

    private func publish(remaining: Int, done: Semaphore) {
        let room = state.value
        guard remaining > 0 else {
            deliveries.store(room.sink.deliveries, ordering: .relaxed)
            done.signal()
            return
        }
        room.part.publish(message, to: Self.name)
        state.loop.execute { self.publish(remaining: remaining - 1, done: done) }
    }
}
