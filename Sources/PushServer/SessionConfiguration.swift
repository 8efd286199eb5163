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
