import Broadcast
import Reactor
import WebSocketCodec

/// The push techniques over plain HTTP, all fed by the same rooms as the
/// WebSockets: Server-Sent Events, iframe streaming and (long-)polling.
/// Each is a room member in its own wire format, so a message is encoded
/// once per format and every subscriber sends from the same bytes.
extension ServerHandler {
    // MARK: Server-Sent Events

    /// `GET /sse/ROOM`: `text/event-stream`, resuming after `Last-Event-ID`
    /// (header, or `?lastEventId=`) when given.
    func startEventStream(_ connection: Connection<ServerHandler>, room: String, head: HTTPRequestHead, cors: [(String, String)]?) {
        // An id that is not one of our sequence numbers (another server's) means: start live.
        let resumeAfter = head.header("Last-Event-ID").flatMap { UInt64($0) }
            ?? queryValue("lastEventId", in: head.query).flatMap { UInt64($0) }
        writeStreamHead(connection, contentType: "text/event-stream", cors: cors,
                        first: Array("retry: \(configuration.eventStreamRetry)\n\n".utf8))
        connection.context.phase = .eventStream
        statistics.openStreams += 1
        connection.setTimeout(nanoseconds: streamKeepAlive)
        join(connection, room, format: .eventStream, resumeAfter: resumeAfter, resumed: resumeResultHandler(connection))
    }

    // MARK: iframe streaming

    /// `GET /iframe/ROOM`: an HTML document that never ends, one
    /// `<script>parent.push(seq, "data"[, "event"])</script>` per message.
    func startScriptStream(_ connection: Connection<ServerHandler>, room: String, head: HTTPRequestHead, cors: [(String, String)]?) {
        // Browsers render a streamed document only after its first kilobyte or so.
        // The room name comes from the URL: escaped, or /iframe/%3Cscript%3E... would run in our origin.
        let prelude = "<!doctype html><meta charset=\"utf-8\"><title>\(Self.htmlEscaped(room))</title>\n<!--"
            + String(repeating: " ", count: 1024) + "-->\n"
        writeStreamHead(connection, contentType: "text/html; charset=utf-8", cors: cors, first: Array(prelude.utf8))
        connection.context.phase = .scriptStream
        statistics.openStreams += 1
        connection.setTimeout(nanoseconds: streamKeepAlive)
        join(connection, room, format: .scriptCall)
    }

