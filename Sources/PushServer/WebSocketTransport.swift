import Broadcast
import Reactor
import WebSocketCodec

/// A connection upgraded to WebSocket: frames in and out, the route's
/// callbacks, the heartbeat (ping after silence, drop after more) and the
/// closing handshake.
final class WebSocketTransport: ConnectionTransport {
    let index: UInt8
    let label = "websocket"

    init(index: UInt8) { self.index = index }

    /// Validates and answers the upgrade; true when the connection is now a WebSocket.
    func upgrade(_ connection: ServerConnection, head: HTTPRequestHead, route: Int) -> Bool {
        let handler = handler(of: connection)
        let behavior = handler.routes.webSockets[route].behavior
        let request: UpgradeRequest
        let extensions: NegotiatedExtensions
        switch ServerHandshake.validate(head).flatMap({ valid in handler.negotiateExtensions(head).map { (valid, $0) } }) {
        case .failure(let rejection):
            connection.write(rejection.response)
            handler.closeWhenFlushed(connection)
            return false
        case .success(let (valid, negotiated)):
            request = valid
            extensions = negotiated
        }
        // Only a configured list reads the Origin (a String): the default allows every origin.
        let allowedOrigins = handler.configuration.allowedOrigins
        if !allowedOrigins.isEmpty, let origin = request.origin, !Self.originAllowed(origin, by: allowedOrigins) {
            HTTPFrontDoor.respondAndClose(connection, status: 403, reason: "origin \(origin) may not open WebSockets here")
            return false
        }
        let subprotocol: String?
        switch behavior.upgrade(request) {
        case .reject(let status, let reason):
            HTTPFrontDoor.respondAndClose(connection, status: status, reason: reason)
            return false
        case .accept(let chosen):
            subprotocol = chosen
        }
        if subprotocol == nil && extensions.elements.isEmpty {
            // The usual 101, encoded straight into the write buffer: no allocation.
            connection.write(reserving: ServerHandshake.plainResponseCount) { ServerHandshake.writePlainResponse(accepting: request, into: $0) }
        } else {
            connection.write(ServerHandshake.response(
                acceptKey: ServerHandshake.acceptValue(forKey: request.key), subprotocol: subprotocol, extensions: extensions))
        }
        connection.context.transport = index
        connection.context.route = UInt16(route)
        handler.deflate?.agreed(extensions, by: connection)
        handler.statistics.openWebSockets += 1
        handler.statistics.handshakes += 1
        armHeartbeat(connection)
        if let everyone = handler.configuration.everyoneRoom, behavior.joinsEveryoneRoom {
            handler.join(connection, everyone, format: handler.webSocketFormat(of: connection))
        }
        behavior.open(WebSocket(connection), request)
        return connection.isOpen
    }

    static func originAllowed(_ origin: String, by allowed: [String]) -> Bool {
        allowed.isEmpty || allowed.contains("*") || allowed.contains(origin)
    }

    // MARK: ConnectionTransport

    func received(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        connection.withHandler { handler in
            handler.withWebSocketRoute(of: connection) { route in receive(connection, bytes, handler, route) }
        }
    }

