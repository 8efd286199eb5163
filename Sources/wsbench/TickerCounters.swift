import Histograms

/// The ticker scenario's counts that the other scenarios do not have. The
/// loop's usual counters (received, lost, duplicated, reordered, latency)
/// are the full-speed receivers'; these are the slow subscribers', and the
/// key checks of both.
struct TickerCounters: Sendable, Equatable {
    /// Updates a slow subscriber got (not counting repeats), and those it read while measuring.
    var slowReceived: UInt64 = 0
    var slowReceivedInWindow: UInt64 = 0
    /// Updates a slow subscriber never got: skipped in its publisher's
    /// sequence (conflated, or dropped), which is not loss for a slow one.
    var slowSkipped: UInt64 = 0
    /// A slow subscriber got an update again, or one older than an update it had got.
    var slowDuplicated: UInt64 = 0
    var slowReordered: UInt64 = 0
    /// Age of each update a slow subscriber read while measuring, when it read it:
    /// read time − the update's intended send time.
    var staleness = LatencyHistogram()
    /// Updates older than a value of their key the receiver already held, by group.
    var fastKeyRegressions: UInt64 = 0
    var slowKeyRegressions: UInt64 = 0
    /// After the drain: receiver × key pairs where the receiver did not hold the key's last published value.
    var fastKeysNotFinal: UInt64 = 0
    var slowKeysNotFinal: UInt64 = 0

    mutating func merge(_ other: TickerCounters) {
        slowReceived += other.slowReceived
        slowReceivedInWindow += other.slowReceivedInWindow
        slowSkipped += other.slowSkipped
        slowDuplicated += other.slowDuplicated
        slowReordered += other.slowReordered
        staleness.merge(other.staleness)
        fastKeyRegressions += other.fastKeyRegressions
        slowKeyRegressions += other.slowKeyRegressions
        fastKeysNotFinal += other.fastKeysNotFinal
        slowKeysNotFinal += other.slowKeysNotFinal
    }

    /// Violations of the ticker's promises beyond loss, duplicates and reordering of full-speed receivers.
    var violations: [String] {
        var found: [String] = []
        let regressions = fastKeyRegressions + slowKeyRegressions
        if regressions > 0 { found.append("\(regressions) updates older than a value of their key already received") }
        let notFinal = fastKeysNotFinal + slowKeysNotFinal
        if notFinal > 0 { found.append("\(notFinal) subscriber keys did not end at the last value published") }
        if slowDuplicated > 0 { found.append("\(slowDuplicated) updates repeated to slow subscribers") }
        if slowReordered > 0 { found.append("\(slowReordered) updates out of order to slow subscribers") }
        return found
    }

    /// The difference from an earlier reading (staleness aside: it is gathered apart, like latency).
    func since(_ earlier: TickerCounters) -> TickerCounters {
        var difference = TickerCounters()
        difference.slowReceived = slowReceived - earlier.slowReceived
        difference.slowReceivedInWindow = slowReceivedInWindow
        difference.slowSkipped = slowSkipped - earlier.slowSkipped
        difference.slowDuplicated = slowDuplicated - earlier.slowDuplicated
        difference.slowReordered = slowReordered - earlier.slowReordered
        difference.fastKeyRegressions = fastKeyRegressions - earlier.fastKeyRegressions
        difference.slowKeyRegressions = slowKeyRegressions - earlier.slowKeyRegressions
        difference.fastKeysNotFinal = fastKeysNotFinal - earlier.fastKeysNotFinal
        difference.slowKeysNotFinal = slowKeysNotFinal - earlier.slowKeysNotFinal
        return difference
    }
}

/// The ticker scenario's part of a measuring window: each group of
/// receivers apart, and what the server counted.
struct TickerWindow: Sendable {
    var keyCount: Int
    /// Full-speed receivers (publishers that hear others included) and slow subscribers, open in the window.
    var fastReceivers: Int
    var slowReceivers: Int
    /// Deliveries that arrived while measuring, per group (the slow ones' by the time they were read).
    var fastArrived: UInt64
    var slowArrived: UInt64
    /// The window's counts of the slow group and the key checks (`staleness` is the window's).
    var counters: TickerCounters
    /// The server's counts for the room over the window, from its /stats (nil when unreadable).
    var serverConflated: UInt64?
    var serverVolatileDropped: UInt64?
    /// The server's resident memory at the end of the measured span (with --server-pid).
    var serverResidentBytes: Int?
}
