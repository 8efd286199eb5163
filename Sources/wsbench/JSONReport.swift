import Glibc
import Histograms

/// A JSON value, written without Foundation; object keys keep their order.
indirect enum JSONValue {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    func render(into out: inout String, indent: Int = 0) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .number(let value): out += value.isFinite ? Format.fixed(value, 3) : "null"
        case .string(let value): Self.quote(value, into: &out)
        case .array(let values):
            if values.isEmpty { out += "[]"; return }
            out += "[\n"
            for (index, value) in values.enumerated() {
                out += String(repeating: "  ", count: indent + 1)
                value.render(into: &out, indent: indent + 1)
                out += index + 1 < values.count ? ",\n" : "\n"
            }
            out += String(repeating: "  ", count: indent) + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{\n"
            for (index, (key, value)) in members.enumerated() {
                out += String(repeating: "  ", count: indent + 1)
                Self.quote(key, into: &out)
                out += ": "
                value.render(into: &out, indent: indent + 1)
                out += index + 1 < members.count ? ",\n" : "\n"
            }
            out += String(repeating: "  ", count: indent) + "}"
        }
    }

    private static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// The same data as the table, as JSON (`--json FILE`); fields are
/// documented in the README. Durations are nanoseconds, rates per second.
enum JSONReport {
    static func render(_ result: RunResult) -> String {
        var out = ""
        value(result).render(into: &out)
        return out + "\n"
    }

    static func write(_ result: RunResult, to path: String) -> Bool {
        guard let file = fopen(path, "w") else { return false }
        let text = render(result)
        let written = text.utf8.withContiguousStorageIfAvailable { fwrite($0.baseAddress, 1, $0.count, file) }
            ?? Array(text.utf8).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        return fclose(file) == 0 && written == text.utf8.count
    }

    static func value(_ result: RunResult) -> JSONValue {
        let options = result.options
        let totals = result.totals
        var members: [(String, JSONValue)] = [
            ("scenario", .string(options.scenario.rawValue)),
            ("url", .string(result.url)),
            ("connections", .integer(Int64(options.connections))),
            ("threads", .integer(Int64(options.threads))),
            ("publishers", options.scenario.isRoom ? .integer(Int64(options.publishers)) : .null),
            ("ws_subscribers", options.scenario.mixesTransports ? .integer(Int64(options.webSocketSubscribers)) : .null),
            ("subscriber_transport", options.scenario.isRoom ? .string(options.scenario.subscriberTransport.name) : .null),
            ("payload_bytes", .integer(Int64(options.payloadSize))),
            ("payload", .string(options.payload.rawValue)),
            ("keys", options.scenario == .ticker ? .integer(Int64(options.keyCount)) : .null),
            ("slow_subscribers", options.scenario == .ticker ? .integer(Int64(options.slowSubscribers)) : .null),
            ("slow_speed", options.scenario == .ticker ? .number(options.slowSpeed) : .null),
            ("slow_rcvbuf", options.scenario == .ticker ? .integer(Int64(options.slowReceiveBuffer)) : .null),
            ("deflate_offer", options.deflate.map { .string($0.offers.map(\.description).joined(separator: ", ")) } ?? .null),
            ("deflate_agreed", options.deflate == nil ? .null
                : .object(totals.deflateAgreements.sorted { $0.key < $1.key }.map { ($0.key, .integer(Int64($0.value))) })),
            ("rate", .integer(Int64(options.messagesPerSecond))),
            ("mode", .string(result.isLadder ? "rate-ladder" : result.isStep ? "step" : options.messagesPerSecond > 0 ? "open-loop" : "closed-loop")),
            ("duration_ns", .integer(Int64(options.durationNanoseconds))),
            ("warmup_ns", .integer(Int64(options.warmupNanoseconds))),
            ("source_addresses", .integer(Int64(options.sourceAddresses.count))),
            ("connection_counts", .object([
                ("attempted", .integer(Int64(totals.connectAttempts))),
                ("established", .integer(Int64(totals.established))),
                ("connect_failed", .integer(Int64(totals.connectFailures))),
                ("handshake_failed", .integer(Int64(totals.handshakeFailures))),
                ("closed_early", .integer(Int64(totals.unexpectedCloses))),
            ])),
            ("connect_time_ns", histogram(totals.connectTime)),
            ("handshake_time_ns", histogram(totals.handshakeTime)),
        ]
        if options.scenario == .connect {
            let seconds = result.connectSeconds ?? 0
            members.append(("handshakes", .object([
                ("count", .integer(Int64(totals.established))),
                ("closed_cleanly", .integer(Int64(totals.completedProbes))),
                ("seconds", .number(seconds)),
                ("per_second", seconds > 0 ? .number(Double(totals.established) / seconds) : .null),
                ("client_cpu_seconds", result.connectCPUSeconds.map { .number($0) } ?? .null),
                ("server_cpu_seconds", result.connectServerCPUSeconds.map { .number($0) } ?? .null),
            ])))
        }
        if let window = result.windows.first, !result.isLadder, !result.isStep {
            members.append(("measured", self.window(window)))
        }
        if let soak = result.soak { members.append(("soak", SoakReport.json(soak))) }
        if result.isLadder {
            members.append(("ladder", .object([
                ("highest_kept_up_rate", result.highestKeptUpRate.map { .integer(Int64($0)) } ?? .null),
                ("rungs", .array(result.ladder.map(rung))),
            ])))
        }
        if result.isStep {
            members.append(("step", .object([
                ("subscribers_per_step", .integer(Int64(options.stepSubscribers ?? 0))),
                ("p95_limit_ns", .integer(Int64(options.p95LimitNanoseconds ?? 0))),
                ("largest_room", result.largestRoom.map { .integer(Int64($0)) } ?? .null),
                ("steps", .array(result.steps.map(rung))),
            ])))
        }
        members += [
            ("lost", .integer(totals.lost)),
            ("duplicated", .integer(Int64(totals.duplicated))),
            ("reordered", .integer(Int64(totals.reordered))),
            ("history_gaps", .integer(Int64(totals.historyGaps))),
            ("errors", .object([
                ("total", .integer(Int64(totals.errorCount))),
                ("protocol", .integer(Int64(totals.protocolErrors))),
                ("by_kind", .object(totals.errorsByKind.sorted { $0.key < $1.key }.map { ($0.key, .integer(Int64($0.value))) })),
            ])),
            ("closes_by_code", .object(totals.closesByCode.sorted { $0.key < $1.key }.map { (String($0.key), .integer(Int64($0.value))) })),
            ("interrupted", .bool(result.interrupted)),
            ("passed", .bool(result.failures.isEmpty)),
            ("failures", .array(result.failures.map { .string($0) })),
            ("exit_status", .integer(Int64(result.exitStatus))),
        ]
        return .object(members)
    }

