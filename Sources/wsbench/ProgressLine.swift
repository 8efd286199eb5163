import Reactor

/// The live line on stderr, once a second: what the last second looked like.
final class ProgressLine {
    private let scenario: Scenario
    private let started = monotonicNanoseconds()
    private var previous = LoopStatistics()
    private var previousTime = monotonicNanoseconds()
    private var previousCPU = processCPUSeconds()

    init(scenario: Scenario) {
        self.scenario = scenario
    }

    /// `statistics` are the loops' merged counters now; their latency covers the last second.
    func show(phase: String, statistics: LoopStatistics, open: Int) {
        let now = monotonicNanoseconds()
        let cpu = processCPUSeconds()
        let seconds = max(Double(now - previousTime) / 1e9, 1e-3)
        let elapsed = Double(now - started) / 1e9
        var line = "wsbench " + Format.pad(Format.fixed(elapsed, 0), 4) + "s " + Format.padRight(phase, 9)
        line += " open " + Format.pad(String(open), 6)
        switch scenario {
        case .connect:
            let handshakes = Double(statistics.established - previous.established) / seconds
            line += "  handshakes/s " + Format.pad(Format.count(handshakes), 6)
            line += "  failed " + String(statistics.connectFailures + statistics.handshakeFailures)
        case .echo, .broadcast, .sse, .longpoll, .events:
            let sent = Double(statistics.sent &- previous.sent) / seconds
            let received = Double(statistics.received &- previous.received) / seconds
            line += "  sent/s " + Format.pad(Format.count(sent), 6)
            line += "  recv/s " + Format.pad(Format.count(received), 6)
            if statistics.latency.count > 0 {
                line += "  p50 " + Format.pad(Format.duration(statistics.latency.percentile(50)), 7)
                line += " p99 " + Format.pad(Format.duration(statistics.latency.percentile(99)), 7)
                line += " max " + Format.pad(Format.duration(statistics.latency.max), 7)
            }
            line += "  lost \(statistics.lost) dup \(statistics.duplicated) reord \(statistics.reordered)"
        }
        line += "  errors \(statistics.errorCount)"
        line += "  cpu " + Format.fixed((cpu - previousCPU) / seconds * 100, 0) + "%"
        StandardError.write(line)
        previous = statistics
        previousTime = now
        previousCPU = cpu
    }
}
