import Broadcast
import Reactor
import WebSocketCodec

/// The server on one loop. Every event of a connection goes to the transport
/// that serves it now (see `ConnectionTransport`); what is left here is what
/// they share: the loop's rooms and counters, timeouts, backpressure, and the
/// way a connection ends.
final class ServerHandler: ConnectionHandler {
    typealias Context = ConnectionState

    let routes: RouteTable
    let transports: ServerTransports
    /// `transports.all` and `routes.webSockets`, lent to the calls made on every message.
    private let lentTransports: LentList<TransportCell>
    private let lentWebSocketRoutes: LentList<RouteTable.WebSocketRoute>
    let configuration: ServerConfiguration
    let pingInterval: UInt64
    let pongTimeout: UInt64
    let closeTimeout: UInt64
    let handshakeTimeout: UInt64
    let streamKeepAlive: UInt64
    // Counters this loop alone touches, on every message: unchecked, as a
    // run-time exclusivity check per update cost more than the update.
    @exclusivity(unchecked) var statistics = ServerStatistics()
    let rooms: LoopBroadcaster
    /// Every loop's handler, for handing a connection to another loop.
    let loops: ServerLoops
    /// This loop's connections.
    private(set) unowned(unsafe) var connections: Connections<ServerHandler>!
    /// How late this loop's statistics timer last fired.
    private var lastLag: UInt64 = 0
    /// This loop's sessions, when the server has a session layer.
    private(set) var sessions: SessionTable!
    /// This loop's permessage-deflate state, when the server offers it.
    let deflate: LoopDeflate?
    /// What this loop holds for clients beyond what `connections` counts, against the process's memory budget.
    @exclusivity(unchecked) var memory: LoopMemory
    /// Upgrade heads' storage, used again once the upgrade is answered (unless the route kept the request).
    let headRecycler = HTTPHeadRecycler()

    init(routes: RouteTable, transports: ServerTransports, configuration: ServerConfiguration, rooms: LoopBroadcaster,
         loops: ServerLoops, board: StatisticsBoard, budget: MemoryBudget) {
        self.routes = routes
        self.transports = transports
        lentTransports = LentList(transports.all.map(TransportCell.init))
        lentWebSocketRoutes = LentList(routes.webSockets)
        self.configuration = configuration
        self.rooms = rooms
        self.loops = loops
        pingInterval = configuration.pingInterval.nanoseconds
        pongTimeout = configuration.pongTimeout.nanoseconds
        closeTimeout = configuration.closeTimeout.nanoseconds
        handshakeTimeout = configuration.handshakeTimeout.nanoseconds
        streamKeepAlive = configuration.streamKeepAlive.nanoseconds
        deflate = transports.deflate.map(LoopDeflate.init)
        memory = LoopMemory(budget: budget)
        rooms.sink = self
        let loop = rooms.loop
        let interval = configuration.statisticsInterval.nanoseconds
        var due = loop.now &+ interval
        loop.scheduleRepeating(every: interval) { [unowned self] in
            // A timer fires late by as long as the loop was busy with something else.
            lastLag = loop.now > due ? loop.now - due : 0
            due = loop.now &+ interval
            memory.report(heldBytes)  // so other loops see what this one holds, however quiet it is
            board.post(loop: loop.index, server: currentStatistics(), rooms: rooms.localStatistics())
        }
        if let service = transports.sessions { sessions = SessionTable(service: service, handler: self) }
    }

    /// This loop's counters with its gauges filled in (call on the loop).
    func currentStatistics() -> ServerStatistics {
        var current = statistics
        current.connections = connections?.count ?? 0
        current.queuedBytes = connections?.queuedByteTotal ?? 0
        current.timers = rooms.loop.scheduledTimerCount
        current.openSessions = sessions?.count ?? 0
        current.sessionsByTransport = sessions?.countsByCarrier ?? [:]
        current.bytesReceived = connections?.bytesReceived ?? 0
        current.bytesSent = connections?.bytesSent ?? 0
        current.loopLag = [rooms.loop.index: lastLag]
        current.heldInputBytes = connections?.keptInputBytes ?? 0
        current.heldReassemblyBytes = memory.reassemblyBytes
        current.heldOutputBytes = (connections?.queuedOutputBytes ?? 0) + memory.waitingBytes
        current.memoryBudget = memory.budget.limit
        current.refusedMessages = memory.refusals[BudgetRefusal.websocketMessage.rawValue]
        current.refusedRequests = memory.refusals[BudgetRefusal.httpRequest.rawValue]
        current.refusedUpgrades = memory.refusals[BudgetRefusal.websocketUpgrade.rawValue]
        var byTransport = [Int](repeating: 0, count: transports.all.count)
        connections?.forEach { byTransport[Int($0.context.transport)] += 1 }
        for (index, count) in byTransport.enumerated() { current.connectionsByTransport[transports.all[index].label] = count }
        return current
    }

    /// The transport serving the connection, lent for `body`.
    @inline(__always)
    func withTransport<Result>(of connection: ServerConnection, _ body: (any ConnectionTransport) -> Result) -> Result {
        lentTransports.with(Int(connection.context.transport)) { body($0.transport) }
    }

    /// The WebSocket route the connection was upgraded on, lent for `body`.
    @inline(__always)
    func withWebSocketRoute<Result>(of connection: ServerConnection, _ body: (RouteTable.WebSocketRoute) -> Result) -> Result {
        lentWebSocketRoutes.with(Int(connection.context.route), body)
    }

    // MARK: ConnectionHandler

    func attached(to connections: Connections<ServerHandler>) {
        self.connections = connections
    }

    func connectionOpened(_ connection: ServerConnection) {
        connection.setTimeout(nanoseconds: handshakeTimeout)
    }

