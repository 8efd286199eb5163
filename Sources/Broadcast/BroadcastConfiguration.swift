/// What a subscriber past its cap gets.
public enum SlowSubscriberPolicy: Sendable, Equatable {
    /// Close it with 1008 (after what is already queued); the default.
    case close
    /// Skip messages for it until its queue is back under the cap, counting them as dropped.
    case skip
}

/// The broadcaster's limits. Every default is listed in the README.
public struct BroadcastConfiguration: Sendable {
    /// Bytes a subscriber may have queued (written, not yet taken by the kernel) before the policy applies.
    public var maxQueuedBytes = 1 << 20
    public var slowSubscriberPolicy = SlowSubscriberPolicy.close
    /// Messages kept per room for replay to subscribers that rejoin.
    public var historyCount = 1024
    /// Encoded bytes kept per room for replay.
    public var historyBytes = 1 << 20
    /// A batch (the messages of one room published in one loop pass, encoded
    /// back to back) is sealed early once it holds this many bytes.
    public var batchCapacity = 64 * 1024
    /// A room nobody is in, and nothing was published to, for this long is
    /// forgotten, history and counters with it (checked every half of it),
    /// so rooms that clients invent do not pile up. Zero keeps every room.
    public var idleRoomTimeout: Duration = .seconds(300)
    /// Options of rooms known before start (`Broadcaster.setOptions` sets them later).
    public var roomOptions: [String: RoomOptions] = [:]
    /// Where rooms are numbered and how they reach other processes; the default is this process alone.
    public var backend: any RoomBackend = LocalRoomBackend()
    /// With a backend that numbers elsewhere: messages a room's home loop holds above a gap
    /// while it fetches what is missing; past it, the gap is given up (counted as missed).
    public var maxHeldMessages = 10_000

    public init() {}
}
