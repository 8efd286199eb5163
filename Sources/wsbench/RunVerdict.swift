/// Exit statuses, so CI can gate on a run.
enum ExitStatus {
    static let passed: Int32 = 0
    /// Loss, duplicates, reordering, a connection or protocol error; in ladder
    /// and step modes, no rung passed.
    static let failed: Int32 = 1
    static let usage: Int32 = 2
    /// The run could not start (address, threads, descriptors).
    static let cannotRun: Int32 = 3
}

extension RunResult {
    /// Why the run fails its gate; empty when it passes.
    var failures: [String] {
        var failures: [String] = []
        if interrupted { failures.append("interrupted") }
        if totals.established == 0 { failures.append("no connection was established") }
        if isLadder || isStep {
            // Overload is what a ladder or a step looks for: its losses are the answer, not a failure.
            if isLadder && highestKeptUpRate == nil { failures.append("no rate was kept up with") }
            if isStep && largestRoom == nil { failures.append("no room size stayed under the p95 limit") }
            return failures
        }
        if totals.connectFailures > 0 { failures.append("\(totals.connectFailures) connects failed") }
        if totals.handshakeFailures > 0 { failures.append("\(totals.handshakeFailures) handshakes failed") }
        if totals.unexpectedCloses > 0 { failures.append("\(totals.unexpectedCloses) connections closed unexpectedly") }
        if totals.protocolErrors > 0 { failures.append("\(totals.protocolErrors) protocol errors") }
        if !options.allowLoss {
            if totals.lost != 0 { failures.append("\(totals.lost) messages lost") }
            if totals.duplicated > 0 { failures.append("\(totals.duplicated) messages duplicated") }
            if totals.reordered > 0 { failures.append("\(totals.reordered) messages reordered") }
        }
        if let soak { failures += soak.verdict.failures }
        if options.scenario == .connect && totals.completedProbes < options.connections {
            failures.append("\(options.connections - totals.completedProbes) of \(options.connections) connections did not complete")
        }
        return failures
    }

    var exitStatus: Int32 { failures.isEmpty ? ExitStatus.passed : ExitStatus.failed }
}