    func connection(_ connection: ServerConnection, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        withTransport(of: connection) { $0.received(connection, bytes) }
    }

    func connectionDrained(_ connection: ServerConnection) {
        withTransport(of: connection) { $0.drained(connection) }
    }

    func connectionTimedOut(_ connection: ServerConnection) {
        withTransport(of: connection) { $0.timedOut(connection) }
    }

    func connectionReadEnded(_ connection: ServerConnection) {
        withTransport(of: connection) { $0.readEnded(connection) }
    }

    func connectionShuttingDown(_ connection: ServerConnection) {
        withTransport(of: connection) { $0.shuttingDown(connection) }
    }

    func connectionClosed(_ connection: ServerConnection, reason: CloseReason) {
        withTransport(of: connection) { $0.closed(connection, reason: reason) }
        leaveAllRooms(connection)
    }

    // MARK: Shared by the transports

    /// Sends what is queued, then closes; a peer that does not finish within
    /// the close timeout is dropped.
    func closeWhenFlushed(_ connection: ServerConnection) {
        connection.closeAfterFlush()
        connection.setTimeout(nanoseconds: closeTimeout)
    }

    /// Backpressure: a client with more than the queue cap waiting for it is
    /// not read from until it has read that (echoes, pongs, pipelined
    /// requests all produce output only when there is input to answer).
    /// True when reading just paused; the caller stops consuming.
    func pausedForBackpressure(_ connection: ServerConnection) -> Bool {
        let cap = configuration.broadcast.maxQueuedBytes
        guard connection.queuedBytes > cap else { return false }
        // Only bytes the kernel refused count: they, unlike corked ones, bring the drain that resumes reading.
        connection.flush()
        guard connection.isOpen else { return true }  // the flush found the peer gone: consume nothing more
        guard connection.queuedBytes > cap else { return false }
        connection.pauseReading()
        return true
    }

    /// Hands the connection to the front door again after a response that
    /// kept it (a poll's answer): wait for the next request, or close.
    func returnToFrontDoor(_ connection: ServerConnection, keepAlive: Bool) {
        connection.context.transport = ServerTransports.frontDoor
        connection.context.transportState = nil
        // During a shutdown its answer is its last: the drain does not wait for more requests on it.
        if HTTPFrontDoor.responseEnded(connection, keepAlive: keepAlive && !rooms.loop.isShuttingDown) {
            let more = connection.resumeInput()  // requests pipelined behind it
            if !more && connection.context.peerFinished {
                closeWhenFlushed(connection)
            }
        }
    }
}

// MARK: - Rooms

extension ServerHandler: DeliverySink {
    func join(_ connection: ServerConnection, _ room: String, format: WireFormat = .webSocket,
              options: SubscriptionOptions = SubscriptionOptions(), resumeAfter: UInt64? = nil,
              resumed: (@Sendable (LoopBroadcaster.ResumeResult) -> Void)? = nil) {
        if let index = rooms.roomIndex(of: room), isMember(connection.id, ofRoom: index) { return }
        let membership = rooms.subscribe(connection.id, to: room, format: format, options: options, resumeAfter: resumeAfter,
                                         resumed: resumed)
        if let limit = configuration.conflatingUnsentLimit, options.conflate || rooms.conflates(room) {
            connection.limitUnsentBytes(limit)
        }
        if connection.context.firstRoom == .none {
            connection.context.firstRoom = membership
        } else {
            connection.context.moreRooms.append(membership)
        }
    }

    func leave(_ connection: ServerConnection, _ room: String) {
        guard let index = rooms.roomIndex(of: room) else { return }
        if connection.context.firstRoom.room == index {
            rooms.unsubscribe(connection.id, connection.context.firstRoom)
            connection.context.firstRoom = connection.context.moreRooms.popLast() ?? .none
        } else if let found = connection.context.moreRooms.firstIndex(where: { $0.room == index }) {
            rooms.unsubscribe(connection.id, connection.context.moreRooms.remove(at: found))
        }
    }

    func leaveAllRooms(_ connection: ServerConnection) {
        guard connection.context.firstRoom != .none else { return }
        rooms.unsubscribe(connection.id, connection.context.firstRoom)
        for membership in connection.context.moreRooms { rooms.unsubscribe(connection.id, membership) }
        connection.context.firstRoom = .none
        connection.context.moreRooms = []
    }

    /// The connection read what it was sent: what its rooms held back for it (conflation) may go.
    func membershipsDrained(_ connection: ServerConnection) {
        guard connection.context.firstRoom != .none else { return }
        rooms.memberDrained(connection.id, in: connection.context.firstRoom)
        for membership in connection.context.moreRooms { rooms.memberDrained(connection.id, in: membership) }
    }

    func roomNames(of connection: ServerConnection) -> [String] {
        guard connection.context.firstRoom != .none else { return [] }
        return ([connection.context.firstRoom] + connection.context.moreRooms).map { rooms.roomName(at: $0.room) }
    }

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to subscriber: ConnectionID, lastSequence: UInt64) -> Int? {
        guard let connection = connections.connection(subscriber) else { return nil }
        return withTransport(of: connection) { $0.deliver(slices, to: connection, lastSequence: lastSequence) }
    }

    func queuedBytes(of subscriber: ConnectionID) -> Int? {
        connections.connection(subscriber)?.queuedBytes
    }

    func evict(_ subscriber: ConnectionID) {
        guard let connection = connections.connection(subscriber) else { return }
        withTransport(of: connection) { $0.evict(connection) }
    }

    func isMember(_ subscriber: ConnectionID, ofRoom room: UInt32) -> Bool {
        guard let connection = connections.connection(subscriber) else { return false }
        return connection.context.firstRoom.room == room || connection.context.moreRooms.contains { $0.room == room }
    }
}
