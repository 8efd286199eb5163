// Storage of parsed heads kept for the next parse: in a handshake storm each
// connection's head is let go as soon as its upgrade is answered.

/// Keeps the storage of heads nothing holds any more, for the next head
/// parsed with it (`HTTPHeadParser.parse(_:reusing:)`): with one per event
/// loop, an upgrade parses its head without allocating once the loop is warm.
/// A head the application kept (a route that stored its request) keeps its
/// storage; only unshared storage comes back. For one thread at a time.
public final class HTTPHeadRecycler {
    /// Storage kept at most: a loop parses heads one at a time.
    static let keptLimit = 4
    /// Storage is made at least this large (16-byte slots: 2 KiB) so the next
    /// head fits it: a browser's upgrade is some 600 bytes and 15 fields.
    /// Larger storage (a head with long cookies) is not kept.
    static let keptSlotCount = 128

    // One thread, and no access overlaps another: unchecked, as a run-time
    // exclusivity check per access cost more than the allocation saved.
    @exclusivity(unchecked) private var kept: [HTTPHeadStorage] = []

    public init() {
        kept.reserveCapacity(Self.keptLimit)
    }

    /// Storage of at least `slots`: the last kept, when it is large enough.
    func take(slots: Int) -> HTTPHeadStorage? {
        guard let last = kept.last, last.slotCount >= slots else { return nil }
        return kept.removeLast()
    }

    /// Takes `head` back; its storage is kept when nothing else holds it.
    public func recycle(_ head: consuming HTTPRequestHead) {
        guard kept.count < Self.keptLimit, let storage = head.unsharedStorage(),
              storage.slotCount == Self.keptSlotCount else { return }
        kept.append(storage)
    }

    /// How many are kept (tests).
    var keptCount: Int { kept.count }
}
