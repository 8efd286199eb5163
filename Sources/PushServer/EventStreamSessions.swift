import Broadcast
import Reactor
import WebSocketCodec

/// Sessions over Server-Sent Events (`GET PATH/sse`) down, and POSTs up
/// (`SessionPosts`): the stream opens the session; each packet is one event,
/// `data: PACKET` and a blank line. The stream's connection carries the
/// session while it lasts; when it ends, so does the session.
final class EventStreamSessions: ConnectionTransport, HTTPEndpoint, ConnectionCarrier {
    let index: UInt8
    let label = "session_sse"
    let format: WireFormat
    let name = SessionTransportKind.eventStream.rawValue
    let offered: Bool

    init(index: UInt8, format: WireFormat, offered: Bool) {
        self.index = index
        self.format = format
        self.offered = offered
    }

    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        guard offered else {
            return HTTPFrontDoor.finish(connection, call.head, .transportNotOffered(name), cors: call.cors)
        }
        if call.head.method == "HEAD" {
            return HTTPFrontDoor.answerHead(connection, call.head, contentType: "text/event-stream", chunked: true, cors: call.cors)
        }
        let handler = handler(of: connection)
        // A comment first: the head and a byte of body reach the client at once (proxies, fetch).
        ChunkedStream.writeHead(connection, contentType: "text/event-stream", cors: call.cors, first: Array(": session\n\n".utf8))
        connection.context.transport = index
        handler.statistics.openStreams += 1
        connection.setTimeout(nanoseconds: handler.streamKeepAlive)
        let handshake = SessionHandshake(transport: name, head: call.head, peerAddress: connection.peerAddress)
        connection.context.transportState = handler.sessions.open(carrier: self, connection: connection.id, handshake: handshake)
        return .done
    }

    private func record(of connection: ServerConnection) -> SessionRecord? {
        connection.context.transport == index ? connection.context.transportState as? SessionRecord : nil
    }

    // MARK: ConnectionTransport

    func received(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        bytes.count  // what the client says comes by POST
    }

    func drained(_ connection: ServerConnection) {
        if let record = record(of: connection) { handler(of: connection).sessions.drained(record) }
    }

    func timedOut(_ connection: ServerConnection) {
        connection.write(ChunkedStream.chunk(Array(": keep-alive\n\n".utf8)))
        connection.setTimeout(nanoseconds: handler(of: connection).streamKeepAlive)
    }

    func shuttingDown(_ connection: ServerConnection) {
        guard let record = record(of: connection) else { return connection.close(reason: .shutdown) }
        handler(of: connection).sessions.close(record, reason: "server shutting down", tellClient: true)
    }

    func closed(_ connection: ServerConnection, reason: CloseReason) {
        let handler = handler(of: connection)
        handler.statistics.openStreams -= 1
        if let record = record(of: connection) { handler.sessions.carrierEnded(record, reason: "stream \(reason)") }
    }

    // MARK: SessionCarrier

    func connection(of session: SessionRecord, on handler: ServerHandler) -> ServerConnection? {
        guard let id = session.connection, let connection = handler.connections.connection(id), connection.context.transport == index
        else { return nil }
        return connection
    }

    func send(_ packet: UnsafeRawBufferPointer, to session: SessionRecord, on handler: ServerHandler) {
        guard let connection = connection(of: session, on: handler) else { return }
        connection.write(ChunkedStream.chunk(Array("data: ".utf8) + packet + [0x0A, 0x0A]))
    }

    /// The last chunk ends the response; the connection closes once it is sent.
    func end(_ session: SessionRecord, on handler: ServerHandler) {
        guard let connection = connection(of: session, on: handler) else { return }
        connection.context.transportState = nil
        connection.write(Array("0\r\n\r\n".utf8))
        handler.closeWhenFlushed(connection)
    }
}

/// A room's packet as an SSE session gets it: one event, in one chunk.
struct SessionEventEncoder: WireEncoder {
    func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8]) {
        var event = Array("data: ".utf8)
        SequencedPacket.append(message, sequence: sequence, to: &event)
        event += [0x0A, 0x0A]
        ChunkedStream.appendChunk(event, to: &output)
    }

    func maximumSize(of message: BroadcastMessage) -> Int { SequencedPacket.maximumSize(of: message) + 8 + ChunkedStream.framingSize }
}

extension HTTPReply {
    /// A session transport the server was configured without: the client falls back to the next.
    static func transportNotOffered(_ name: String) -> HTTPReply {
        HTTPReply(status: 403, headers: [("Content-Type", "application/json")],
                  body: Array("{\"error\":\"this server does not offer \(name) sessions\"}".utf8))
    }
}
