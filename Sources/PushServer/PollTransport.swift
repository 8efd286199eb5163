import Broadcast
import Reactor
import WebSocketCodec

/// `GET /poll/ROOM?since=SEQ[&wait=SECONDS]`: polling and long-polling. The
/// room's messages after SEQ (from its history), at once; with `wait`, held
/// until there is one or the wait ends. Without `since`: at once, nothing
/// but the room's last sequence, to start from. A held poll is a room member
/// in the poll wire format until it is answered; then the connection goes
/// back to reading requests (those pipelined behind it first).
final class PollTransport: ConnectionTransport, HTTPEndpoint {
    let index: UInt8
    let label = "poll"
    let format: WireFormat

    init(index: UInt8, format: WireFormat) {
        self.index = index
        self.format = format
    }

    /// What a waiting poll must remember: allocated per poll, dropped with the answer.
    final class PendingPoll {
        let room: String
        /// The sequence it asked to continue after.
        let since: UInt64
        /// Asked with `wait`: it is held until a message comes (else answered at once).
        let waits: Bool
        /// Response headers decided by the request (CORS, Connection: close).
        let extraHeaders: String
        let keepAlive: Bool

        init(room: String, since: UInt64, waits: Bool, extraHeaders: String, keepAlive: Bool) {
            self.room = room
            self.since = since
            self.waits = waits
            self.extraHeaders = extraHeaders
            self.keepAlive = keepAlive
        }
    }

    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        let handler = handler(of: connection)
        let head = call.head
        guard let room = URLComponent.roomName(call.rest) else {
            return HTTPFrontDoor.finish(connection, head, .roomNameMissing, cors: call.cors)
        }
        if head.method == "HEAD" {
            return HTTPFrontDoor.answerHead(connection, head, contentType: "application/json", chunked: false, cors: call.cors)
        }
        let sinceText = QueryString.value("since", in: head.query)
        let since = sinceText.flatMap { UInt64($0) }
        if sinceText != nil && since == nil {
            return HTTPFrontDoor.finish(connection, head, HTTPReply(status: 400, body: Array("since must be a sequence number\n".utf8)), cors: call.cors)
        }
        var wait: UInt64 = 0
        if let waitText = QueryString.value("wait", in: head.query) {
            guard let seconds = waitText.isEmpty ? 25 : Double(waitText), seconds >= 0, seconds.isFinite else {
                return HTTPFrontDoor.finish(connection, head, HTTPReply(status: 400, body: Array("wait must be a number of seconds\n".utf8)), cors: call.cors)
            }
            // Capped in seconds, before the conversion: 1e11 s in nanoseconds does not fit a UInt64.
            let longest = handler.configuration.maxPollWait.nanoseconds
            wait = seconds * 1e9 >= Double(longest) ? longest : UInt64(seconds * 1e9)
        }
        let keepAlive = HTTPFrontDoor.wantsKeepAlive(head)
        var extraHeaders = ""
        for (name, value) in call.cors ?? [] { extraHeaders += "\(name): \(value)\r\n" }
        if !keepAlive { extraHeaders += "Connection: close\r\n" }
        connection.context.transport = index
        connection.context.transportState = PendingPoll(room: room, since: since ?? 0, waits: since != nil && wait > 0,
                                                        extraHeaders: extraHeaders, keepAlive: keepAlive)
        handler.statistics.openStreams += 1
        if wait > 0 { connection.setTimeout(nanoseconds: wait) } else { connection.clearTimeout() }
        let connections = LoopBound(connection.connections, loop: connection.loop)
        let id = connection.id
        handler.join(connection, room, format: format, resumeAfter: since ?? .max) { [self] result in
            // Messages after `since`, if any, were delivered (and answered) before this.
            guard let connection = connections.value.connection(id), let poll = pendingPoll(of: connection) else { return }
            switch result {
            case .resumed(_, let last):
                // Answered now: a plain poll; or a client ahead of the room (it asked after a sequence
                // the room has not reached, as after a server restart), which learns the real last.
                if !poll.waits || poll.since > last {
                    respond(connection, elements: nil, last: last, gap: nil)
                }
            case .gapTooOld(let oldest, let last):
                respond(connection, elements: nil, last: last, gap: oldest ?? last)
            }
        }
        // The broadcaster answers at the end of this pass at the earliest, so the poll is normally still
        // held here and what follows it waits for resumeInput; should an answer ever come inside join,
        // the next request is read now instead of being dropped.
        return connection.isOpen && connection.context.transport == ServerTransports.frontDoor && keepAlive ? .next : .hold
    }

    private func pendingPoll(of connection: ServerConnection) -> PendingPoll? {
        guard connection.context.transport == index else { return nil }
        return connection.context.transportState as? PendingPoll
    }

    // MARK: ConnectionTransport

    func received(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        0  // pipelined requests wait until the poll is answered
    }

    /// The wait ended with nothing new.
    func timedOut(_ connection: ServerConnection) {
        respond(connection, elements: nil, last: pendingPoll(of: connection)?.since ?? 0, gap: nil)
    }

    /// A half-close behind a poll answered at once is a client that sent its
    /// last request; behind a held long-poll, a client gone away.
    func readEnded(_ connection: ServerConnection) {
        if pendingPoll(of: connection)?.waits == false {
            connection.context.peerFinished = true
        } else {
            connection.close(reason: .peerClosed)
        }
    }

    func closed(_ connection: ServerConnection, reason: CloseReason) {
        handler(of: connection).statistics.openStreams -= 1
    }

    /// Messages for a waiting poll: answer with them.
    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to connection: ServerConnection, lastSequence: UInt64) -> Int? {
        respond(connection, elements: slices, last: lastSequence, gap: nil)
        return 0
    }

    func evict(_ connection: ServerConnection) {
        handler(of: connection).statistics.slowSubscriberEvictions += 1
        connection.close(reason: .local)
    }

    /// `{"room":"R","messages":[{"seq":N,"data":"..."},...],"last":N}`, plus
    /// `"gap":{"oldestAvailable":N}` when the asked-for messages are gone.
    /// The elements are the room's shared encodings, each starting with a
    /// comma; the first one's comma is skipped.
    private func respond(_ connection: ServerConnection, elements: UnsafeBufferPointer<SharedSlice>?, last: UInt64, gap: UInt64?) {
        guard let poll = pendingPoll(of: connection) else { return }
        let handler = handler(of: connection)
        let prefix = Array("{\"room\":".utf8) + JSONString.quoted(Array(poll.room.utf8)) + Array(",\"messages\":[".utf8)
        var suffix = "],\"last\":\(last)"
        if let gap { suffix += ",\"gap\":{\"oldestAvailable\":\(gap)}" }
        suffix += "}"
        var slices = Array(elements ?? UnsafeBufferPointer(start: nil, count: 0))
        if let first = slices.first { slices[0] = SharedSlice(first.buffer, start: first.start + 1, end: first.end) }
        let bodyLength = prefix.count + slices.reduce(0) { $0 + $1.count } + suffix.utf8.count
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache\r\nContent-Length: \(bodyLength)\r\n"
            + poll.extraHeaders + "\r\n"
        connection.write(Array(head.utf8) + prefix)
        slices.withUnsafeBufferPointer { connection.write(slices: $0) }
        connection.write(Array(suffix.utf8))
        // A write that met a reset closed the connection, and its close already counted the stream out.
        guard connection.isOpen else { return }
        handler.statistics.httpResponses += 1
        handler.statistics.openStreams -= 1
        handler.leaveAllRooms(connection)
        handler.returnToFrontDoor(connection, keepAlive: poll.keepAlive)
    }
}

