import Broadcast
import Reactor
import WebSocketCodec

/// The server on one loop: the HTTP front door, then WebSocket framing,
/// heartbeat and the closing handshake for every connection of that loop.
final class ServerHandler: ConnectionHandler {
    typealias Context = ConnectionState

    let routes: RouteTable
    let configuration: ServerConfiguration
    let limits: WebSocketLimits
    let pingInterval: UInt64
    let pongTimeout: UInt64
    let closeTimeout: UInt64
    let handshakeTimeout: UInt64
    let streamKeepAlive: UInt64
    var statistics = ServerStatistics()
    let rooms: LoopBroadcaster
    /// This loop's connections; known from the first connection on.
    private(set) unowned(unsafe) var connections: Connections<ServerHandler>?

    init(routes: RouteTable, configuration: ServerConfiguration, rooms: LoopBroadcaster, board: StatisticsBoard) {
        self.routes = routes
        self.configuration = configuration
        self.rooms = rooms
        limits = WebSocketLimits(maxMessageSize: configuration.maxMessageSize)
        pingInterval = configuration.pingInterval.nanoseconds
        pongTimeout = configuration.pongTimeout.nanoseconds
        closeTimeout = configuration.closeTimeout.nanoseconds
        handshakeTimeout = configuration.handshakeTimeout.nanoseconds
        streamKeepAlive = configuration.streamKeepAlive.nanoseconds
        let loop = rooms.loop
        loop.scheduleRepeating(every: configuration.statisticsInterval.nanoseconds) { [unowned self] in
            board.post(loop: loop.index, server: currentStatistics(), rooms: rooms.localStatistics())
        }
    }

    /// This loop's counters with its gauges filled in (call on the loop).
    func currentStatistics() -> ServerStatistics {
        var current = statistics
        current.connections = connections?.count ?? 0
        current.queuedBytes = connections?.queuedByteTotal ?? 0
        current.timers = rooms.loop.scheduledTimerCount
        return current
    }

    // MARK: ConnectionHandler

    func connectionOpened(_ connection: Connection<ServerHandler>) {
        if connections == nil {
            connections = connection.connections
            rooms.sink = self
        }
        connection.setTimeout(nanoseconds: handshakeTimeout)
    }

    func connection(_ connection: Connection<ServerHandler>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        switch connection.context.phase {
        case .http:
            let consumed = receiveHTTP(connection, bytes)
            if connection.context.peerFinished && connection.context.phase == .http && connection.isOpen
                && !connection.isReadingPaused {  // paused: requests are still kept; the drain goes on with them
                closeWhenFlushed(connection)  // the half-closed client's last requests are answered
            }
            return consumed
        case .webSocket, .closing:
            return receiveFrames(connection, bytes)
        case .eventStream, .scriptStream:
            return bytes.count  // a streaming client has nothing more to say
        case .polling:
            return 0  // pipelined requests wait until the poll is answered
        }
    }

    func connectionDrained(_ connection: Connection<ServerHandler>) {
        let wasPaused = connection.isReadingPaused
        let moreInput = connection.resumeReading()  // if it was paused by backpressure
        if wasPaused && !moreInput && connection.context.peerFinished && connection.context.phase == .http {
            closeWhenFlushed(connection)  // a half-closed client's last answer has been read
            return
        }
        guard connection.context.phase == .webSocket else { return }
        behavior(connection).drain(WebSocket(connection))
    }

    /// Sends what is queued, then closes; a peer that does not finish within
    /// the close timeout is dropped.
    func closeWhenFlushed(_ connection: Connection<ServerHandler>) {
        connection.closeAfterFlush()
        connection.setTimeout(nanoseconds: closeTimeout)
    }

