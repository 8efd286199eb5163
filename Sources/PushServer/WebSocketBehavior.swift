import WebSocketCodec

/// What the server decides about an upgrade request.
public enum UpgradeDecision: Sendable {
    /// Accept, optionally naming one of the client's subprotocols.
    case accept(subprotocol: String? = nil)
    /// Refuse with an HTTP status (e.g. 403 for a foreign Origin) and a short reason.
    case reject(status: Int, reason: String)
}

/// A received message; its bytes are valid only during the callback.
public struct WebSocketMessage {
    public let opcode: Opcode
    public let payload: UnsafeRawBufferPointer

    public var isText: Bool { opcode == .text }
    /// The payload as a string (text messages are valid UTF-8 already).
    public var text: String { String(decoding: payload, as: UTF8.self) }
    public var bytes: [UInt8] { Array(payload) }
}

/// The callbacks of one WebSocket route (uWebSockets' behavior). Each runs on
/// the connection's loop; the `WebSocket` handle is valid during the call.
public struct WebSocketBehavior: Sendable {
    /// Accept or refuse by path, Origin and subprotocol. Default: accept.
    public var upgrade: @Sendable (UpgradeRequest) -> UpgradeDecision = { _ in .accept() }
    public var open: @Sendable (WebSocket, UpgradeRequest) -> Void = { _, _ in }
    public var message: @Sendable (WebSocket, WebSocketMessage) -> Void = { _, _ in }
    /// Everything queued for the socket was written (backpressure relieved).
    public var drain: @Sendable (WebSocket) -> Void = { _ in }
    /// Called once: the close code (1005 when the peer sent none, 1006 when
    /// the connection dropped without a close frame) and reason.
    public var close: @Sendable (WebSocket, CloseCode, String) -> Void = { _, _, _ in }
    /// The largest message this route accepts (larger ones close with
    /// 1009); nil: the server's `maxMessageSize`.
    public var maxMessageSize: Int?
    /// Whether its sockets join `ServerConfiguration.everyoneRoom` (a route
    /// whose clients speak a protocol of their own, as sessions do, does not).
    public var joinsEveryoneRoom = true

    public init() {}
}
