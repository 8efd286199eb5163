import Glibc

/// Nanoseconds on CLOCK_MONOTONIC: immune to wall-clock steps, cheap (vDSO).

public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

extension Duration {
    /// The duration in nanoseconds, as the loop's timers take it: negative
    /// ones are 0, ones too long for a UInt64 (585 years) the largest.
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = UInt64(max(seconds, 0)).multipliedReportingOverflow(by: 1_000_000_000)
        let (total, carry) = whole.addingReportingOverflow(UInt64(max(attoseconds, 0) / 1_000_000_000))
        return overflow || carry ? .max : total
    }
}
