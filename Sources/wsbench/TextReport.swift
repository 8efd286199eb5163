import Histograms

/// The human table on stdout.
enum TextReport {
    static let percentiles: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9), ("p99.99", 99.99)]

    static func render(_ result: RunResult) -> String {
        let options = result.options
        let totals = result.totals
        var lines: [String] = []
        lines.append("wsbench \(options.scenario.rawValue) \(result.url)")
        var setup = "  \(options.connections) connections"
        if options.scenario == .broadcast {
            setup += " (\(options.publishers) publishing, all subscribed)"
        } else if options.scenario == .ticker {
            setup += " (\(options.publishers) publishing, all subscribed with conflate=1, \(options.slowSubscribers) reading at "
                + "\(Format.fixed(options.slowSpeed, 2))× the rate), \(options.keyCount) keys"
        } else if options.scenario.speaksEvents {
            setup += " (\(options.publishers) publishing, all subscribed, events sessions over WebSocket)"
        } else if options.scenario.mixesTransports {
            let others = options.connections - options.publishers - options.webSocketSubscribers
            setup += " (\(options.publishers) publishing over WebSocket, \(options.webSocketSubscribers) WebSocket subscribers, "
                + "\(others) \(options.scenario.subscriberTransport.name) subscribers)"
        }
        setup += ", \(options.threads) threads"
        if options.scenario != .connect {
            setup += ", \(options.payloadSize)-byte \(options.payload == .ticker ? "ticker " : "")messages, "
            setup += result.isLadder ? "rate ladder"
                : options.messagesPerSecond > 0 ? "open loop at \(options.messagesPerSecond)/s" : "closed loop"
            setup += ", \(Format.duration(options.durationNanoseconds)) measured after \(Format.duration(options.warmupNanoseconds)) warmup"
        }
        if !options.sourceAddresses.isEmpty { setup += ", from \(options.sourceAddresses.count) source addresses" }
        lines.append(setup)
        if let offer = options.deflate {
            lines.append("  permessage-deflate offered: \(offer.offers.map(\.description).joined(separator: ", "))")
            for (agreed, count) in totals.deflateAgreements.sorted(by: { $0.value > $1.value }) {
                lines.append("    agreed on \(count) connections: \(agreed)")
            }
        }
        lines.append("")

        lines.append("Connections   attempted \(totals.connectAttempts)  established \(totals.established)"
            + "  connect failed \(totals.connectFailures)  handshake failed \(totals.handshakeFailures)"
            + "  closed early \(totals.unexpectedCloses)")
        lines.append(percentileHeader("  "))
        lines.append(percentileRow("  connect   ", totals.connectTime))
        lines.append(percentileRow("  handshake ", totals.handshakeTime))
        if options.scenario == .connect {
            let seconds = result.connectSeconds ?? 0
            var line = "Handshakes    \(totals.established) in \(Format.fixed(seconds, 3)) s"
            if seconds > 0 { line += " = \(Format.count(Double(totals.established) / seconds))/s" }
            line += ", \(totals.completedProbes) closed cleanly"
            lines.append(line)
            if let cpu = result.connectCPUSeconds {
                var cpuLine = "Client CPU    \(Format.fixed(cpu, 2)) s"
                if totals.established > 0 { cpuLine += " = \(Format.fixed(cpu * 1e6 / Double(totals.established), 1)) us per handshake" }
                lines.append(cpuLine)
            }
            if let cpu = result.connectServerCPUSeconds {
                var cpuLine = "Server CPU    \(Format.fixed(cpu, 2)) s"
                if totals.established > 0 { cpuLine += " = \(Format.fixed(cpu * 1e6 / Double(totals.established), 1)) us per handshake" }
                lines.append(cpuLine)
            }
        }

        if result.isLadder || result.isStep {
            lines.append("")
            lines.append(rungTable(result))
        } else if let window = result.windows.first {
            lines.append("")
            let noun = options.scenario.isRoom ? "deliveries" : "replies"
            lines.append("Messages      sent \(window.sent) (\(Format.count(window.sentPerSecond))/s)"
                + "  \(noun) \(window.received) (\(Format.count(window.receivedPerSecond))/s)")
            if let perMessage = window.bytesPerMessage {
                lines.append("Bytes in      \(Format.count(Double(window.bytesArrived))) while measuring = \(Format.fixed(perMessage, 1)) per "
                    + (options.scenario.isRoom ? "delivery" : "reply") + " (\(Format.count(Double(window.bytesArrived) / window.measuredSeconds))/s)")
            }
            if window.rate > 0 {
                // How late this client's own sends were: latency above this much may be the client's.
                lines.append("Send lag      max \(Format.duration(window.maxSendLag)) behind schedule (this client)")
            }
            lines.append("Latency" + percentileHeader("  ").dropFirst(7))
            lines.append(percentileRow("              ", window.latency))
            lines.append(cpuLine("Client CPU", window.clientCPUSeconds, window, noun: options.scenario.isRoom ? "delivery" : "message"))
            if let server = window.serverCPUSeconds {
                lines.append(cpuLine("Server CPU", server, window, noun: options.scenario.isRoom ? "delivery" : "message"))
            }
            if !window.byTransport.isEmpty { lines.append(transportTable(window)) }
            if let ticker = window.ticker { lines.append(groupTable(ticker, window)) }
        }
        if let soak = result.soak { lines.append(SoakReport.text(soak)) }

        if options.scenario != .connect {
            var loss = "Loss          lost \(totals.lost)  duplicated \(totals.duplicated)  reordered \(totals.reordered)"
            if totals.historyGaps > 0 { loss += "  (the server reported \(totals.historyGaps) history gaps)" }
            lines.append(loss)
        }
        let errors = totals.errorsByKind.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        lines.append("Errors        \(totals.errorCount)" + (totals.protocolErrors > 0 ? " (\(totals.protocolErrors) protocol)" : ""))
        for (kind, count) in errors.prefix(10) { lines.append("  \(count) × \(kind)") }
        let closes = totals.closesByCode.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }
        lines.append("Closes        " + (closes.isEmpty ? "none" : closes.joined(separator: ", ")))
        let failures = result.failures
        lines.append("Result        " + (failures.isEmpty ? "PASS" : "FAIL: " + failures.joined(separator: "; ")))
        return lines.joined(separator: "\n")
    }

    private static func percentileHeader(_ indent: String) -> String {
        indent + "            " + (percentiles.map(\.0) + ["max", "mean"]).map { Format.pad($0, 9) }.joined()
    }

    private static func percentileRow(_ label: String, _ histogram: LatencyHistogram) -> String {
        guard histogram.count > 0 else { return label + "  (none)" }
        let values = percentiles.map { histogram.percentile($0.1) } + [histogram.max, UInt64(histogram.mean)]
        return Format.padRight(label, 14) + values.map { Format.pad(Format.duration($0), 9) }.joined()
    }

    private static func cpuLine(_ label: String, _ seconds: Double, _ window: WindowResult, noun: String) -> String {
        var line = Format.padRight(label, 14) + "\(Format.fixed(seconds, 2)) s = \(Format.fixed(seconds / window.measuredSeconds * 100, 1))% of one core"
        if window.arrived > 0 { line += ", \(Format.fixed(seconds * 1e6 / Double(window.arrived), 3)) us per \(noun)" }
        return line
    }

    /// sse and longpoll: each transport's receivers side by side.
    private static func transportTable(_ window: WindowResult) -> String {
        var lines = ["By transport" + ["receivers", "recv/s", "p50", "p99", "max", "lost", "dup", "reord"].map { Format.pad($0, 10) }.joined()]
        for part in window.byTransport {
            let cells = [
                String(part.receivers), Format.count(Double(part.arrived) / window.measuredSeconds),
                Format.duration(part.latency.percentile(50)), Format.duration(part.latency.percentile(99)),
                Format.duration(part.latency.max), String(part.lost), String(part.duplicated), String(part.reordered),
            ]
            lines.append(Format.padRight("  " + part.transport.name, 12) + cells.map { Format.pad($0, 10) }.joined())
        }
        return lines.joined(separator: "\n")
    }

    /// ticker: full-speed receivers and slow subscribers side by side, then what the server counted.
    private static func groupTable(_ ticker: TickerWindow, _ window: WindowResult) -> String {
        let counters = ticker.counters
        var lines = ["By group    " + ["receivers", "recv/s", "each/s", "p50", "p99", "max", "lost", "skipped", "older", "stale end"]
            .map { Format.pad($0, 10) }.joined()]
        func row(_ name: String, _ receivers: Int, _ arrived: UInt64, _ histogram: LatencyHistogram, lost: String, skipped: String,
                 older: UInt64, notFinal: UInt64) -> String {
            let perSecond = Double(arrived) / window.measuredSeconds
            let cells = [
                String(receivers), Format.count(perSecond), receivers > 0 ? Format.count(perSecond / Double(receivers)) : "-",
                Format.duration(histogram.percentile(50)), Format.duration(histogram.percentile(99)), Format.duration(histogram.max),
                lost, skipped, String(older), String(notFinal),
            ]
            return Format.padRight("  " + name, 12) + cells.map { Format.pad($0, 10) }.joined()
        }
        lines.append(row("fast", ticker.fastReceivers, ticker.fastArrived, window.latency, lost: String(window.lost), skipped: "-",
                         older: counters.fastKeyRegressions, notFinal: counters.fastKeysNotFinal))
        lines.append(row("slow", ticker.slowReceivers, ticker.slowArrived, counters.staleness, lost: "-", skipped: String(counters.slowSkipped),
                         older: counters.slowKeyRegressions, notFinal: counters.slowKeysNotFinal))
        lines.append("  (fast: latency; slow: staleness, the age of each update when read; older: updates older than one "
            + "already held; stale end: keys without their last value after the drain)")
        var server = "Server        "
        server += ticker.serverConflated.map { "conflated \($0)" } ?? "conflated - (no /stats)"
        if let dropped = ticker.serverVolatileDropped, dropped > 0 { server += ", volatile dropped \(dropped)" }
        if let resident = ticker.serverResidentBytes { server += ", resident \(Format.count(Double(resident)))B at the end of the window" }
        lines.append(server)
        return lines.joined(separator: "\n")
    }

    private static func rungTable(_ result: RunResult) -> String {
        let rungs = result.isLadder ? result.ladder : result.steps
        var lines: [String] = []
        let first = result.isLadder ? "rate/s" : "room"
        lines.append(Format.padRight(first, 8) + ["sent/s", "recv/s", "p50", "p95", "p99", "max", "lost", "cpu%", "srv us"]
            .map { Format.pad($0, 9) }.joined() + "  verdict")
        for rung in rungs {
            let window = rung.window
            let key = result.isLadder ? String(window.rate) : String(window.roomSize)
            let cells = [
                Format.count(window.sentPerSecond), Format.count(window.receivedPerSecond),
                Format.duration(window.latency.percentile(50)), Format.duration(window.latency.percentile(95)),
                Format.duration(window.latency.percentile(99)), Format.duration(window.latency.max),
                String(window.lost), Format.fixed(window.clientCPUPercent, 0),
                window.serverMicrosecondsPerMessage.map { Format.fixed($0, 2) } ?? "-",
            ]
            lines.append(Format.padRight(key, 8) + cells.map { Format.pad($0, 9) }.joined()
                + "  " + (rung.passed ? "ok" : "no: " + rung.reason))
            if let ticker = window.ticker, ticker.slowReceivers > 0 {
                // ticker: the slow subscribers under their rung, their staleness in the latency columns.
                let staleness = ticker.counters.staleness
                let slowCells = [
                    "", Format.count(Double(ticker.slowArrived) / window.measuredSeconds),
                    Format.duration(staleness.percentile(50)), Format.duration(staleness.percentile(95)),
                    Format.duration(staleness.percentile(99)), Format.duration(staleness.max), "-",
                ]
                lines.append(Format.padRight(" slow", 8) + slowCells.map { Format.pad($0, 9) }.joined()
                    + "  \(ticker.slowReceivers) slow subscribers, \(ticker.counters.slowSkipped) skipped")
            }
            for part in window.byTransport {
                // sse and longpoll: each transport's receivers under their rung.
                let partCells = [
                    "", Format.count(Double(part.arrived) / window.measuredSeconds),
                    Format.duration(part.latency.percentile(50)), Format.duration(part.latency.percentile(95)),
                    Format.duration(part.latency.percentile(99)), Format.duration(part.latency.max), String(part.lost),
                ]
                lines.append(Format.padRight(" " + part.transport.name, 8) + partCells.map { Format.pad($0, 9) }.joined()
                    + "  \(part.receivers) receivers")
            }
        }
        if result.isLadder {
            lines.append("Highest rate kept up with: " + (result.highestKeptUpRate.map { "\($0)/s" } ?? "none"))
        } else {
            let limit = result.options.p95LimitNanoseconds.map(Format.duration) ?? "-"
            lines.append("Largest room with p95 under \(limit): " + (result.largestRoom.map(String.init) ?? "none"))
        }
        return lines.joined(separator: "\n")
    }
}
