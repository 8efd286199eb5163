/// When to try again after the connection to Redis is lost or a connect
/// fails: exponential backoff with jitter, bounded above.
///
/// The n-th attempt of an outage waits `min(maxDelay, initialDelay · 2^(n-1))`,
/// of which the `jitter` fraction is random, so that nodes which lost Redis
/// together do not all come back in the same millisecond. With the defaults:
/// 50–100 ms, 100–200 ms, 200–400 ms, … then 2.5–5 s from the seventh
/// attempt on, for as long as Redis stays away (or `maxAttempts`).
public struct RedisReconnectPolicy: Sendable, Equatable {
    public var initialDelay: Duration = .milliseconds(100)
    /// The bound on any one wait.
    public var maxDelay: Duration = .seconds(5)
    /// The random share of each wait, 0 (none) to 1 (anywhere from 0 to the delay).
    public var jitter: Double = 0.5
    /// Attempts per outage before the client gives up and closes; nil: never gives up.
    public var maxAttempts: Int? = nil

    public init(initialDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5), jitter: Double = 0.5, maxAttempts: Int? = nil) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.maxAttempts = maxAttempts
    }

    /// The wait before attempt `attempt` (1 for the first after a loss), in
    /// nanoseconds; `random` is uniform in 0..<1.
    public func delay(beforeAttempt attempt: Int, random: Double) -> UInt64 {
        let cap = maxDelay.nanoseconds
        var delay = min(initialDelay.nanoseconds, cap)
        var doublings = max(attempt - 1, 0)
        while doublings > 0 && delay < cap {
            delay = delay > cap / 2 ? cap : delay * 2
            doublings -= 1
        }
        let share = min(max(jitter, 0), 1)
        let fixed = Double(delay) * (1 - share)
        let randomPart = Double(delay) * share * min(max(random, 0), 1)
        return min(UInt64(fixed + randomPart), delay)
    }
}
