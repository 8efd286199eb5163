import Reactor

/// How a member wants a room's messages when it cannot take them all: for a
/// stock ticker on a slow phone, the latest quote of each symbol rather than
/// a closed socket or a random hole.
public struct SubscriptionOptions: Sendable, Equatable {
    /// While the member is behind, a keyed message still waiting is replaced
    /// by a newer one with the same key (the room's order kept among what
    /// remains), so what it holds is bounded by the number of keys.
    public var conflate = false
    /// At most this many updates a second per key; a newer one waits its
    /// turn, replacing any older one still waiting (so the latest value is
    /// the one that goes). Unkeyed messages are not limited.
    public var maxUpdatesPerKey: Double?

    public init(conflate: Bool = false, maxUpdatesPerKey: Double? = nil) {
        precondition(maxUpdatesPerKey.map { $0 > 0 && $0.isFinite } ?? true, "maxUpdatesPerKey must be a positive number")
        self.conflate = conflate
        self.maxUpdatesPerKey = maxUpdatesPerKey
    }

    /// Nothing asked for beyond what every member gets.
    public var isDefault: Bool { !conflate && maxUpdatesPerKey == nil }

    /// Nanoseconds between two updates of one key; 0 without a limit.
    var keyInterval: UInt64 { maxUpdatesPerKey.map { UInt64(1e9 / $0) } ?? 0 }
}

/// What every member of a room gets (set with `Broadcaster.setOptions(_:for:)`).
public struct RoomOptions: Sendable, Equatable {
    /// Every member conflates keyed messages while it is behind (see `SubscriptionOptions.conflate`).
    public var conflate = false

    public init(conflate: Bool = false) { self.conflate = conflate }
}

/// A member's messages held back in one room: the newest per key, while it
/// is behind or its per-key rate does not allow them yet. Made for a member
/// the first time it holds one back; its entries refer to the shared
/// encodings (no copies).
final class MemberBacklog {
    struct Entry {
        let sequence: UInt64
        /// Keeps the bytes alive while they wait.
        let encoding: Encoding
        let start: Int
        let end: Int
    }

    /// The format its member is sent (what finds its sink).
    let format: WireFormat
    /// The newest waiting message of each key.
    var entries: [String: Entry] = [:]
    /// When each key was last sent (only with a per-key rate).
    var lastSent: [String: UInt64] = [:]

    init(format: WireFormat) { self.format = format }

    var isEmpty: Bool { entries.isEmpty }
}