/// A message as one element of a poll answer's `messages` array, with a
/// leading comma: `,{"seq":N,"event":"NAME","data":"..."}`; binary payloads as
/// Base64 with `"binary":true`.
struct PollElementEncoder: WireEncoder {
    func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8]) {
        output += Array(",{\"seq\":\(sequence)".utf8)
        if let name = message.name { output += Array(",\"event\":".utf8) + JSONString.quoted(Array(name.utf8)) }
        if let key = message.key { output += Array(",\"key\":".utf8) + JSONString.quoted(Array(key.utf8)) }
        if message.opcode == .binary {
            output += Array(",\"binary\":true,\"data\":".utf8) + JSONString.quoted(Array(Base64.encode(message.payload).utf8))
        } else {
            output += Array(",\"data\":".utf8) + JSONString.quoted(message.payload)
        }
        output.append(UInt8(ascii: "}"))
    }

    func maximumSize(of message: BroadcastMessage) -> Int {
        // Every byte escaped as \u00XX.
        (message.payload.count + (message.name?.utf8.count ?? 0) + (message.key?.utf8.count ?? 0)) * 6 + 64
    }
}

extension PushServer {
    /// Polling and long-polling of the room named by the "*" of `pattern` (e.g. "/poll/*").
    public func polling(_ pattern: PathPattern) {
        let transport = transport(PollTransport.self) { index, formats in
            PollTransport(index: index, format: formats.register(PollElementEncoder()))
        }
        add("GET", pattern, transport)
    }
}
