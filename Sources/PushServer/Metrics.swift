import Broadcast

/// The server's counters in the Prometheus text exposition format (version
/// 0.0.4): what `GET /metrics` answers. Every series is listed in the README.
enum Metrics {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func text(server: ServerStatistics, rooms: [String: RoomStatistics]) -> String {
        var out = MetricsWriter()
        out.family("fanout_connections", "gauge", "Open TCP connections, by what serves them.")
        for (transport, count) in server.connectionsByTransport.sorted(by: { $0.key < $1.key }) {
            out.sample("fanout_connections", ["transport": transport], Double(count))
        }
        out.family("fanout_sessions", "gauge", "Open sessions of the events protocol, by what carries them.")
        for (transport, count) in server.sessionsByTransport.sorted(by: { $0.key < $1.key }) {
            out.sample("fanout_sessions", ["transport": transport], Double(count))
        }
        out.single("fanout_open_websockets", "gauge", "Open WebSockets (closing ones included).", server.openWebSockets)
        out.single("fanout_open_streams", "gauge", "Open SSE and iframe streams and held polls.", server.openStreams)
        out.single("fanout_queued_bytes", "gauge", "Bytes the kernel refused and the server holds for slow readers.", server.queuedBytes)
        out.single("fanout_timers", "gauge", "Timers scheduled on the loops.", server.timers)
        out.family("fanout_loop_lag_seconds", "gauge", "How late each loop's last statistics timer fired.")
        for (loop, lag) in server.loopLag.sorted(by: { $0.key < $1.key }) {
            out.sample("fanout_loop_lag_seconds", ["loop": String(loop)], Double(lag) / 1e9)
        }
        out.single("fanout_handshakes_total", "counter", "WebSocket upgrades accepted.", server.handshakes)
        out.single("fanout_sessions_opened_total", "counter", "Sessions opened.", server.sessionsOpened)
        out.single("fanout_messages_received_total", "counter", "WebSocket messages and session packets received.", server.messagesReceived)
        out.single("fanout_http_responses_total", "counter", "HTTP responses sent (stream heads included).", server.httpResponses)
        out.single("fanout_protocol_errors_total", "counter", "WebSockets failed for a protocol error.", server.protocolErrors)
        out.single("fanout_moved_requests_total", "counter", "Session requests handed to their session's loop.", server.movedRequests)
        out.single("fanout_received_bytes_total", "counter", "Bytes read from clients.", server.bytesReceived)
        out.single("fanout_sent_bytes_total", "counter", "Bytes written to clients.", server.bytesSent)
        out.single("fanout_memory_budget_bytes", "gauge", "What the process may hold for its clients (--max-buffered-total).", server.memoryBudget)
        out.family("fanout_memory_held_bytes", "gauge", "Bytes held for clients against the memory budget, by what holds them.")
        out.sample("fanout_memory_held_bytes", ["kind": "partial_input"], Double(server.heldInputBytes))
        out.sample("fanout_memory_held_bytes", ["kind": "reassembly"], Double(server.heldReassemblyBytes))
        out.sample("fanout_memory_held_bytes", ["kind": "queued_output"], Double(server.heldOutputBytes))
        out.family("fanout_memory_refusals_total", "counter", "New work refused because the memory budget was reached, by cause.")
        out.sample("fanout_memory_refusals_total", ["cause": BudgetRefusal.websocketMessage.label], Double(server.refusedMessages))
        out.sample("fanout_memory_refusals_total", ["cause": BudgetRefusal.httpRequest.label], Double(server.refusedRequests))
        out.sample("fanout_memory_refusals_total", ["cause": BudgetRefusal.websocketUpgrade.label], Double(server.refusedUpgrades))
        out.family("fanout_evictions_total", "counter", "Clients closed by the server, by cause.")
        out.sample("fanout_evictions_total", ["cause": "heartbeat"], Double(server.heartbeatEvictions))
        out.sample("fanout_evictions_total", ["cause": "slow"], Double(server.slowSubscriberEvictions))

        let total = rooms.values.reduce(into: RoomStatistics()) { $0.add($1) }
        out.single("fanout_rooms", "gauge", "Rooms known (with members, history or recent use).", rooms.count)
        out.single("fanout_room_members", "gauge", "Room memberships, every room and loop.", total.subscribers)
        out.single("fanout_published_total", "counter", "Messages published to rooms.", total.published)
        out.single("fanout_deliveries_total", "counter", "Room messages sent to members (one per message per member).", total.delivered)
        out.family("fanout_not_delivered_total", "counter", "Room messages a member was not sent, by cause (one per message per member).")
        out.sample("fanout_not_delivered_total", ["cause": "skipped"], Double(total.dropped))
        out.sample("fanout_not_delivered_total", ["cause": "conflated"], Double(total.conflated))
        out.sample("fanout_not_delivered_total", ["cause": "volatile"], Double(total.volatileDropped))
        out.single("fanout_room_evictions_total", "counter", "Room members closed for going past their queue cap.", total.evicted)
        out.single("fanout_history_messages", "gauge", "Messages held in room histories for resuming.", total.historyMessages)
        out.single("fanout_history_bytes", "gauge", "Encoded bytes held in room histories.", total.historyBytes)
        return out.text
    }
}

/// Lines of the exposition format: a family's HELP and TYPE, then its samples.
private struct MetricsWriter {
    var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [String: String] = [:], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escaped($0.value))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    mutating func single(_ name: String, _ type: String, _ help: String, _ value: some BinaryInteger) {
        family(name, type, help)
        sample(name, [:], Double(value))
    }

    /// Label values escape backslash, double quote and newline (the format's rule).
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"").replacingOccurrences("\n", "\\n")
    }

    static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}

extension PushServer {
    /// `statisticsSnapshot()` in the Prometheus text format (`GET /metrics`).
    public func metricsText() -> String {
        let (server, rooms) = statisticsSnapshot()
        return Metrics.text(server: server, rooms: rooms)
    }

    /// The content type `metricsText()` is served with.
    public static var metricsContentType: String { Metrics.contentType }
}