    /// Backpressure: a client with more than the queue cap waiting for it is
    /// not read from until it has read that (echoes, pongs, pipelined
    /// requests all produce output only when there is input to answer).
    /// True when reading just paused; the caller stops consuming.
    func pausedForBackpressure(_ connection: Connection<ServerHandler>) -> Bool {
        let cap = configuration.broadcast.maxQueuedBytes
        guard connection.queuedBytes > cap else { return false }
        // Only bytes the kernel refused count: they, unlike corked ones, bring the drain that resumes reading.
        connection.flush()
        guard connection.isOpen else { return true }  // the flush found the peer gone: consume nothing more
        guard connection.queuedBytes > cap else { return false }
        connection.pauseReading()
        return true
    }

    func connectionTimedOut(_ connection: Connection<ServerHandler>) {
        switch connection.context.phase {
        case .http:
            // An idle keep-alive connection just ends (a 408 there could be read as the answer to a
            // request the client is sending at that moment); a request left half-sent is told why.
            if !connection.context.betweenRequests {
                connection.write(HTTPResponse.make(status: 408, body: Array("request head not received in time\n".utf8), close: true))
            }
            closeWhenFlushed(connection)
        case .webSocket:
            if connection.context.awaitingPong || pingInterval == 0 {
                statistics.heartbeatEvictions += 1
                terminate(connection)
            } else {
                connection.context.awaitingPong = true
                sendFrame(connection, opcode: .ping, payload: UnsafeRawBufferPointer(start: nil, count: 0))
                connection.setTimeout(nanoseconds: pongTimeout)
            }
        case .closing:
            connection.close(reason: .timedOut)
        case .eventStream, .scriptStream:
            keepStreamAlive(connection)
        case .polling:
            answerPollWithNothing(connection)
        }
    }

    /// The client half-closed: it will send nothing more, but it may still
    /// read. What it already asked for over HTTP is answered; a stream or a
    /// held long-poll is a client gone away (as nginx reads it) and ends now.
    func connectionReadEnded(_ connection: Connection<ServerHandler>) {
        switch connection.context.phase {
        case .http:
            connection.context.peerFinished = true
            // Requests kept behind a poll that was just answered are read first, then it closes.
            if !connection.resumeInput() {
                closeWhenFlushed(connection)
            }
        case .polling where connection.context.poll?.waits == false:
            connection.context.peerFinished = true
        default:
            connection.close(reason: .peerClosed)
        }
    }

    func connectionShuttingDown(_ connection: Connection<ServerHandler>) {
        if connection.context.phase == .webSocket {
            startClose(connection, code: .goingAway, reason: "server shutting down")
        } else {
            connection.close(reason: .shutdown)
        }
    }

    func connectionClosed(_ connection: Connection<ServerHandler>, reason: CloseReason) {
        switch connection.context.phase {
        case .http:
            return
        case .webSocket, .closing:
            statistics.openWebSockets -= 1
            reportClose(connection, code: .abnormalClosure, reason: "")
        case .eventStream, .scriptStream, .polling:
            statistics.openStreams -= 1
        }
        leaveAllRooms(connection)
    }

    /// Validates and answers the upgrade; true when the connection is now a WebSocket.
    func upgrade(_ connection: Connection<ServerHandler>, head: HTTPRequestHead, route: Int) -> Bool {
        let behavior = routes.webSockets[route].behavior
        let request: UpgradeRequest
        switch ServerHandshake.validate(head) {
        case .failure(let rejection):
            connection.write(rejection.response)
            closeWhenFlushed(connection)
            return false
        case .success(let valid):
            request = valid
        }
        let subprotocol: String?
        switch behavior.upgrade(request) {
        case .reject(let status, let reason):
            respondAndClose(connection, status: status, reason: reason)
            return false
        case .accept(let chosen):
            subprotocol = chosen
        }
        connection.write(ServerHandshake.response(acceptKey: ServerHandshake.acceptValue(forKey: request.key), subprotocol: subprotocol))
        connection.context.phase = .webSocket
        connection.context.route = UInt16(route)
        statistics.openWebSockets += 1
        statistics.handshakes += 1
        armHeartbeat(connection)
        if let everyone = configuration.everyoneRoom { join(connection, everyone) }
        behavior.open(WebSocket(connection), request)
        return connection.isOpen
    }