    private func receive(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer,
                         _ handler: ServerHandler, _ route: RouteTable.WebSocketRoute) -> Int {
        // After a failure (a close frame sent for it) the rest is read and dropped, never parsed again.
        if connection.context.reader.isFailed { return bytes.count }
        if !connection.context.closing && !bytes.isEmpty {
            // Any input proves the peer alive.
            connection.context.awaitingPong = false
            armHeartbeat(connection)
        }
        var offset = 0
        while connection.isOpen {
            if handler.pausedForBackpressure(connection) { return offset }
            let input = UnsafeMutableRawBufferPointer(rebasing: bytes[offset...])
            let limits = route.limits
            // What the reader holds, counted against the memory budget; most messages come whole and it holds nothing.
            let wasIdle = connection.context.reader.isIdle
            let heldBefore = wasIdle ? 0 : connection.context.reader.heldByteCount
            let (event, consumed): (WebSocketEvent, Int)
            if connection.context.deflate.isOn {
                let inflater = handler.deflate!.inflater(for: connection)
                (event, consumed) = connection.context.reader.read(input, role: .server, limits: limits, inflater: inflater)
            } else {
                (event, consumed) = connection.context.reader.read(input, role: .server, limits: limits)
            }
            offset += consumed
            if !wasIdle || !connection.context.reader.isIdle {
                handler.memory.reassemblyBytes += connection.context.reader.heldByteCount - heldBefore
            }
            switch event {
            case .needMore:
                // A message not complete yet is held (by the reader, or as the rest of a frame kept for
                // the next read) until more comes: only while the process is within its memory budget.
                let keeping = bytes.count - offset
                if (keeping > 0 || !connection.context.reader.isIdle) && handler.wouldPassBudget(holding: keeping) {
                    refuseMessageForBudget(connection)
                    return bytes.count
                }
                return offset
            case .message(let opcode, let payload):
                guard !connection.context.closing else { continue }  // data after a close frame is dropped
                handler.statistics.messagesReceived += 1
                route.behavior.message(WebSocket(connection), WebSocketMessage(opcode: opcode, payload: payload))
            case .ping(let payload):
                if !connection.context.closing { Self.sendFrame(connection, opcode: .pong, payload: payload) }
            case .pong:
                break
            case .close(let code, let reason):
                receivedClose(connection, code: code, reason: reason)
                return bytes.count
            case .failure(let code, let reason):
                handler.statistics.protocolErrors += 1
                fail(connection, code: code, reason: reason)
                return bytes.count
            }
        }
        return bytes.count
    }

    func drained(_ connection: ServerConnection) {
        connection.resumeReading()  // if it was paused by backpressure
        guard !connection.context.closing else { return }
        handler(of: connection).membershipsDrained(connection)
        handler(of: connection).withWebSocketRoute(of: connection) { $0.behavior.drain(WebSocket(connection)) }
    }

    func timedOut(_ connection: ServerConnection) {
        let handler = handler(of: connection)
        if connection.context.closing {
            connection.close(reason: .timedOut)
        } else if connection.context.awaitingPong || handler.pingInterval == 0 {
            handler.statistics.heartbeatEvictions += 1
            connection.close(reason: .local)
        } else {
            connection.context.awaitingPong = true
            Self.sendFrame(connection, opcode: .ping, payload: UnsafeRawBufferPointer(start: nil, count: 0))
            connection.setTimeout(nanoseconds: handler.pongTimeout)
        }
    }

    func readEnded(_ connection: ServerConnection) {
        connection.close(reason: .peerClosed)
    }

    func shuttingDown(_ connection: ServerConnection) {
        if connection.context.closing {
            connection.close(reason: .shutdown)  // its close frame went out already
        } else {
            Self.startClose(connection, code: .goingAway, reason: "server shutting down")
        }
    }