    static func histogram(_ histogram: LatencyHistogram) -> JSONValue {
        .object([
            ("count", .integer(Int64(histogram.count))),
            ("min", .integer(Int64(histogram.min))),
            ("p50", .integer(Int64(histogram.percentile(50)))),
            ("p90", .integer(Int64(histogram.percentile(90)))),
            ("p95", .integer(Int64(histogram.percentile(95)))),
            ("p99", .integer(Int64(histogram.percentile(99)))),
            ("p99_9", .integer(Int64(histogram.percentile(99.9)))),
            ("p99_99", .integer(Int64(histogram.percentile(99.99)))),
            ("max", .integer(Int64(histogram.max))),
            ("mean", .number(histogram.mean)),
        ])
    }

    static func window(_ window: WindowResult) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("rate", .integer(Int64(window.rate))),
            ("room_size", .integer(Int64(window.roomSize))),
            ("duration_ns", .integer(Int64(window.durationNanoseconds))),
            ("measured_ns", .integer(Int64(window.measuredNanoseconds))),
            ("sent", .integer(Int64(window.sent))),
            ("received", .integer(Int64(window.received))),
            ("arrived_while_measuring", .integer(Int64(window.arrived))),
            ("bytes_received", .integer(Int64(window.bytesArrived))),
            ("bytes_per_message", window.bytesPerMessage.map { .number($0) } ?? .null),
            ("sent_per_second", .number(window.sentPerSecond)),
            ("received_per_second", .number(window.receivedPerSecond)),
            ("latency_ns", histogram(window.latency)),
            ("lost", .integer(window.lost)),
            ("duplicated", .integer(Int64(window.duplicated))),
            ("reordered", .integer(Int64(window.reordered))),
            ("errors", .integer(Int64(window.errors))),
            ("max_send_lag_ns", .integer(Int64(window.maxSendLag))),
            ("max_publisher_backlog_bytes", .integer(Int64(window.maxPublisherBacklog))),
            ("client_cpu_seconds", .number(window.clientCPUSeconds)),
            ("client_cpu_percent", .number(window.clientCPUPercent)),
            ("client_us_per_message", window.clientMicrosecondsPerMessage.map { .number($0) } ?? .null),
            ("server_cpu_seconds", window.serverCPUSeconds.map { .number($0) } ?? .null),
            ("server_us_per_message", window.serverMicrosecondsPerMessage.map { .number($0) } ?? .null),
        ]
        if let ticker = window.ticker { members.append(("ticker", self.ticker(ticker, window))) }
        if !window.byTransport.isEmpty {
            members.append(("history_gaps", .integer(Int64(window.historyGaps))))
            members.append(("by_transport", .array(window.byTransport.map { part in
                .object([
                    ("transport", .string(part.transport.name)),
                    ("receivers", .integer(Int64(part.receivers))),
                    ("received", .integer(Int64(part.received))),
                    ("arrived_while_measuring", .integer(Int64(part.arrived))),
                    ("received_per_second", .number(Double(part.arrived) / window.measuredSeconds)),
                    ("latency_ns", histogram(part.latency)),
                    ("lost", .integer(part.lost)),
                    ("duplicated", .integer(Int64(part.duplicated))),
                    ("reordered", .integer(Int64(part.reordered))),
                ])
            })))
        }
        return .object(members)
    }

    /// ticker: each group of receivers, and what the server counted.
    static func ticker(_ ticker: TickerWindow, _ window: WindowResult) -> JSONValue {
        let counters = ticker.counters
        let seconds = window.measuredSeconds
        func perSubscriber(_ arrived: UInt64, _ receivers: Int) -> JSONValue {
            receivers > 0 ? .number(Double(arrived) / seconds / Double(receivers)) : .null
        }
        let server: JSONValue = ticker.serverConflated == nil && ticker.serverResidentBytes == nil ? .null : .object([
            ("conflated", ticker.serverConflated.map { .integer(Int64($0)) } ?? .null),
            ("volatile_dropped", ticker.serverVolatileDropped.map { .integer(Int64($0)) } ?? .null),
            ("resident_bytes", ticker.serverResidentBytes.map { .integer(Int64($0)) } ?? .null),
            ("us_per_delivery", window.serverMicrosecondsPerMessage.map { .number($0) } ?? .null),
        ])
        return .object([
            ("keys", .integer(Int64(ticker.keyCount))),
            ("fast", .object([
                ("receivers", .integer(Int64(ticker.fastReceivers))),
                ("received", .integer(Int64(window.received))),
                ("arrived_while_measuring", .integer(Int64(ticker.fastArrived))),
                ("received_per_second", .number(Double(ticker.fastArrived) / seconds)),
                ("per_subscriber_per_second", perSubscriber(ticker.fastArrived, ticker.fastReceivers)),
                ("latency_ns", histogram(window.latency)),
                ("lost", .integer(window.lost)),
                ("key_regressions", .integer(Int64(counters.fastKeyRegressions))),
                ("keys_not_final", .integer(Int64(counters.fastKeysNotFinal))),
            ])),
            ("slow", .object([
                ("receivers", .integer(Int64(ticker.slowReceivers))),
                ("received", .integer(Int64(counters.slowReceivedInWindow))),
                ("arrived_while_measuring", .integer(Int64(ticker.slowArrived))),
                ("received_per_second", .number(Double(ticker.slowArrived) / seconds)),
                ("per_subscriber_per_second", perSubscriber(ticker.slowArrived, ticker.slowReceivers)),
                ("staleness_ns", histogram(counters.staleness)),
                ("skipped", .integer(Int64(counters.slowSkipped))),
                ("duplicated", .integer(Int64(counters.slowDuplicated))),
                ("reordered", .integer(Int64(counters.slowReordered))),
                ("key_regressions", .integer(Int64(counters.slowKeyRegressions))),
                ("keys_not_final", .integer(Int64(counters.slowKeysNotFinal))),
            ])),
            ("server", server),
        ])
    }

    static func rung(_ rung: RungVerdict) -> JSONValue {
        .object([("passed", .bool(rung.passed)), ("reason", .string(rung.reason)), ("window", window(rung.window))])
    }
}
