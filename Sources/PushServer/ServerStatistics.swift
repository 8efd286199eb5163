import Broadcast
import Synchronization

/// A server's counters (one loop's, or summed).
public struct ServerStatistics: Sendable, Equatable {
    public var handshakes = 0
    public var openWebSockets = 0
    public var messagesReceived = 0
    public var protocolErrors = 0
    public var heartbeatEvictions = 0
    public var slowSubscriberEvictions = 0
    public var httpResponses = 0
    /// SSE, iframe and waiting long-poll connections open now.
    public var openStreams = 0
    /// Sessions opened since start, and open now (a gauge).
    public var sessionsOpened = 0
    public var openSessions = 0
    /// Session requests (polls, POSTs) that arrived on another loop than
    /// their session's and were handed to it, connection and all.
    public var movedRequests = 0
    // Gauges read off the loops when the counters are taken: what a client
    // that went away must not leave behind.
    /// TCP connections open now, of every kind.
    public var connections = 0
    /// Bytes the kernel refused and the server still holds for slow readers.
    public var queuedBytes = 0
    /// Timers scheduled on the loops: a few per loop, never one per client.
    public var timers = 0
    /// Bytes read from and written to clients since start (every transport).
    public var bytesReceived: UInt64 = 0
    public var bytesSent: UInt64 = 0
    /// Open connections by what serves them (`http` while reading requests,
    /// `websocket`, `sse`, `iframe`, `poll`, `session_sse`, `session_poll`).
    public var connectionsByTransport: [String: Int] = [:]
    /// Open sessions by what carries them (`websocket`, `sse`, `polling`).
    public var sessionsByTransport: [String: Int] = [:]
    /// How late each loop's last statistics timer fired, in nanoseconds: a
    /// loop busy for longer than a pass should take shows here.
    public var loopLag: [Int: UInt64] = [:]
    // The memory budget (`ServerConfiguration.maxBufferedTotal`) and what is held against it.
    /// Input kept until it is complete: request heads and bodies, the rest of WebSocket frames.
    public var heldInputBytes = 0
    /// WebSocket messages partly received, in their reassembly buffers.
    public var heldReassemblyBytes = 0
    /// Output waiting for slow readers: queued after the kernel refused it, or for a session's next poll.
    public var heldOutputBytes = 0
    /// The budget itself.
    public var memoryBudget = 0
    /// New work refused for the budget: WebSocket messages (closed with 1013), HTTP requests and
    /// WebSocket upgrades (503).
    public var refusedMessages = 0
    public var refusedRequests = 0
    public var refusedUpgrades = 0

    /// Everything held against the memory budget.
    public var heldBytes: Int { heldInputBytes + heldReassemblyBytes + heldOutputBytes }

    public init() {}

    mutating func add(_ other: ServerStatistics) {
        handshakes += other.handshakes
        openWebSockets += other.openWebSockets
        messagesReceived += other.messagesReceived
        protocolErrors += other.protocolErrors
        heartbeatEvictions += other.heartbeatEvictions
        slowSubscriberEvictions += other.slowSubscriberEvictions
        httpResponses += other.httpResponses
        openStreams += other.openStreams
        sessionsOpened += other.sessionsOpened
        openSessions += other.openSessions
        movedRequests += other.movedRequests
        connections += other.connections
        queuedBytes += other.queuedBytes
        timers += other.timers
        bytesReceived &+= other.bytesReceived
        bytesSent &+= other.bytesSent
        connectionsByTransport.merge(other.connectionsByTransport, uniquingKeysWith: +)
        sessionsByTransport.merge(other.sessionsByTransport, uniquingKeysWith: +)
        loopLag.merge(other.loopLag) { max($0, $1) }
        heldInputBytes += other.heldInputBytes
        heldReassemblyBytes += other.heldReassemblyBytes
        heldOutputBytes += other.heldOutputBytes
        memoryBudget = max(memoryBudget, other.memoryBudget)  // the process's, the same on every loop
        refusedMessages += other.refusedMessages
        refusedRequests += other.refusedRequests
        refusedUpgrades += other.refusedUpgrades
    }
}

/// Where each loop posts its counters every `statisticsInterval`, so they
/// can be read from anywhere without stopping a loop.
final class StatisticsBoard: Sendable {
    private let snapshots = Mutex<[Int: (server: ServerStatistics, rooms: [String: RoomStatistics])]>([:])

    func post(loop: Int, server: ServerStatistics, rooms: [String: RoomStatistics]) {
        snapshots.withLock { $0[loop] = (server, rooms) }
    }

    func total() -> (server: ServerStatistics, rooms: [String: RoomStatistics]) {
        snapshots.withLock { all in
            var server = ServerStatistics()
            var rooms: [String: RoomStatistics] = [:]
            for (_, snapshot) in all {
                server.add(snapshot.server)
                for (name, counters) in snapshot.rooms { rooms[name, default: RoomStatistics()].add(counters) }
            }
            return (server, rooms)
        }
    }
}
