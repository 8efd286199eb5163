import Glibc
import Reactor
import WebSocketCodec

// Opening, the handshake, and closing: everything but the frames.
extension LoadGenerator {
    /// Starts `count` more connections, `perSecond` a second (0: as fast as the in-flight cap allows).
    func open(_ count: Int, perSecond: Double) {
        toOpen += count
        rampPerSecond = perSecond
        rampStart = monotonicNanoseconds()
        rampStarted = 0
        openDueConnections(now: rampStart)
        scheduleTick(after: Self.fastTick)
    }

    func openDueConnections(now: UInt64) {
        while toOpen > 0 && inFlight < plan.maxInFlightPerLoop && !isClosing {
            if rampPerSecond > 0 && rampStart &+ UInt64(Double(rampStarted) * 1e9 / rampPerSecond) > now { return }
            toOpen -= 1
            rampStarted += 1
            startConnection()
        }
    }

    private func startConnection() {
        // Its own clock reading, not the pass's: on loopback connect() runs the whole TCP
        // handshake, so the 128th connection of a burst starts milliseconds after the first,
        // and a shared timestamp charged that wait to its handshake time.
        let now = monotonicNanoseconds()
        let number = started * plan.loopCount + loop.index
        started += 1
        statistics.pointee.connectAttempts += 1
        statistics.pointee.firstConnectStart = min(statistics.pointee.firstConnectStart, now)
        let source = plan.sources.isEmpty ? nil : plan.sources[number % plan.sources.count]
        do {
            let connection = try connections.connect(to: plan.server, from: source)
            connection.context.role = plan.role(ofConnection: number)
            connection.context.senderID = UInt32(truncatingIfNeeded: number)
            connection.context.connectStarted = now
            connection.setTimeout(nanoseconds: plan.timeout)
            inFlight += 1
        } catch {
            statistics.pointee.connectFailures += 1
            statistics.pointee.countError("connect: \(Self.describe(error.errno))")
        }
    }

    func connectionOpened(_ connection: Connection<LoadGenerator>) {
        let now = monotonicNanoseconds()
        statistics.pointee.connectTime.record(now &- connection.context.connectStarted)
        connection.context.phase = .handshaking
        switch connection.context.role {
        case .eventStreamSubscriber:
            connection.write(plan.eventStreamRequest)
            return
        case .pollingSubscriber:
            connection.write(plan.firstPollRequest)
            return
        case .echo, .subscriber, .publisher, .probe, .slowSubscriber:
            break
        }
        let path = connection.context.role == .publisher ? plan.publisherPath : plan.path
        let handshake = ClientHandshake(host: plan.hostHeader, path: path, key16: random.bytes(16),
                                        extensions: plan.deflate.map { [$0] } ?? [])
        let slot = Int(connection.slot)
        if handshakes.count <= slot { handshakes.append(contentsOf: repeatElement(nil, count: slot + 1 - handshakes.count)) }
        handshakes[slot] = handshake
        connection.write(handshake.request)
    }

    /// The response head so far; frames may follow it in the same read.
    func receiveHandshake(_ connection: Connection<LoadGenerator>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        let slot = Int(connection.slot)
        guard slot < handshakes.count, handshakes[slot] != nil else {
            fail(connection, "handshake state lost")
            return bytes.count
        }
        switch handshakes[slot]!.parseResponse(UnsafeRawBufferPointer(bytes)) {
        case .needMore:
            return 0
        case .rejected(let reason):
            handshakes[slot] = nil
            reject(connection, reason)
            return bytes.count
        case .accepted(let headLength):
            let negotiated = handshakes[slot]!.negotiated
            handshakes[slot] = nil
            if let offer = plan.deflate {
                // --deflate measures compression: a server that declines it fails the handshake, not the comparison.
                guard let parameters = offer.parameters(negotiated) else {
                    reject(connection, "the server did not accept permessage-deflate")
                    return bytes.count
                }
                statistics.pointee.deflateAgreements[parameters.description, default: 0] += 1
                if let own = MessageInflater.forConnection(parameters, as: .client) {
                    if ownInflaters.count <= slot { ownInflaters.append(contentsOf: repeatElement(nil, count: slot + 1 - ownInflaters.count)) }
                    ownInflaters[slot] = own
                }
            }
            let rest = UnsafeMutableRawBufferPointer(rebasing: bytes[headLength...])
            if plan.speaksEvents {
                connection.context.phase = .joining
                return headLength + receiveSessionOpening(connection, rest)
            }
            established(connection)
            guard connection.isOpen else { return bytes.count }
            return headLength + receiveFrames(connection, rest)
        }
    }