    // MARK: WebSocket frames

    func receiveFrames(_ connection: Connection<ServerHandler>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        if connection.context.phase == .webSocket && !bytes.isEmpty {
            // Any input proves the peer alive.
            connection.context.awaitingPong = false
            armHeartbeat(connection)
        }
        var offset = 0
        while connection.isOpen {
            if pausedForBackpressure(connection) { return offset }
            let (event, consumed) = connection.context.reader.read(
                UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]), role: .server, limits: limits)
            offset += consumed
            switch event {
            case .needMore:
                return offset
            case .message(let opcode, let payload):
                guard connection.context.phase == .webSocket else { continue }  // closing: drop data
                statistics.messagesReceived += 1
                behavior(connection).message(WebSocket(connection), WebSocketMessage(opcode: opcode, payload: payload))
            case .ping(let payload):
                if connection.context.phase == .webSocket { sendFrame(connection, opcode: .pong, payload: payload) }
            case .pong:
                break
            case .close(let code, let reason):
                receivedClose(connection, code: code, reason: reason)
                return bytes.count
            case .failure(let code, let reason):
                statistics.protocolErrors += 1
                fail(connection, code: code, reason: reason)
                return bytes.count
            }
        }
        return bytes.count
    }

    func sendFrame(_ connection: Connection<ServerHandler>, opcode: Opcode, payload: UnsafeRawBufferPointer) {
        let header = FrameEncoder.headerSize(payloadLength: payload.count, masked: false)
        connection.write(reserving: header + payload.count) { out in
            FrameEncoder.encode(opcode: opcode, payload: payload, maskKey: nil, into: out.baseAddress!)
        }
    }

    private func armHeartbeat(_ connection: Connection<ServerHandler>) {
        if pingInterval > 0 { connection.setTimeout(nanoseconds: pingInterval) } else { connection.clearTimeout() }
    }

    // MARK: Closing

    /// The peer's close frame: answer it (echoing its code) and end the connection.
    private func receivedClose(_ connection: Connection<ServerHandler>, code: CloseCode?, reason: UnsafeRawBufferPointer) {
        if connection.context.phase == .webSocket {
            let payload = code.map { FrameEncoder.closePayload(code: $0) } ?? []
            payload.withUnsafeBytes { sendFrame(connection, opcode: .close, payload: $0) }
            connection.context.phase = .closing
            reportClose(connection, code: code ?? .noStatusReceived, reason: String(decoding: reason, as: UTF8.self))
        }
        // The server closes the TCP connection first (RFC 6455 §7.1.1).
        closeWhenFlushed(connection)
    }

    /// Fails the connection: a close frame with the code, then the end.
    private func fail(_ connection: Connection<ServerHandler>, code: CloseCode, reason: String) {
        if connection.context.phase == .webSocket {
            FrameEncoder.closePayload(code: code, reason: reason).withUnsafeBytes { sendFrame(connection, opcode: .close, payload: $0) }
            connection.context.phase = .closing
            reportClose(connection, code: code, reason: reason)
        }
        closeWhenFlushed(connection)
    }

    /// Our close: send the frame and wait (bounded) for the peer's.
    func startClose(_ connection: Connection<ServerHandler>, code: CloseCode, reason: String) {
        guard connection.isOpen, connection.context.phase == .webSocket else { return }
        FrameEncoder.closePayload(code: code, reason: reason).withUnsafeBytes { sendFrame(connection, opcode: .close, payload: $0) }
        connection.context.phase = .closing
        connection.setTimeout(nanoseconds: closeTimeout)
        reportClose(connection, code: code, reason: reason)
    }

    func terminate(_ connection: Connection<ServerHandler>) {
        connection.close(reason: .local)
    }

    /// The close callback, once; from then on the socket is out of its rooms.
    private func reportClose(_ connection: Connection<ServerHandler>, code: CloseCode, reason: String) {
        guard !connection.context.closeReported else { return }
        connection.context.closeReported = true
        behavior(connection).close(WebSocket(connection), code, reason)
        leaveAllRooms(connection)
    }

    private func behavior(_ connection: Connection<ServerHandler>) -> WebSocketBehavior {
        routes.webSockets[Int(connection.context.route)].behavior
    }
}

