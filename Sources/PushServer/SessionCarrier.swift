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

/// A packet published to a room, as sessions get it: the JSON object with
/// the room's sequence number added as its first field (`{"seq":N,...`).
/// The carriers' encoders frame what this makes.
enum SequencedPacket {
    /// Appends the packet with `"seq":N` spliced in after its opening brace.
    static func append(_ message: BroadcastMessage, sequence: UInt64, to output: inout [UInt8]) {
        output += Array("{\"seq\":\(sequence)".utf8)
        let payload = message.payload
        guard payload.count > 2, payload.first == UInt8(ascii: "{") else {
            output.append(UInt8(ascii: "}"))  // not an object with fields: only the sequence survives
            return
        }
        output.append(UInt8(ascii: ","))
        output += payload[1...]
    }

    /// Its size: the payload and at most 29 bytes of `{"seq":N,`.
    static func maximumSize(of message: BroadcastMessage) -> Int { message.payload.count + 29 }
}

/// What a server's session layer is, fixed when its routes are added: the
/// delegate, the limits, and the carriers it offers.
final class SessionService: Sendable {
    let configuration: SessionConfiguration
    let delegate: any SessionDelegate
    let carriers: [any SessionCarrier]

    init(configuration: SessionConfiguration, delegate: any SessionDelegate, carriers: [any SessionCarrier]) {
        self.configuration = configuration
        self.delegate = delegate
        self.carriers = carriers
    }
}

/// The session layer's limits. Every default is listed in the README.
public struct SessionConfiguration: Sendable {
    /// How often each session is sent a `ping` packet.
    public var pingInterval: Duration = .seconds(25)
    /// A session that sends nothing (not even a `pong`) for `pingInterval +
    /// pingTimeout` is closed.
    public var pingTimeout: Duration = .seconds(20)
    /// The largest packet a client may send, in bytes: a larger WebSocket
    /// message closes with 1009; a larger POST body gets 413 (the server's
    /// `maxBodySize` caps POSTs too).
    public var maxPayload = 65536
    /// The transports offered; a request for another gets 403, so clients fall back.
    public var transports: Set<SessionTransportKind> = [.webSocket, .eventStream, .polling]

    public init() {}
}

/// The ways a session can be carried.
public enum SessionTransportKind: String, Sendable, CaseIterable {
    case webSocket = "websocket"
    case eventStream = "sse"
    case polling
}
