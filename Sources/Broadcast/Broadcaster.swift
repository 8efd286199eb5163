import Reactor
import Synchronization

/// Rooms across a group of loops: one `LoopBroadcaster` per loop, each
/// room sequenced by its home loop. Create it before connections arrive and
/// use each loop's part (`part(on:)`) only on that loop.
public final class Broadcaster: Sendable {
    public let group: EventLoopGroup
    public let configuration: BroadcastConfiguration
    /// The wire formats messages are encoded in, each by its encoder.
    public let formats: WireFormatRegistry
    /// Where rooms are numbered (`configuration.backend`).
    public let backend: any RoomBackend
    /// Drawn at random (64 bits) when the broadcaster is made. Subscriber ids (and the server's
    /// session ids) are alike on every server, and again after a restart: this tells whose an id
    /// is when it travels (in a client's resume, in a message through Redis), so that one of
    /// another server never names a subscriber here.
    public let bootID = UInt64.random(in: .min ... .max)
    let loopCount: Int
    private let registry = PartRegistry()
    /// Publishes handed to a backend that numbers elsewhere, not yet answered with a failure nor
    /// appended by their room's home loop here (see `publishesInFlight`).
    let backendPublishes = Atomic<Int>(0)

    public init(group: EventLoopGroup, configuration: BroadcastConfiguration = BroadcastConfiguration(),
                formats: WireFormatRegistry = WireFormatRegistry()) {
        self.group = group
        self.configuration = configuration
        self.formats = formats
        backend = configuration.backend
        loopCount = group.loops.count
        let made = Mutex<[Int: LoopBound<LoopBroadcaster>]>([:])
        group.onEveryLoop { loop in
            let part = LoopBroadcaster(loop: loop, group: self, configuration: configuration)
            made.withLock { $0[loop.index] = LoopBound(part, loop: loop) }
        }
        registry.parts = made.withLock { parts in (0..<loopCount).map { parts[$0]! } }
        backend.attach(to: self)
    }

    /// Publishes handed to a backend that numbers elsewhere (Redis) and not yet back: neither
    /// failed, nor numbered and appended to their room here, for its members (always 0 when rooms
    /// are numbered in this process). A graceful shutdown waits for it to be 0 before it closes
    /// connections, so a message accepted before it began reaches the members first. Any thread.
    public var publishesInFlight: Int { backendPublishes.load(ordering: .relaxed) }

    /// The broadcaster's part on `loop`; use it there only.
    public func part(on loop: EventLoop) -> LoopBroadcaster { registry.parts[loop.index].value }

    /// The loop that sequences `room`: a stable hash of its name (FNV-1a).
    public func homeLoop(of room: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in room.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(loopCount))
    }

    /// Runs `body` with the part on loop `index`, on that loop.
    func post(to index: Int, _ body: @escaping @Sendable (LoopBroadcaster) -> Void) {
        let part = registry.parts[index]
        part.loop.execute { body(part.value) }
    }

    /// Publishes from any thread (a backend feeding a ticker, say). `completion` runs on the room's home loop.
    public func publish(_ message: BroadcastMessage, to room: String, excluding exclusion: Exclusion = Exclusion(),
                        completion: PublishCompletion? = nil) {
        post(to: homeLoop(of: room)) { $0.publish(message, to: room, excluding: exclusion, completion: completion) }
    }

    /// For a backend that numbers rooms elsewhere: hands `events` to loop `index` (the home loop
    /// of their rooms, `homeLoop(of:)`), which handles them in order. From any thread.
    public func handle(_ events: [RoomBackendEvent], onLoop index: Int) {
        post(to: index) { $0.handle(events) }
    }

    /// Runs `body` with every loop's part, on that loop, and hands what they returned (by loop
    /// index) to `then`, on the loop that answered last. Never waits: usable from a loop.
    public func gather<Value: Sendable>(_ body: @escaping @Sendable (LoopBroadcaster) -> Value,
                                        then: @escaping @Sendable ([Value]) -> Void) {
        let registry = registry
        let count = loopCount
        let gathered = Mutex<[Int: Value]>([:])
        for index in 0..<count {
            let part = registry.parts[index]
            part.loop.execute {
                let value = body(part.value)
                let all = gathered.withLock { results -> [Value]? in
                    results[index] = value
                    return results.count == count ? (0..<count).map { results[$0]! } : nil
                }
                if let all { then(all) }
            }
        }
    }

    /// Sets what every member of `room` gets (conflation), on every loop,
    /// from any thread; it holds for the room from then on, also after it is
    /// forgotten and made again.
    public func setOptions(_ options: RoomOptions, for room: String) {
        for index in 0..<loopCount {
            post(to: index) { $0.setOptions(options, for: room) }
        }
    }

    /// The part on the calling thread's loop, when it is one of the group's.
    public var currentPart: LoopBroadcaster? {
        group.loops.first(where: \.inEventLoop).map { registry.parts[$0.index].value }
    }

    /// Runs `body` with every loop's part, on that loop, and gathers what it
    /// returns, by loop index. Unlike `statistics()` it does not block, so a
    /// task on a loop can await it.
    public func collect<Value: Sendable>(_ body: @escaping @Sendable (LoopBroadcaster) -> Value) async -> [Value] {
        await withCheckedContinuation { continuation in
            gather(body) { continuation.resume(returning: $0) }
        }
    }

    /// Counters per room, summed over every loop. Waits for the loops.
    public func statistics() -> [String: RoomStatistics] {
        let total = Mutex<[String: RoomStatistics]>([:])
        let registry = registry
        group.onEveryLoop { loop in
            let local = registry.parts[loop.index].value.localStatistics()
            total.withLock { sums in
                for (room, counters) in local { sums[room, default: RoomStatistics()].add(counters) }
            }
        }
        return total.withLock { $0 }
    }

    /// Every room with members, and how many. Waits for the loops.
    public func rooms() -> [String: Int] {
        statistics().filter { $0.value.subscribers > 0 }.mapValues(\.subscribers)
    }

    /// The members of `room` on every loop. Waits for the loops.
    public func members(of room: String) -> [SubscriberID] {
        let found = Mutex<[SubscriberID]>([])
        let registry = registry
        group.onEveryLoop { loop in
            let local = registry.parts[loop.index].value.localMembers(of: room)
            found.withLock { $0 += local.map { SubscriberID(loop: loop.index, connection: $0) } }
        }
        return found.withLock { $0 }
    }
}

/// The per-loop parts, written once while the broadcaster is created (before
/// anything can read them) and only read afterwards.
final class PartRegistry: @unchecked Sendable {
    var parts: [LoopBound<LoopBroadcaster>] = []
}
