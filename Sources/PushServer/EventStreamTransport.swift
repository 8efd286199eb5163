import Broadcast
import Reactor
import WebSocketCodec

/// `GET /sse/ROOM`: a room's messages as Server-Sent Events, resuming after
/// `Last-Event-ID` (header, or `?lastEventId=`) when given. The connection
/// stays a room member in the SSE wire format until the client goes.
final class EventStreamTransport: RoomStreamTransport, HTTPEndpoint {
    let index: UInt8
    let label = "sse"
    let format: WireFormat
    let keepAlive = Array(": keep-alive\n\n".utf8)

    init(index: UInt8, format: WireFormat) {
        self.index = index
        self.format = format
    }

    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        let handler = handler(of: connection)
        guard let room = URLComponent.roomName(call.rest) else {
            return HTTPFrontDoor.finish(connection, call.head, .roomNameMissing, cors: call.cors)
        }
        if call.head.method == "HEAD" {
            return HTTPFrontDoor.answerHead(connection, call.head, contentType: "text/event-stream", chunked: true, cors: call.cors)
        }
        guard let options = SubscriptionOptions(query: call.head.query) else {
            return HTTPFrontDoor.finish(connection, call.head, .badSubscriptionQuery, cors: call.cors)
        }
        // An id that is not one of our sequence numbers (another server's) means: start live.
        let resumeAfter = call.head.header("Last-Event-ID").flatMap { UInt64($0) }
            ?? QueryString.value("lastEventId", in: call.head.query).flatMap { UInt64($0) }
        ChunkedStream.writeHead(connection, contentType: "text/event-stream", cors: call.cors,
                                first: Array("retry: \(handler.configuration.eventStreamRetry)\n\n".utf8))
        open(connection, room: room, format: format, options: options, resumeAfter: resumeAfter, resumed: gapReporter(for: connection))
        return .done
    }

    /// What the stream is told when its resume point is older than the room's history.
    private func gapReporter(for connection: ServerConnection) -> @Sendable (LoopBroadcaster.ResumeResult) -> Void {
        let handler = LoopBound(handler(of: connection), loop: connection.loop)
        let id = connection.id, index = index
        return { result in
            guard case .gapTooOld(let oldest, let last) = result,
                  let connection = handler.value.connections.connection(id), connection.context.transport == index else { return }
            let data = "{\"oldestAvailable\":\(oldest.map(String.init) ?? "null"),\"last\":\(last)}"
            connection.write(ChunkedStream.chunk(Array("event: gap\ndata: \(data)\n\n".utf8)))
        }
    }

}

/// A message as one SSE event in one chunk: `id: SEQ`, `event: NAME` (or
/// `event: binary` for a binary message, sent as Base64), one `data:` line
/// per line of the text, a blank line.
struct EventStreamEncoder: WireEncoder {
    func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8]) {
        var event = Array("id: \(sequence)\n".utf8)
        if let name = message.name {
            event += Array("event: \(name)\n".utf8)
        } else if message.opcode == .binary {
            event += Array("event: binary\n".utf8)
        }
        let text = message.opcode == .binary ? Array(Base64.encode(message.payload).utf8) : message.payload
        Self.appendDataLines(text, to: &event)
        event.append(0x0A)
        ChunkedStream.appendChunk(event, to: &output)
    }

    /// One `data: ` line per line of `text`, split at CRLF, LF or CR, as the EventSource parser splits them.
    static func appendDataLines(_ text: [UInt8], to out: inout [UInt8]) {
        var lineStart = 0
        var index = 0
        func emit(upTo end: Int) {
            out += Array("data: ".utf8)
            out += text[lineStart..<end]
            out.append(0x0A)
        }
        while index < text.count {
            let byte = text[index]
            if byte == 0x0D || byte == 0x0A {
                emit(upTo: index)
                if byte == 0x0D && index + 1 < text.count && text[index + 1] == 0x0A { index += 1 }
                lineStart = index + 1
            }
            index += 1
        }
        emit(upTo: text.count)
    }

    func maximumSize(of message: BroadcastMessage) -> Int {
        // Every byte a line break: 7 bytes ("data: " and the newline) each.
        (message.payload.count + (message.name?.utf8.count ?? 0)) * 7 + 64 + ChunkedStream.framingSize
    }
}

extension PushServer {
    /// Server-Sent Events of the room named by the "*" of `pattern` (e.g. "/sse/*").
    public func eventStreams(_ pattern: PathPattern) {
        let transport = transport(EventStreamTransport.self) { index, formats in
            EventStreamTransport(index: index, format: formats.register(EventStreamEncoder()))
        }
        add("GET", pattern, transport)
    }
}
