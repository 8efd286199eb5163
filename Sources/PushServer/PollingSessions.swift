import Broadcast
import Reactor
import WebSocketCodec

/// Sessions over long-polling (`GET PATH/poll`) down, and POSTs up
/// (`SessionPosts`). `GET PATH/poll` opens a session and answers with its
/// `open` packet; `GET PATH/poll?sid=TOKEN` is answered with the packets
/// waiting for it, one per line, or held until there are some (a `ping` is
/// due every `pingInterval`, so no poll is held longer than that). Packets
/// wait in the session between polls, room packets by reference, up to the
/// room member queue cap.
final class PollingSessions: ConnectionTransport, HTTPEndpoint, SessionCarrier {
    let index: UInt8
    let label = "session_poll"
    let format: WireFormat
    let name = SessionTransportKind.polling.rawValue
    let offered: Bool

    init(index: UInt8, format: WireFormat, offered: Bool) {
        self.index = index
        self.format = format
        self.offered = offered
    }

    /// A poll held for packets.
    final class HeldPoll {
        let session: SessionRecord
        /// Response headers decided by the request (CORS, Connection: close).
        let extraHeaders: String
        let keepAlive: Bool

        init(session: SessionRecord, extraHeaders: String, keepAlive: Bool) {
            self.session = session
            self.extraHeaders = extraHeaders
            self.keepAlive = keepAlive
        }
    }

