/// A connection's flood limit: a token bucket of `burst` events, refilled
/// at `rate` a second. Each event takes one; with none left it is refused.
struct FloodLimit {
    private let rate: UInt64
    private let burst: UInt64
    /// Tokens, in billionths, so the refill needs no floating point.
    private var tokens: UInt64
    private var updated: UInt64

    /// `rate` 0: no limit.
    init(rate: Int, burst: Int, now: UInt64) {
        self.rate = UInt64(max(0, rate))
        self.burst = UInt64(max(1, burst))
        tokens = self.burst * 1_000_000_000
        updated = now
    }

    /// Takes a token at `now` (monotonic nanoseconds); false when none is left.
    mutating func allow(now: UInt64) -> Bool {
        guard rate > 0 else { return true }
        let elapsed = now &- updated
        updated = now
        tokens = min(burst * 1_000_000_000, tokens &+ min(elapsed, burst * 1_000_000_000) * rate)
        guard tokens >= 1_000_000_000 else { return false }
        tokens -= 1_000_000_000
        return true
    }
}
