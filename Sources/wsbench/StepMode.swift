import Glibc

/// The websocket-shootout's question: how large can the room grow while
/// broadcast p95 stays under the limit? Subscribers are added `--step` at a
/// time, up to `-c`; each step measures one window. The first step that
/// misses the limit (or loses anything) ends the climb.
enum StepMode {
    static func run(_ coordinator: BenchCoordinator, _ result: inout RunResult) {
        let options = coordinator.options
        guard let step = options.stepSubscribers, let limit = options.p95LimitNanoseconds else { return }
        var requested = 0
        while requested < options.connections && !Interruption.requested {
            let added = min(step, options.connections - requested)
            requested += added
            coordinator.connect(added, perSecond: options.connectionsOpenedPerSecond, phase: "connect")
            usleep(100_000)
            let window = coordinator.runWindow(rate: options.messagesPerSecond, label: "room \(requested)")
            var reasons: [String] = []
            let p95 = window.latency.percentile(95)
            if window.latency.count == 0 { reasons.append("nothing received") }
            if p95 >= limit { reasons.append("p95 \(Format.duration(p95)) ≥ \(Format.duration(limit))") }
            if window.lost != 0 || window.duplicated != 0 || window.reordered != 0 {
                reasons.append("lost \(window.lost), duplicated \(window.duplicated), reordered \(window.reordered)")
            }
            if window.errors != 0 { reasons.append("\(window.errors) connection errors") }
            result.steps.append(RungVerdict(window: window, passed: reasons.isEmpty, reason: reasons.joined(separator: ", ")))
            if !reasons.isEmpty { break }
            result.largestRoom = window.roomSize
        }
    }
}