    /// A poll of an open session takes what waits for it: past the memory
    /// budget it frees bytes, so it is served; one that opens a session is not.
    func isServedOverBudget(_ head: HTTPRequestHead) -> Bool { QueryString.value("sid", in: head.query) != nil }

    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        guard offered else {
            return HTTPFrontDoor.finish(connection, call.head, .transportNotOffered(name), cors: call.cors)
        }
        if call.head.method == "HEAD" {
            return HTTPFrontDoor.answerHead(connection, call.head, contentType: "text/plain; charset=utf-8", chunked: false, cors: call.cors)
        }
        let handler = handler(of: connection)
        let record: SessionRecord
        if QueryString.value("sid", in: call.head.query) == nil {
            let handshake = SessionHandshake(transport: name, head: call.head, peerAddress: connection.peerAddress)
            record = handler.sessions.open(carrier: self, connection: nil, handshake: handshake)
        } else {
            switch SessionLocator.locate(call, on: connection) {
            case .moved: return .done
            case .refused(let reply): return HTTPFrontDoor.finish(connection, call.head, reply, cors: call.cors)
            case .found(let found): record = found
            }
            guard record.carrier === self else {
                return HTTPFrontDoor.finish(connection, call.head, .sessionError(400, "not a polling session"), cors: call.cors)
            }
            handler.sessions.heard(from: record)
        }
        // A newer poll replaces a held one, which is answered with what it has (nothing).
        if let older = record.heldPoll, let held = handler.connections.connection(older) {
            answer(held)
        }
        let keepAlive = HTTPFrontDoor.wantsKeepAlive(call.head)
        var extraHeaders = ""
        for (name, value) in call.cors ?? [] { extraHeaders += "\(name): \(value)\r\n" }
        if !keepAlive { extraHeaders += "Connection: close\r\n" }
        connection.context.transport = index
        connection.context.transportState = HeldPoll(session: record, extraHeaders: extraHeaders, keepAlive: keepAlive)
        record.heldPoll = connection.id
        handler.statistics.openStreams += 1
        // The session's ping answers it sooner; this only bounds a poll whose session is gone.
        connection.setTimeout(nanoseconds: handler.sessions.service.configuration.pingInterval.nanoseconds * 2)
        if !record.waiting.isEmpty { answer(connection) }
        return connection.isOpen && connection.context.transport == ServerTransports.frontDoor && keepAlive ? .next : .hold
    }

    private func heldPoll(of connection: ServerConnection) -> HeldPoll? {
        connection.context.transport == index ? connection.context.transportState as? HeldPoll : nil
    }

    /// Answers a held poll with every packet waiting for its session (maybe
    /// none), in one write, and returns the connection to the front door.
    private func answer(_ connection: ServerConnection) {
        guard let poll = heldPoll(of: connection) else { return }
        let handler = handler(of: connection)
        let session = poll.session
        if session.heldPoll == connection.id { session.heldPoll = nil }
        let waiting = session.waiting
        let waitingBytes = session.waitingBytes
        clearWaiting(session, on: handler)
        // During a shutdown the answer is the connection's last, and says so.
        let last = handler.rooms.loop.isShuttingDown && poll.keepAlive
        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-cache\r\n"
            + "Content-Length: \(waitingBytes)\r\n" + poll.extraHeaders + (last ? "Connection: close\r\n" : "") + "\r\n"
        connection.write(Array(head.utf8))
        let slices = waiting.map { SharedSlice($0.buffer, start: $0.start, end: $0.end) }
        slices.withUnsafeBufferPointer { connection.write(slices: $0) }
        withExtendedLifetime(waiting) {}
        // A write that met a reset closed the connection, and its close already counted the stream out.
        guard connection.isOpen else { return }
        handler.statistics.httpResponses += 1
        handler.statistics.openStreams -= 1
        handler.returnToFrontDoor(connection, keepAlive: poll.keepAlive)
        if session.waitingBytes == 0 { handler.sessions.drained(session) }  // what its rooms held back may come
    }

    // MARK: ConnectionTransport (a held poll)

    func received(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        0  // pipelined requests wait until the poll is answered
    }

    func timedOut(_ connection: ServerConnection) {
        answer(connection)
    }

    /// A client that half-closes behind a held poll has given up on it.
    func readEnded(_ connection: ServerConnection) {
        connection.close(reason: .peerClosed)
    }

    func shuttingDown(_ connection: ServerConnection) {
        guard let poll = heldPoll(of: connection) else { return connection.close(reason: .shutdown) }
        handler(of: connection).sessions.close(poll.session, reason: "server shutting down", tellClient: true)
        if connection.isOpen && heldPoll(of: connection) != nil { connection.close(reason: .shutdown) }
    }

    func closed(_ connection: ServerConnection, reason: CloseReason) {
        handler(of: connection).statistics.openStreams -= 1
        if let poll = heldPoll(of: connection), poll.session.heldPoll == connection.id { poll.session.heldPoll = nil }
    }

    // MARK: SessionCarrier

    func send(_ packet: UnsafeRawBufferPointer, to session: SessionRecord, on handler: ServerHandler) {
        let line = SharedBuffer(capacity: packet.count + 1)
        line.append(packet)
        withUnsafeBytes(of: UInt8(0x0A)) { line.append($0) }
        session.waiting.append((line, 0, line.count))
        session.waitingBytes += line.count
        handler.memory.waitingBytes += line.count
        flush(session, on: handler)
    }

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to session: SessionRecord, on handler: ServerHandler) -> Int? {
        for slice in slices {
            session.waiting.append((slice.buffer, slice.start, slice.end))
            session.waitingBytes += slice.count
            handler.memory.waitingBytes += slice.count
        }
        flush(session, on: handler)
        return session.waitingBytes
    }

    func queuedBytes(of session: SessionRecord, on handler: ServerHandler) -> Int? {
        session.waitingBytes
    }

    /// The session's last packets (its `close`, if any) go to the held poll;
    /// later polls find no session.
    func end(_ session: SessionRecord, on handler: ServerHandler) {
        flush(session, on: handler)
        clearWaiting(session, on: handler)
    }

    func drop(_ session: SessionRecord, on handler: ServerHandler) {
        clearWaiting(session, on: handler)
        if let id = session.heldPoll { handler.connections.connection(id)?.close(reason: .local) }
    }

    /// Forgets what waits for the session, and counts it no longer against the memory budget.
    private func clearWaiting(_ session: SessionRecord, on handler: ServerHandler) {
        handler.memory.waitingBytes -= session.waitingBytes
        session.waiting = []
        session.waitingBytes = 0
    }

    private func flush(_ session: SessionRecord, on handler: ServerHandler) {
        guard !session.waiting.isEmpty, let id = session.heldPoll, let connection = handler.connections.connection(id) else { return }
        answer(connection)
    }
}

/// A room's packet as a polling session gets it: one line.
struct SessionLineEncoder: WireEncoder {
    func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8]) {
        SequencedPacket.append(message, sequence: sequence, to: &output)
        output.append(0x0A)
    }

    func maximumSize(of message: BroadcastMessage) -> Int { SequencedPacket.maximumSize(of: message) + 1 }
}