    func closed(_ connection: ServerConnection, reason: CloseReason) {
        handler(of: connection).memory.reassemblyBytes -= connection.context.reader.heldByteCount
        handler(of: connection).statistics.openWebSockets -= 1
        handler(of: connection).deflate?.closed(connection)
        reportClose(connection, code: .abnormalClosure, reason: "")
    }

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to connection: ServerConnection, lastSequence: UInt64) -> Int? {
        guard !connection.context.closing else { return nil }
        connection.write(slices: slices)
        return connection.isOpen ? connection.queuedBytes : nil
    }

    func evict(_ connection: ServerConnection) {
        guard !connection.context.closing else { return }  // already on its way out
        let handler = handler(of: connection)
        handler.statistics.slowSubscriberEvictions += 1
        Self.startClose(connection, code: .policyViolation,
                        reason: "too slow: more than \(handler.configuration.broadcast.maxQueuedBytes) bytes queued")
    }

    // MARK: Frames and closing

    /// One frame; a text or binary one compressed when the connection agreed to permessage-deflate
    /// (unless too small to gain), control frames never.
    static func sendFrame(_ connection: ServerConnection, opcode: Opcode, payload: UnsafeRawBufferPointer) {
        let agreement = connection.context.deflate
        if agreement.isOn && (opcode == .text || opcode == .binary), let deflate = connection.connections.handler.deflate {
            let encoder = deflate.encoder(windowBits: agreement.windowBits)
            connection.write(reserving: DeflateFrameEncoder.maximumFrameSize(payloadLength: payload.count)) { out in
                encoder.encode(opcode: opcode, payload: payload, into: out.baseAddress!).size
            }
            return
        }
        let header = FrameEncoder.headerSize(payloadLength: payload.count, masked: false)
        connection.write(reserving: header + payload.count) { out in
            FrameEncoder.encode(opcode: opcode, payload: payload, maskKey: nil, into: out.baseAddress!)
        }
    }

    private func armHeartbeat(_ connection: ServerConnection) {
        let interval = handler(of: connection).pingInterval
        if interval > 0 { connection.setTimeout(nanoseconds: interval) } else { connection.clearTimeout() }
    }

    /// The peer's close frame: answer it (echoing its code) and end the connection.
    private func receivedClose(_ connection: ServerConnection, code: CloseCode?, reason: UnsafeRawBufferPointer) {
        if !connection.context.closing {
            var echoed = (code?.rawValue ?? 0).bigEndian  // the code, on the stack: no allocation per close
            withUnsafeBytes(of: &echoed) { bytes in
                Self.sendFrame(connection, opcode: .close, payload: code == nil ? UnsafeRawBufferPointer(rebasing: bytes[0..<0]) : bytes)
            }
            connection.context.closing = true
            reportClose(connection, code: code ?? .noStatusReceived, reason: String(decoding: reason, as: UTF8.self))
        }
        // The server closes the TCP connection first (RFC 6455 §7.1.1).
        handler(of: connection).closeWhenFlushed(connection)
    }

    /// A message that needs holding while the process is past its memory
    /// budget: 1013 (Try Again Later), and what it held is freed at once; the
    /// rest of the connection's input is dropped unread.
    private func refuseMessageForBudget(_ connection: ServerConnection) {
        let handler = handler(of: connection)
        handler.memory.reassemblyBytes -= connection.context.reader.heldByteCount
        connection.context.reader.abandon()
        handler.memory.report(handler.heldBytes)  // other loops see the room it made at once
        handler.memory.count(.websocketMessage)
        fail(connection, code: .tryAgainLater, reason: "the server holds as much for its clients as it may; try again later")
    }

    /// Fails the connection: a close frame with the code, then the end.
    private func fail(_ connection: ServerConnection, code: CloseCode, reason: String) {
        if !connection.context.closing {
            FrameEncoder.closePayload(code: code, reason: reason).withUnsafeBytes { Self.sendFrame(connection, opcode: .close, payload: $0) }
            connection.context.closing = true
            reportClose(connection, code: code, reason: reason)
        }
        handler(of: connection).closeWhenFlushed(connection)
    }

    /// Our close: send the frame and wait (bounded) for the peer's.
    static func startClose(_ connection: ServerConnection, code: CloseCode, reason: String) {
        guard connection.isOpen, connection.context.transport == ServerTransports.webSocket, !connection.context.closing else { return }
        FrameEncoder.closePayload(code: code, reason: reason).withUnsafeBytes { sendFrame(connection, opcode: .close, payload: $0) }
        connection.context.closing = true
        connection.setTimeout(nanoseconds: connection.connections.handler.closeTimeout)
        let transport = connection.connections.handler.transports[ServerTransports.webSocket] as! WebSocketTransport
        transport.reportClose(connection, code: code, reason: reason)
    }

    /// The close callback, once; from then on the socket is out of its rooms.
    private func reportClose(_ connection: ServerConnection, code: CloseCode, reason: String) {
        guard !connection.context.closeReported else { return }
        connection.context.closeReported = true
        handler(of: connection).withWebSocketRoute(of: connection) { $0.behavior.close(WebSocket(connection), code, reason) }
        handler(of: connection).leaveAllRooms(connection)
    }
}