    /// The server refused the handshake (or the SSE request, the first poll, the events session).
    func reject(_ connection: Connection<LoadGenerator>, _ reason: String) {
        inFlight -= 1
        statistics.pointee.handshakeFailures += 1
        statistics.pointee.countError("handshake rejected: \(reason)")
        connection.context.phase = .failed
        connection.close()
    }

    /// The handshake (or the SSE head, the first poll's answer, the events session's `connect` answer) is done: the connection takes its role.
    func established(_ connection: Connection<LoadGenerator>) {
        let now = monotonicNanoseconds()
        inFlight -= 1
        openCount += 1
        openByTransport[connection.context.role.transport.rawValue] += 1
        statistics.pointee.established += 1
        statistics.pointee.handshakeTime.record(now &- connection.context.connectStarted)
        statistics.pointee.lastHandshakeEnd = max(statistics.pointee.lastHandshakeEnd, now)
        connection.clearTimeout()
        connection.context.phase = .open
        switch connection.context.role {
        case .echo:
            senders.append(connection.id)
        case .subscriber, .publisher, .eventStreamSubscriber, .pollingSubscriber, .slowSubscriber:
            let isPublisher = connection.context.role == .publisher
            connection.context.localIndex = UInt32(addReceiverRow(connection.id))
            if plan.payloadFormat == .keyedUpdate {
                let row = keyLedger.addRow(ownPublisher: isPublisher ? Int(connection.context.senderID) : nil)
                assert(row == Int(connection.context.localIndex), "the key ledger's rows follow the trackers'")
            }
            if isPublisher {
                senders.append(connection.id)
                publisherSlots[connection.context.senderID] = connection.id
            }
            if connection.context.role == .slowSubscriber {
                openSlowCount += 1
                startReadingSlowly(connection)
            }
        case .probe:
            startClosing(connection, code: .normalClosure)
            if isClosing { return }
        }
        if isClosing { startClosing(connection, code: .normalClosure) }
    }

    /// A row of trackers for a new receiver; rows only grow (a run's receivers are few enough).
    private func addReceiverRow(_ id: ConnectionID) -> Int {
        let row = rowConnections.count
        rowConnections.append(id)
        let width = plan.publisherCount
        if row >= trackerRowCapacity {
            let capacity = max(64, trackerRowCapacity * 2)
            let larger = UnsafeMutablePointer<SequenceTracker>.allocate(capacity: capacity * width)
            larger.moveInitialize(from: trackers, count: trackerRowCapacity * width)
            trackers.deallocate()
            trackers = larger
            trackerRowCapacity = capacity
        }
        // Receivers joining while a window sends start at its baseline; others get the next window's.
        let current = sendingFinished ? nil : window
        for publisher in 0..<width {
            (trackers + row * width + publisher).initialize(to: SequenceTracker(expected: current?.baseline[publisher] ?? 0))
        }
        if current != nil && rowsStarted == row { rowsStarted = row + 1 }
        return row
    }

    /// The connection's own inflater, when its server keeps its compression context.
    @inline(__always)
    func ownInflater(of connection: Connection<LoadGenerator>) -> MessageInflater? {
        let slot = Int(connection.slot)
        return slot < ownInflaters.count ? ownInflaters[slot] : nil
    }

    /// Sends our close frame (SSE and polling: our end of stream) and waits,
    /// bounded by the timeout, for the server's and its end of stream.
    func startClosing(_ connection: Connection<LoadGenerator>, code: CloseCode) {
        if connection.context.phase == .open { leftOpen(connection.context) }
        if connection.context.role == .slowSubscriber { finishReadingSlowly(connection) }  // the server's close frame must be read
        connection.context.phase = .closing
        connection.setTimeout(nanoseconds: plan.timeout)
        if connection.context.role.transport != .webSocket {
            connection.closeAfterFlush()
            return
        }
        writeFrame(connection, opcode: .close, payload: FrameEncoder.closePayload(code: code))
    }

    /// An open connection stops being counted as open (nor, in the ticker, its keys).
    func leftOpen(_ state: ConnectionState) {
        openCount -= 1
        openByTransport[state.role.transport.rawValue] -= 1
        if state.role == .slowSubscriber { openSlowCount -= 1 }
        if plan.payloadFormat == .keyedUpdate && state.role.isRoomReceiver { keyLedger.retire(row: Int(state.localIndex)) }
    }

