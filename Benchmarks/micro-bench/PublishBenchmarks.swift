import Broadcast
import Reactor
import Synchronization

// Fan-out: one message published to a room whose members all live on the publishing loop, and
// delivered to every one of them. One iteration is one publish fully delivered; per delivery is
// that divided by the room size (it includes one loop pass per publish, spread over the room).
// The deflate room path: the same with every member in the permessage-deflate format, so each
// publish is one deflate of a 1 KiB ticker message and 1,000 deliveries of the compressed frame.

extension Benchmark {
    static var publishBenchmarks: [Benchmark] {
        [1000, 10_000].map { members in
            Benchmark(
                name: "publish-\(members)-subscribers",
                operation: "publish a 64-byte text message to \(members) local subscribers and deliver it",
                itemsPerIteration: members, item: "delivery", gateIterations: members >= 10_000 ? 16 : 128,
                prepare: { publishWorkload(members: members) })
        } + [
            Benchmark(
                name: "publish-keyed-1000-conflating-subscribers",
                operation: "publish a 64-byte keyed message to 1000 local subscribers that conflate, none behind, and deliver it",
                itemsPerIteration: 1000, item: "delivery", gateIterations: 128,
                prepare: conflatingPublishWorkload),
            Benchmark(
                name: "publish-1KiB-ticker-deflate-1000-subscribers",
                operation: "publish a 1 KiB JSON ticker message to 1000 local permessage-deflate subscribers: deflated once, delivered to all",
                bytesPerIteration: 1024, itemsPerIteration: 1000, item: "delivery", gateIterations: 32,
                prepare: deflatePublishWorkload),
        ]
    }
}

/// A 64-byte chat line.
private let message = BroadcastMessage(text: "user1234: 这条弹幕有六十四个字节吗? let us count: 64")

private func publishWorkload(members: Int) -> Workload {
    precondition(message.payload.count == 64, "the sample message is 64 bytes")
    return publishWorkload(PublishedRoom(members: members, messages: [message]))
}

/// Members that asked for conflation but keep up: what conflation costs a room when nobody is behind.
private func conflatingPublishWorkload() -> Workload {
    let keyed = BroadcastMessage(opcode: .text, payload: message.payload, key: "AAPL")
    return publishWorkload(PublishedRoom(members: 1000, messages: [keyed], options: SubscriptionOptions(conflate: true)))
}

private func deflatePublishWorkload() -> Workload {
    let messages = tickerMessages.map { BroadcastMessage(opcode: .text, payload: $0) }
    let room = PublishedRoom(members: 1000, messages: messages, deflate: true)
    return Workload(run: { iterations in
        let (before, delivered) = (room.deflated, room.publish(times: iterations))
        precondition(delivered == iterations * 1000, "a publish was not delivered to every member")
        precondition(room.deflated - before == iterations, "a publish was not deflated exactly once")
        return UInt64(delivered)
    }, tearDown: { room.group.shutdown() })
}

private func publishWorkload(_ room: PublishedRoom) -> Workload {
    Workload(run: { iterations in
        let delivered = room.publish(times: iterations)
        precondition(delivered == iterations * room.members, "a publish was not delivered to every member")
        return UInt64(delivered)
    }, tearDown: { room.group.shutdown() })
}

/// A room on a one-loop group with `members` subscribers on that loop (in the permessage-deflate
/// format with `deflate`; joined with `options`), published to from the loop, `messages` in turn (a power of two of them).
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
    let members: Int
    private let messages: [BroadcastMessage]
    /// Held here: each loop's part refers back to it without owning it.
    private let broadcaster: Broadcaster
    private let state: LoopBound<State>
    /// The sink's delivery count at the end of the last `publish(times:)`, handed to the caller.
    private let deliveries = Atomic<Int>(0)

    init(members: Int, messages: [BroadcastMessage], deflate: Bool = false, options: SubscriptionOptions = SubscriptionOptions()) {
        precondition(messages.count.nonzeroBitCount == 1, "a power of two of messages")
        self.members = members
        self.messages = messages
        group = try! EventLoopGroup(loopCount: 1, io: .epoll)  // the sinks are in memory: the backend is only the mailbox here
        var formats = WireFormatRegistry()
        let format = deflate ? formats.register(WebSocketDeflateEncoder()) : .webSocket
        broadcaster = Broadcaster(group: group, formats: formats)
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
            for index in 0..<members { _ = room.part.subscribe(room.sink.id(of: index), to: Self.name, format: format, options: options) }
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
        room.part.publish(messages[remaining & (messages.count - 1)], to: Self.name)
        state.loop.execute { self.publish(remaining: remaining - 1, done: done) }
    }

    /// The room's deflate count (waits for the loop).
    var deflated: Int { broadcaster.statistics()[Self.name]?.deflated ?? 0 }
}