    /// Text safe between HTML tags and in attribute values.
    static func htmlEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    private func writeStreamHead(_ connection: Connection<ServerHandler>, contentType: String, cors: [(String, String)]?, first: [UInt8]) {
        var head = "HTTP/1.1 200 OK\r\nContent-Type: \(contentType)\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nX-Accel-Buffering: no\r\n"
        for (name, value) in cors ?? [] { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        connection.write(Array(head.utf8) + chunk(first))
        statistics.httpResponses += 1
    }

    /// HEAD on an SSE, iframe or poll route: the head its GET would begin
    /// with, and nothing else: no room joined, no stream opened, no length
    /// (what the body would hold is not known without opening it).
    func answerHead(_ connection: Connection<ServerHandler>, _ head: HTTPRequestHead, of action: RouteTable.Action,
                    cors: [(String, String)]?) -> Bool {
        let keepAlive = head.versionMinor >= 1 && !head.hasToken("close", in: "Connection")
        var text = "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\n"
        switch action {
        case .eventStream: text += "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
        case .scriptStream: text += "Content-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
        default: text += "Content-Type: application/json\r\n"
        }
        for (name, value) in cors ?? [] { text += "\(name): \(value)\r\n" }
        if !keepAlive { text += "Connection: close\r\n" }
        connection.write(Array((text + "\r\n").utf8))
        statistics.httpResponses += 1
        return responseEnded(connection, keepAlive: keepAlive)
    }

    /// An idle stream gets a comment, so proxies do not time it out.
    func keepStreamAlive(_ connection: Connection<ServerHandler>) {
        let comment = connection.context.phase == .eventStream ? ": keep-alive\n\n" : "<!-- keep-alive -->\n"
        connection.write(chunk(Array(comment.utf8)))
        connection.setTimeout(nanoseconds: streamKeepAlive)
    }

    /// What an SSE stream is told when its resume point is older than the room's history.
    private func resumeResultHandler(_ connection: Connection<ServerHandler>) -> @Sendable (LoopBroadcaster.ResumeResult) -> Void {
        let handler = LoopBound(self, loop: connection.loop)
        let id = connection.id
        return { result in
            guard case .gapTooOld(let oldest, let last) = result,
                  let connection = handler.value.connections?.connection(id), connection.context.phase == .eventStream else { return }
            let data = "{\"oldestAvailable\":\(oldest.map(String.init) ?? "null"),\"last\":\(last)}"
            connection.write(handler.value.chunk(Array("event: gap\ndata: \(data)\n\n".utf8)))
        }
    }

    func chunk(_ body: [UInt8]) -> [UInt8] {
        Array(String(body.count, radix: 16).utf8) + [0x0D, 0x0A] + body + [0x0D, 0x0A]
    }

    // MARK: Polling and long-polling

    /// `GET /poll/ROOM?since=SEQ[&wait=SECONDS]`: the room's messages after
    /// SEQ (from its history), at once; with `wait`, held until there is one
    /// or the wait ends. Without `since`: at once, nothing but the room's
    /// last sequence, to start from. Returns whether the next request may be
    /// read now: the poll was answered at once and the connection stays open.
    func startPoll(_ connection: Connection<ServerHandler>, room: String, head: HTTPRequestHead, cors: [(String, String)]?) -> Bool {
        let sinceText = queryValue("since", in: head.query)
        let since = sinceText.flatMap { UInt64($0) }
        if sinceText != nil && since == nil {
            return finish(connection, head, HTTPReply(status: 400, body: Array("since must be a sequence number\n".utf8)), cors: cors)
        }
        var wait: UInt64 = 0
        if let waitText = queryValue("wait", in: head.query) {
            guard let seconds = waitText.isEmpty ? 25 : Double(waitText), seconds >= 0, seconds.isFinite else {
                return finish(connection, head, HTTPReply(status: 400, body: Array("wait must be a number of seconds\n".utf8)), cors: cors)
            }
            // Capped in seconds, before the conversion: 1e11 s in nanoseconds does not fit a UInt64.
            let longest = configuration.maxPollWait.nanoseconds
            wait = seconds * 1e9 >= Double(longest) ? longest : UInt64(seconds * 1e9)
        }
        let keepAlive = head.versionMinor >= 1 && !head.hasToken("close", in: "Connection")
        var extraHeaders = ""
        for (name, value) in cors ?? [] { extraHeaders += "\(name): \(value)\r\n" }
        if !keepAlive { extraHeaders += "Connection: close\r\n" }
        connection.context.phase = .polling
        connection.context.poll = PendingPoll(since: since ?? 0, waits: since != nil && wait > 0, extraHeaders: extraHeaders, keepAlive: keepAlive)
        statistics.openStreams += 1
        if wait > 0 { connection.setTimeout(nanoseconds: wait) } else { connection.clearTimeout() }
        let handler = LoopBound(self, loop: connection.loop)
        let id = connection.id
        join(connection, room, format: .pollElement, resumeAfter: since ?? .max) { result in
            // Messages after `since`, if any, were delivered (and answered) before this.
            guard let connection = handler.value.connections?.connection(id), connection.context.phase == .polling else { return }
            switch result {
            case .resumed(_, let last):
                // Answered now: a plain poll; or a client ahead of the room (it asked after a sequence
                // the room has not reached, as after a server restart), which learns the real last.
                if let poll = connection.context.poll, !poll.waits || poll.since > last {
                    handler.value.respondToPoll(connection, elements: nil, last: last, gap: nil)
                }
            case .gapTooOld(let oldest, let last):
                handler.value.respondToPoll(connection, elements: nil, last: last, gap: oldest ?? last)
            }
        }
        // The broadcaster answers at the end of this pass at the earliest, so the poll is normally still
        // held here and what follows it waits for resumeInput; should an answer ever come inside join,
        // the next request is read now instead of being dropped.
        return connection.isOpen && connection.context.phase == .http && keepAlive
    }

    /// Messages for a waiting poll: answer with them.
    func answerPoll(_ connection: Connection<ServerHandler>, _ slices: UnsafeBufferPointer<SharedSlice>, lastSequence: UInt64) {
        respondToPoll(connection, elements: slices, last: lastSequence, gap: nil)
    }

    /// The wait ended with nothing new.
    func answerPollWithNothing(_ connection: Connection<ServerHandler>) {
        respondToPoll(connection, elements: nil, last: connection.context.poll?.since ?? 0, gap: nil)
    }

    /// `{"room":"R","messages":[{"seq":N,"data":"..."},...],"last":N}`, plus
    /// `"gap":{"oldestAvailable":N}` when the asked-for messages are gone.
    /// The elements are the room's shared encodings, each starting with a
    /// comma; the first one's comma is skipped.
    private func respondToPoll(_ connection: Connection<ServerHandler>, elements: UnsafeBufferPointer<SharedSlice>?, last: UInt64, gap: UInt64?) {
        let room = connection.context.firstRoom == .none ? "" : rooms.roomName(at: connection.context.firstRoom.room)
        let prefix = Array("{\"room\":".utf8) + JSONString.quoted(Array(room.utf8)) + Array(",\"messages\":[".utf8)
        var suffix = "],\"last\":\(last)"
        if let gap { suffix += ",\"gap\":{\"oldestAvailable\":\(gap)}" }
        suffix += "}"
        var slices = Array(elements ?? UnsafeBufferPointer(start: nil, count: 0))
        if let first = slices.first { slices[0] = SharedSlice(first.buffer, start: first.start + 1, end: first.end) }
        let bodyLength = prefix.count + slices.reduce(0) { $0 + $1.count } + suffix.utf8.count
        guard let poll = connection.context.poll else { return }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache\r\nContent-Length: \(bodyLength)\r\n"
            + poll.extraHeaders + "\r\n"
        connection.write(Array(head.utf8) + prefix)
        slices.withUnsafeBufferPointer { connection.write(slices: $0) }
        connection.write(Array(suffix.utf8))
        // A write that met a reset closed the connection, and its close already counted the stream out.
        guard connection.isOpen else { return }
        statistics.httpResponses += 1
        statistics.openStreams -= 1
        leaveAllRooms(connection)
        connection.context.phase = .http
        connection.context.poll = nil
        if responseEnded(connection, keepAlive: poll.keepAlive) {
            let more = connection.resumeInput()  // requests pipelined behind the poll
            if !more && connection.context.peerFinished {
                closeWhenFlushed(connection)
            }
        }
    }
}
