import Histograms

/// How a receiver listens to the room. Publishers are always WebSockets.
enum Transport: Int, Sendable, CaseIterable {
    case webSocket = 0
    /// Server-Sent Events: `GET /sse/ROOM`, a chunked `text/event-stream`.
    case eventStream = 1
    /// `GET /poll/ROOM?since=SEQ&wait=25`, again and again on one keep-alive connection.
    case longPolling = 2

    /// As in the report and the JSON.
    var name: String {
        switch self {
        case .webSocket: "websocket"
        case .eventStream: "sse"
        case .longPolling: "longpoll"
        }
    }
}

/// One transport's share of what the receivers counted (sse and longpoll
/// scenarios, where a room mixes transports). Same meanings as the totals
/// in `LoopStatistics`; `latency` likewise holds only what arrived since the
/// coordinator's last copy.
struct TransportCounters: Sendable {
    var received: UInt64 = 0
    var receivedInWindow: UInt64 = 0
    var lost: Int64 = 0
    var duplicated: UInt64 = 0
    var reordered: UInt64 = 0
    var latency = LatencyHistogram()

    mutating func merge(_ other: TransportCounters) {
        received += other.received
        receivedInWindow += other.receivedInWindow
        lost += other.lost
        duplicated += other.duplicated
        reordered += other.reordered
        latency.merge(other.latency)
    }
}

/// The counters of every transport, indexed by it. Three stored fields, not
/// an array: the receive path updates them through a pointer, and an array
/// would add a uniqueness check and a bounds check per message.
struct CountersByTransport: Sendable {
    var webSocket = TransportCounters()
    var eventStream = TransportCounters()
    var longPolling = TransportCounters()

    subscript(transport: Transport) -> TransportCounters {
        get {
            switch transport {
            case .webSocket: webSocket
            case .eventStream: eventStream
            case .longPolling: longPolling
            }
        }
        _modify {
            switch transport {
            case .webSocket: yield &webSocket
            case .eventStream: yield &eventStream
            case .longPolling: yield &longPolling
            }
        }
    }

    mutating func merge(_ other: CountersByTransport) {
        for transport in Transport.allCases { self[transport].merge(other[transport]) }
    }

    mutating func resetLatency() {
        for transport in Transport.allCases { self[transport].latency.reset() }
    }
}