// MARK: - Rooms

extension ServerHandler: DeliverySink {
    func join(_ connection: Connection<ServerHandler>, _ room: String, format: WireFormat = .webSocket, resumeAfter: UInt64? = nil,
              resumed: (@Sendable (LoopBroadcaster.ResumeResult) -> Void)? = nil) {
        if let index = rooms.roomIndex(of: room), isMember(connection.id, ofRoom: index) { return }
        let membership = rooms.subscribe(connection.id, to: room, format: format, resumeAfter: resumeAfter, resumed: resumed)
        if connection.context.firstRoom == .none {
            connection.context.firstRoom = membership
        } else {
            connection.context.moreRooms.append(membership)
        }
    }

    func leave(_ connection: Connection<ServerHandler>, _ room: String) {
        guard let index = rooms.roomIndex(of: room) else { return }
        if connection.context.firstRoom.room == index {
            rooms.unsubscribe(connection.id, connection.context.firstRoom)
            connection.context.firstRoom = connection.context.moreRooms.popLast() ?? .none
        } else if let found = connection.context.moreRooms.firstIndex(where: { $0.room == index }) {
            rooms.unsubscribe(connection.id, connection.context.moreRooms.remove(at: found))
        }
    }

    func leaveAllRooms(_ connection: Connection<ServerHandler>) {
        guard connection.context.firstRoom != .none else { return }
        rooms.unsubscribe(connection.id, connection.context.firstRoom)
        for membership in connection.context.moreRooms { rooms.unsubscribe(connection.id, membership) }
        connection.context.firstRoom = .none
        connection.context.moreRooms = []
    }

    func roomNames(of connection: Connection<ServerHandler>) -> [String] {
        guard connection.context.firstRoom != .none else { return [] }
        return ([connection.context.firstRoom] + connection.context.moreRooms).map { rooms.roomName(at: $0.room) }
    }

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to subscriber: ConnectionID, lastSequence: UInt64) -> Int? {
        guard let connection = connections?.connection(subscriber) else { return nil }
        switch connection.context.phase {
        case .webSocket, .eventStream, .scriptStream:
            connection.write(slices: slices)
        case .polling:
            answerPoll(connection, slices, lastSequence: lastSequence)
            return 0
        case .http, .closing:
            return nil
        }
        return connection.isOpen ? connection.queuedBytes : nil
    }

    func queuedBytes(of subscriber: ConnectionID) -> Int? {
        connections?.connection(subscriber)?.queuedBytes
    }

    func evict(_ subscriber: ConnectionID) {
        guard let connection = connections?.connection(subscriber) else { return }
        switch connection.context.phase {
        case .webSocket:
            statistics.slowSubscriberEvictions += 1
            startClose(connection, code: .policyViolation, reason: "too slow: more than \(configuration.broadcast.maxQueuedBytes) bytes queued")
        case .eventStream, .scriptStream, .polling:
            // An HTTP stream has no closing handshake to queue behind the backlog: it ends now.
            statistics.slowSubscriberEvictions += 1
            connection.close(reason: .local)
        case .http, .closing:
            return  // not a member any more, or already on its way out
        }
    }

    func isMember(_ subscriber: ConnectionID, ofRoom room: UInt32) -> Bool {
        guard let connection = connections?.connection(subscriber) else { return false }
        return connection.context.firstRoom.room == room || connection.context.moreRooms.contains { $0.room == room }
    }
}
