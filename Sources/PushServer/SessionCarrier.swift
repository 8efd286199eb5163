import Broadcast
import Reactor

/// How one kind of transport carries sessions (WebSocket; SSE down with
/// POSTs up; long-polls with POSTs up): what the session table needs from it.
/// Each is one file with its routes, its connection transport if it has one,
/// and the wire format its sessions' room packets are encoded in.
protocol SessionCarrier: AnyObject, Sendable {
    /// `websocket`, `sse` or `polling`: what the handshake and the README call it.
    var name: String { get }
    /// The format a room's packets reach this carrier's sessions in.
    var format: WireFormat { get }

    /// Writes one packet (a JSON object) to the client, or keeps it for the next poll.
    func send(_ packet: UnsafeRawBufferPointer, to session: SessionRecord, on handler: ServerHandler)
    /// A room's packets, already in `format`; returns the bytes now waiting
    /// for the client, or nil when its transport is gone.
    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to session: SessionRecord, on handler: ServerHandler) -> Int?
    /// Bytes waiting for the client, or nil when its transport is gone.
    func queuedBytes(of session: SessionRecord, on handler: ServerHandler) -> Int?
    /// The session ended (its `close` packet, if any, was sent): end the transport politely.
    func end(_ session: SessionRecord, on handler: ServerHandler)
    /// End the transport abruptly, as a network failure would.
    func drop(_ session: SessionRecord, on handler: ServerHandler)
}

/// A carrier whose sessions each ride one connection on their loop (a
/// WebSocket, an event stream): room packets are written to it straight away.
protocol ConnectionCarrier: SessionCarrier {
    /// The connection that carries `session`, while it can still send.
    func connection(of session: SessionRecord, on handler: ServerHandler) -> ServerConnection?
}

extension ConnectionCarrier {
    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to session: SessionRecord, on handler: ServerHandler) -> Int? {
        guard let connection = connection(of: session, on: handler) else { return nil }
        connection.write(slices: slices)
        return connection.isOpen ? connection.queuedBytes : nil
    }

    func queuedBytes(of session: SessionRecord, on handler: ServerHandler) -> Int? {
        connection(of: session, on: handler)?.queuedBytes
    }

    func drop(_ session: SessionRecord, on handler: ServerHandler) {
        connection(of: session, on: handler)?.close(reason: .local)
    }
}