    /// Counts an error once, tells the server why (when open) and drops the connection.
    func fail(_ connection: Connection<LoadGenerator>, _ kind: String, code: CloseCode? = nil) {
        statistics.pointee.protocolErrors += 1
        statistics.pointee.countError(kind)
        switch connection.context.phase {
        case .connecting, .handshaking, .joining: inFlight -= 1
        case .open: leftOpen(connection.context)
        case .closing, .failed: break
        }
        if connection.context.role == .slowSubscriber { stopReadingSlowly(connection) }
        connection.context.phase = .failed
        if let code { writeFrame(connection, opcode: .close, payload: FrameEncoder.closePayload(code: code)) }
        connection.closeAfterFlush()
        connection.setTimeout(nanoseconds: plan.timeout)
    }

    func connectionClosed(_ connection: Connection<LoadGenerator>, reason: CloseReason) {
        let state = connection.context
        if state.role == .eventStreamSubscriber { connection.context.eventStream.release() }
        let slot = Int(connection.slot)
        if slot < handshakes.count { handshakes[slot] = nil }
        if slot < ownInflaters.count { ownInflaters[slot] = nil }
        if state.role == .publisher { publishedByClosed[state.senderID] = state.nextSequence }
        switch state.phase {
        case .connecting:
            inFlight -= 1
            statistics.pointee.connectFailures += 1
            statistics.pointee.countError("connect: \(Self.describe(reason))")
        case .handshaking, .joining:
            inFlight -= 1
            statistics.pointee.handshakeFailures += 1
            statistics.pointee.countError("handshake: \(Self.describe(reason))")
        case .open:
            leftOpen(state)
            statistics.pointee.unexpectedCloses += 1
            statistics.pointee.countError("closed while in use: \(Self.describe(reason))")
            if !state.closeFrameReceived && state.role.transport == .webSocket { statistics.pointee.closesByCode[1006, default: 0] += 1 }
        case .closing:
            if state.role.transport != .webSocket {
                break  // no close frames over HTTP: our end of stream, then the server's (or the timeout), is a clean close
            }
            if state.closeFrameReceived {
                if state.role == .probe { statistics.pointee.completedProbes += 1 }
            } else {
                statistics.pointee.unexpectedCloses += 1
                statistics.pointee.closesByCode[1006, default: 0] += 1
                statistics.pointee.countError("no close frame from the server: \(Self.describe(reason))")
            }
        case .failed:
            break
        }
    }

    /// Close frame from the server: answer it (unless we started), then wait for its end of stream.
    func receivedClose(_ connection: Connection<LoadGenerator>, code: CloseCode?) {
        statistics.pointee.closesByCode[code?.rawValue ?? 1005, default: 0] += 1
        connection.context.closeFrameReceived = true
        switch connection.context.phase {
        case .open:
            statistics.pointee.unexpectedCloses += 1
            statistics.pointee.countError("server closed with \(code?.rawValue ?? 1005)")
            startClosing(connection, code: code ?? .normalClosure)
        case .closing, .failed, .connecting, .handshaking, .joining:
            break
        }
    }

    /// Every open connection sends a close frame; no more are opened.
    func beginClosing() {
        isClosing = true
        toOpen = 0
        sendingFinished = true
        connections.forEach { connection in
            if connection.context.phase == .open { startClosing(connection, code: .normalClosure) }
        }
    }

    /// A masked frame, a control frame or a rare packet (clients mask everything they send).
    func writeFrame(_ connection: Connection<LoadGenerator>, opcode: Opcode, payload: [UInt8]) {
        let key = MaskKey(wireValue: UInt32(truncatingIfNeeded: random.next()))
        payload.withUnsafeBytes { bytes in
            connection.write(reserving: FrameEncoder.headerSize(payloadLength: bytes.count, masked: true) + bytes.count) { buffer in
                FrameEncoder.encode(opcode: opcode, payload: bytes, maskKey: key, into: buffer.baseAddress!)
            }
        }
    }

    static func describe(_ reason: CloseReason) -> String {
        switch reason {
        case .connectFailed(let error), .failed(let error): describe(error.errno)
        default: reason.description
        }
    }

    static func describe(_ errorNumber: Int32) -> String {
        String(cString: strerror(errorNumber))
    }
}
