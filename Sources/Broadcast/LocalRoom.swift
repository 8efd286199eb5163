import Reactor

/// Members of one format on one loop. A member that leaves leaves a hole
/// (reused later), so every other member's position, held by its
/// connection, stays valid.
struct MemberList {
    private(set) var members: [ConnectionID] = []
    private var holes: [UInt32] = []
    private(set) var count = 0
    static let hole = ConnectionID(slot: .max, generation: .max)

    mutating func add(_ member: ConnectionID) -> UInt32 {
        count += 1
        if let position = holes.popLast() {
            members[Int(position)] = member
            return position
        }
        members.append(member)
        return UInt32(members.count - 1)
    }

    /// Removes the member at `position` if it is still `member`.
    mutating func remove(_ member: ConnectionID, at position: UInt32) -> Bool {
        guard Int(position) < members.count, members[Int(position)] == member else { return false }
        members[Int(position)] = Self.hole
        holes.append(position)
        count -= 1
        if count == 0 {
            members.removeAll()
            holes.removeAll()
        }
        return true
    }
}

/// A room as one loop sees it: its members on this loop, and on the room's
/// home loop also its sequence, open batch and history.
final class LocalRoom {
    let name: String
    let index: UInt32
    let home: Int

    /// Members here, one list per wire format (by `WireFormat.index`).
    var lists: [MemberList]
    private(set) var memberCount = 0

    /// Members that asked to resume and must not get messages up to this sequence (usually empty).
    var floors: [ConnectionID: UInt64] = [:]
    /// Every member conflates keyed messages while behind (`RoomOptions.conflate`).
    var conflates = false
    /// Members that asked for more than the default (usually empty).
    var options: [ConnectionID: SubscriptionOptions] = [:]
    /// What members that are behind, or rate-limited, hold back (usually empty).
    var backlogs: [ConnectionID: MemberBacklog] = [:]

    /// Whether deliveries here look at each member's state: conflation,
    /// rates, held-back messages, or volatile messages in the batches.
    func needsMemberPolicy(for batches: [Batch]) -> Bool {
        conflates || !options.isEmpty || !backlogs.isEmpty || batches.contains { $0.hasVolatile }
    }
    /// Batches to deliver to this loop's members at the end of the pass.
    var pending: [Batch] = []

    // On the home loop only.
    var lastSequence: UInt64 = 0
    var builder: BatchBuilder?
    var history: History
    /// Other loops with members, to which sealed batches are posted.
    var remoteLoops: Set<Int> = []
    /// The formats some member uses somewhere: each message is encoded in these.
    var formats = WireFormats()

    var statistics = RoomStatistics()
    /// When anything last happened to the room here (monotonic nanoseconds).
    var lastActive: UInt64 = 0

    /// Nothing here needs the room: no member, no resume, nothing to deliver
    /// or seal, no other loop to send to.
    var isUnused: Bool {
        memberCount == 0 && floors.isEmpty && pending.isEmpty && builder == nil && remoteLoops.isEmpty
    }

    init(name: String, index: UInt32, home: Int, history: History, formatCount: Int) {
        self.name = name
        self.index = index
        self.home = home
        self.history = history
        lists = [MemberList](repeating: MemberList(), count: formatCount)
    }

    func add(_ member: ConnectionID, format: WireFormat) -> UInt32 {
        memberCount += 1
        return lists[format.index].add(member)
    }

    func remove(_ member: ConnectionID, format: WireFormat, at position: UInt32) -> Bool {
        guard lists[format.index].remove(member, at: position) else { return false }
        memberCount -= 1
        floors[member] = nil
        options[member] = nil
        backlogs[member] = nil
        return true
    }
}

/// A room's counters on one loop; summed over loops by `Broadcaster.statistics`.
public struct RoomStatistics: Sendable, Equatable {
    /// Messages published to the room (counted on its home loop).
    public var published = 0
    /// Messages encoded (once per message per wire format, on the home loop).
    public var encoded = 0
    /// Messages deflated for the room's permessage-deflate members (on the home loop): once per
    /// message, whatever their number; those sent plain (small, or not smaller) are not counted.
    public var deflated = 0
    /// Deliveries: one per message per member that was sent it.
    public var delivered = 0
    /// Messages skipped for slow subscribers (skip policy) or left out after a replay gap.
    public var dropped = 0
    /// Subscribers closed for going past their cap (close policy).
    public var evicted = 0
    /// Messages a member that was behind never got because a newer one with
    /// the same key replaced them (conflation, or a per-key rate).
    public var conflated = 0
    /// Volatile messages not sent to members that were behind.
    public var volatileDropped = 0
    /// Current members.
    public var subscribers = 0
    /// What the room's history holds now (counted on its home loop).
    public var historyMessages = 0
    public var historyBytes = 0

    public init() {}

    public mutating func add(_ other: RoomStatistics) {
        published += other.published
        encoded += other.encoded
        deflated += other.deflated
        delivered += other.delivered
        dropped += other.dropped
        evicted += other.evicted
        conflated += other.conflated
        volatileDropped += other.volatileDropped
        subscribers += other.subscribers
        historyMessages += other.historyMessages
        historyBytes += other.historyBytes
    }
}
