import Histograms

/// What one measuring window found (one per rung of a rate ladder or step).
struct WindowResult: Sendable {
    /// Messages per second asked for; 0: closed loop.
    var rate: Int
    /// Open connections (the room, in broadcast) while it ran.
    var roomSize: Int
    var durationNanoseconds: UInt64
    /// Latency of the messages intended inside the window.
    var latency: LatencyHistogram
    /// Messages intended inside the window: sent, and received (before or during the drain).
    var sent: UInt64
    var received: UInt64
    /// Messages (deliveries) that arrived while measuring, whenever they were sent:
    /// the throughput, and what the CPU time is divided by.
    var arrived: UInt64
    /// Bytes read from the server while measuring (frame headers included, TCP/IP not): with
    /// `arrived`, the bytes on the wire per message, which permessage-deflate is meant to cut.
    var bytesArrived: UInt64 = 0
    /// Wall time between the counter readings taken at the window's start and
    /// end (the window's duration, give or take the readings themselves).
    var measuredNanoseconds: UInt64
    var lost: Int64
    var duplicated: UInt64
    var reordered: UInt64
    var errors: Int
    var maxSendLag: UInt64
    var maxPublisherBacklog: Int
    var clientCPUSeconds: Double
    var serverCPUSeconds: Double?
    /// sse and longpoll: times the server said it no longer held messages a receiver asked for.
    var historyGaps: UInt64 = 0
    /// sse and longpoll: the same per transport of the receivers (those with any open).
    var byTransport: [TransportWindow] = []
    /// ticker: the slow subscribers and the key checks. The counts above (but
    /// `arrived` and `bytesArrived`, which are every delivery's) are then the
    /// full-speed receivers'.
    var ticker: TickerWindow? = nil

    var sentPerSecond: Double { Double(sent) / measuredSeconds }
    var receivedPerSecond: Double { Double(arrived) / measuredSeconds }
    var measuredSeconds: Double { max(Double(measuredNanoseconds) / 1e9, 1e-6) }
    /// Share of one core the client used while measuring.
    var clientCPUPercent: Double { clientCPUSeconds / measuredSeconds * 100 }

    /// Client CPU per message received (a delivery, in broadcast), in microseconds.
    var clientMicrosecondsPerMessage: Double? {
        arrived == 0 ? nil : clientCPUSeconds * 1e6 / Double(arrived)
    }

    var serverMicrosecondsPerMessage: Double? {
        guard let serverCPUSeconds, arrived > 0 else { return nil }
        return serverCPUSeconds * 1e6 / Double(arrived)
    }

    /// Bytes read per message (delivery) while measuring.
    var bytesPerMessage: Double? {
        arrived == 0 ? nil : Double(bytesArrived) / Double(arrived)
    }

    var isClean: Bool { lost == 0 && duplicated == 0 && reordered == 0 && errors == 0 }
}

/// One transport's receivers in a window (sse and longpoll scenarios).
struct TransportWindow: Sendable {
    var transport: Transport
    /// Open receivers over this transport (WebSocket: publishers included, but for a lone one, which hears nothing).
    var receivers: Int
    var latency: LatencyHistogram
    /// Deliveries intended inside the window, and arrivals while measuring.
    var received: UInt64
    var arrived: UInt64
    /// Bytes read from the server while measuring (frame headers included, TCP/IP not): with
    /// `arrived`, the bytes on the wire per message, which permessage-deflate is meant to cut.
    var bytesArrived: UInt64 = 0
    var lost: Int64
    var duplicated: UInt64
    var reordered: UInt64
}
