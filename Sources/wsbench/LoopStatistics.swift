import Histograms

/// What one loop has counted. Loops only add; the coordinator takes a copy
/// each second (`LoadGenerator.snapshot`) and merges the copies of all loops.
/// `latency` holds only what arrived since the previous copy, so the live
/// line can show the last second; the coordinator keeps the running total.
struct LoopStatistics: Sendable {
    // Connections.
    var connectAttempts = 0
    var established = 0
    var connectFailures = 0
    var handshakeFailures = 0
    /// Closed by the server or the network while in use: an error.
    var unexpectedCloses = 0
    /// Connect-scenario connections that handshook and closed cleanly.
    var completedProbes = 0
    var connectTime = LatencyHistogram()
    var handshakeTime = LatencyHistogram()
    /// Close frames received, by code; 1006 counts connections that ended without one.
    var closesByCode: [UInt16: Int] = [:]
    /// Failures by what went wrong (connect errors, resets, rejected handshakes, ...).
    var errorsByKind: [String: Int] = [:]
    var firstConnectStart: UInt64 = .max
    var lastHandshakeEnd: UInt64 = 0
    /// --deflate: the permessage-deflate parameters the server agreed to, by connections.
    var deflateAgreements: [String: Int] = [:]

    // Messages: everything counts, `…InWindow` only those whose intended
    // send time falls inside the measured window.
    var sent: UInt64 = 0
    var sentInWindow: UInt64 = 0
    /// Arrivals that were not duplicates.
    var received: UInt64 = 0
    var receivedInWindow: UInt64 = 0
    var lost: Int64 = 0
    var duplicated: UInt64 = 0
    var reordered: UInt64 = 0
    /// Frames that broke the protocol or were not wsbench messages.
    var protocolErrors = 0
    var bytesReceived: UInt64 = 0
    /// Longest a scheduled send waited for its loop (open loop).
    var maxSendLag: UInt64 = 0
    /// Most bytes a publisher had queued unsent at a tick (open loop).
    var maxPublisherBacklog = 0
    var latency = LatencyHistogram()
    /// sse and longpoll: the same counts per transport of the receivers.
    var byTransport = CountersByTransport()
    /// Times the server said messages were no longer held for a receiver
    /// (SSE `event: gap`, polling `"gap"`); what they held is counted lost too.
    var historyGaps: UInt64 = 0
    /// ticker: the slow subscribers' counts and the key checks. The counts
    /// above are then the full-speed receivers' (`bytesReceived` is everyone's).
    var ticker = TickerCounters()

    mutating func countError(_ kind: String) {
        errorsByKind[kind, default: 0] += 1
    }

    /// Adds another loop's counts (the coordinator's side).
    mutating func merge(_ other: LoopStatistics) {
        connectAttempts += other.connectAttempts
        established += other.established
        connectFailures += other.connectFailures
        handshakeFailures += other.handshakeFailures
        unexpectedCloses += other.unexpectedCloses
        completedProbes += other.completedProbes
        connectTime.merge(other.connectTime)
        handshakeTime.merge(other.handshakeTime)
        closesByCode.merge(other.closesByCode, uniquingKeysWith: +)
        errorsByKind.merge(other.errorsByKind, uniquingKeysWith: +)
        firstConnectStart = min(firstConnectStart, other.firstConnectStart)
        lastHandshakeEnd = max(lastHandshakeEnd, other.lastHandshakeEnd)
        deflateAgreements.merge(other.deflateAgreements, uniquingKeysWith: +)
        sent += other.sent
        sentInWindow += other.sentInWindow
        received += other.received
        receivedInWindow += other.receivedInWindow
        lost += other.lost
        duplicated += other.duplicated
        reordered += other.reordered
        protocolErrors += other.protocolErrors
        bytesReceived += other.bytesReceived
        maxSendLag = max(maxSendLag, other.maxSendLag)
        maxPublisherBacklog = max(maxPublisherBacklog, other.maxPublisherBacklog)
        latency.merge(other.latency)
        byTransport.merge(other.byTransport)
        historyGaps += other.historyGaps
        ticker.merge(other.ticker)
    }

    /// Zeroes what a measuring window counts, keeping connection history.
    mutating func resetWindow() {
        sentInWindow = 0
        receivedInWindow = 0
        maxSendLag = 0
        maxPublisherBacklog = 0
        latency.reset()
        byTransport.resetLatency()
        for transport in Transport.allCases { byTransport[transport].receivedInWindow = 0 }
        ticker.slowReceivedInWindow = 0
        ticker.staleness.reset()
    }
}
