import Broadcast
import Reactor

/// What the streaming responses share (Server-Sent Events, iframe streaming,
/// the event stream of a session): a chunked HTTP/1.1 response that stays
/// open, whose chunks each carry whole messages.
enum ChunkedStream {
    /// The response head and a first chunk.
    static func writeHead(_ connection: ServerConnection, contentType: String, cors: [(String, String)]?, first: [UInt8]) {
        var head = "HTTP/1.1 200 OK\r\nContent-Type: \(contentType)\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nX-Accel-Buffering: no\r\n"
        for (name, value) in cors ?? [] { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        connection.write(Array(head.utf8) + chunk(first))
        connection.connections.handler.statistics.httpResponses += 1
    }

    /// An HTTP/1.1 chunk: hex length, CRLF, the bytes, CRLF.
    static func chunk(_ body: [UInt8]) -> [UInt8] {
        Array(String(body.count, radix: 16).utf8) + [0x0D, 0x0A] + body + [0x0D, 0x0A]
    }

    /// Appends `body` as a chunk to `output` (for wire encoders).
    static func appendChunk(_ body: [UInt8], to output: inout [UInt8]) {
        output += Array(String(body.count, radix: 16).utf8)
        output += [0x0D, 0x0A]
        output += body
        output += [0x0D, 0x0A]
    }

    /// A chunk's framing bytes at most, for size bounds.
    static let framingSize = 20
}

extension HTTPReply {
    /// `/sse/`, `/poll/`, `/iframe/`, `/publish/` with no room, or a malformed one.
    static let roomNameMissing = HTTPReply(status: 400, body: Array("a room name is missing or malformed\n".utf8))

    /// A subscriber's `rate` that is not a positive number of updates a second.
    static let badSubscriptionQuery = HTTPReply(status: 400, body: Array("rate must be a positive number of updates a second\n".utf8))
}

/// A connection that is an open chunked stream of one room's messages
/// (Server-Sent Events, iframe streaming): the transports differ in how a
/// message looks and how the stream begins, and are alike in everything else.
protocol RoomStreamTransport: ConnectionTransport {
    /// Sent after `streamKeepAlive` of silence, so proxies keep the stream open.
    var keepAlive: [UInt8] { get }
}

extension RoomStreamTransport {
    func received(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        bytes.count  // a streaming client has nothing more to say
    }

    func drained(_ connection: ServerConnection) {
        handler(of: connection).membershipsDrained(connection)
    }

    func timedOut(_ connection: ServerConnection) {
        connection.write(ChunkedStream.chunk(keepAlive))
        connection.setTimeout(nanoseconds: handler(of: connection).streamKeepAlive)
    }

    func closed(_ connection: ServerConnection, reason: CloseReason) {
        handler(of: connection).statistics.openStreams -= 1
    }

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to connection: ServerConnection, lastSequence: UInt64) -> Int? {
        connection.write(slices: slices)
        return connection.isOpen ? connection.queuedBytes : nil
    }

    /// An HTTP stream has no closing handshake to queue behind the backlog: it ends now.
    func evict(_ connection: ServerConnection) {
        handler(of: connection).statistics.slowSubscriberEvictions += 1
        connection.close(reason: .local)
    }

    /// The connection becomes this stream, a member of `room` (after its head went out).
    func open(_ connection: ServerConnection, room: String, format: WireFormat, options: SubscriptionOptions = SubscriptionOptions(),
              resumeAfter: UInt64? = nil, resumed: (@Sendable (LoopBroadcaster.ResumeResult) -> Void)? = nil) {
        let handler = handler(of: connection)
        connection.context.transport = index
        handler.statistics.openStreams += 1
        connection.setTimeout(nanoseconds: handler.streamKeepAlive)
        handler.join(connection, room, format: format, options: options, resumeAfter: resumeAfter, resumed: resumed)
    }
}
