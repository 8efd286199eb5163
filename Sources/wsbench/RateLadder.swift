/// Broadcast publish rates one after another (`--rates`), or a search for
/// the highest one the server keeps up with (`--find-max`). A rung is kept
/// up with when nothing was lost, duplicated or reordered, no connection
/// failed, the publishers stayed on schedule and p99 stayed under 100 ms.
enum RateLadder {
    static let p99Limit: UInt64 = 100_000_000
    /// Publishers fall off schedule when a send waits this long, or when
    /// this much of their output is queued unsent.
    static let scheduleSlack: UInt64 = 100_000_000

    static func run(_ coordinator: BenchCoordinator, _ result: inout RunResult) {
        let options = coordinator.options
        if !options.rateLadder.isEmpty {
            for rate in options.rateLadder where !Interruption.requested {
                result.ladder.append(judge(coordinator.runWindow(rate: rate, label: "\(rate)/s"), options: options))
            }
        } else {
            findMax(coordinator, &result)
        }
        result.highestKeptUpRate = result.ladder.filter(\.passed).map(\.window.rate).max()
    }

    /// Doubles from 100/s until a rate is not kept up with, then halves the
    /// gap between the last good and the first bad rate three times.
    private static func findMax(_ coordinator: BenchCoordinator, _ result: inout RunResult) {
        let options = coordinator.options
        func attempt(_ rate: Int) -> Bool {
            guard !Interruption.requested else { return false }
            let verdict = judge(coordinator.runWindow(rate: rate, label: "\(rate)/s"), options: options)
            result.ladder.append(verdict)
            return verdict.passed
        }
        var good = 0
        var bad = 0
        var rate = 100
        for _ in 0..<24 {
            if attempt(rate) {
                good = rate
                rate *= 2
            } else {
                bad = rate
                break
            }
        }
        guard bad > 0 else { return }
        for _ in 0..<3 where bad - good > max(1, good / 20) {
            let middle = (good + bad) / 2
            if attempt(middle) { good = middle } else { bad = middle }
        }
    }

    static func judge(_ window: WindowResult, options: BenchOptions) -> RungVerdict {
        var reasons: [String] = []
        if window.lost != 0 { reasons.append("lost \(window.lost)") }
        if window.duplicated != 0 { reasons.append("duplicated \(window.duplicated)") }
        if window.reordered != 0 { reasons.append("reordered \(window.reordered)") }
        if window.errors != 0 { reasons.append("\(window.errors) connection errors") }
        if let ticker = window.ticker { reasons += ticker.counters.violations }
        let p99 = window.latency.percentile(99)
        if window.latency.count == 0 {
            reasons.append("nothing received")
        } else if p99 >= p99Limit {
            reasons.append("p99 \(Format.duration(p99)) ≥ \(Format.duration(p99Limit))")
        }
        let publisherRate = Double(window.rate) / Double(max(1, options.publishers))
        let allowedBacklog = max(64 * 1024, Int(publisherRate * Double(options.payloadSize + 14) * Double(scheduleSlack) / 1e9))
        if window.maxSendLag >= scheduleSlack || window.maxPublisherBacklog > allowedBacklog {
            reasons.append("publishers behind schedule (lag \(Format.duration(window.maxSendLag)), "
                + "\(window.maxPublisherBacklog) bytes queued)")
        }
        return RungVerdict(window: window, passed: reasons.isEmpty, reason: reasons.joined(separator: ", "))
    }
}
