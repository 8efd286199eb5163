/// One reading of a soak (`--soak`), taken every `--sample-interval`.
struct SoakSample: Sendable, Equatable {
    /// Since measuring began.
    var elapsedNanoseconds: UInt64
    /// Open connections (wsbench's side).
    var openConnections: Int
    /// Messages (deliveries) that arrived during this interval.
    var received: UInt64
    /// Totals since the run began.
    var lost: Int64
    var errors: Int
    /// Latency of what arrived during this interval; nil when nothing did.
    var p50Nanoseconds: UInt64?
    var p99Nanoseconds: UInt64?
    var maxNanoseconds: UInt64?
    var server: ProcessUsage?
    var client: ProcessUsage

    var elapsedSeconds: Double { Double(elapsedNanoseconds) / 1e9 }
}
