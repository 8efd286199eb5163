import Broadcast
import Reactor
import WebSocketCodec

/// Where a connection is in its life.
enum ConnectionPhase: UInt8 {
    /// Reading an HTTP request head.
    case http
    /// An open WebSocket.
    case webSocket
    /// A close frame went out (ours, or our reply to the peer's); waiting for the end.
    case closing
    /// A Server-Sent Events response that stays open.
    case eventStream
    /// An iframe-streaming response that stays open.
    case scriptStream
    /// A poll waiting for its answer (the room's history, or the next message).
    case polling
}

/// One connection's state, kept inline in its loop's table. An idle
/// WebSocket owns nothing outside it.
public struct ConnectionState: ConnectionContext {
    var phase = ConnectionPhase.http
    /// Sent a ping and heard nothing since.
    var awaitingPong = false
    /// The close callback already ran.
    var closeReported = false
    /// HTTP: a keep-alive response went out and no byte of another request
    /// has come; a timeout now closes quietly instead of answering 408.
    var betweenRequests = false
    /// HTTP: the client half-closed; answer what it asked (a poll in flight,
    /// requests kept behind it or behind backpressure), then close.
    var peerFinished = false
    /// Index of the WebSocket route in the server's table.
    var route: UInt16 = 0
    /// What a waiting poll must remember; nil otherwise.
    var poll: PendingPoll?
    var reader = WebSocketReader()
    /// The application's per-connection data.
    var userData: AnyObject?
    /// A small integer of the application's, for flags that need no allocation.
    var tag: UInt32 = 0
    /// Rooms joined: the first inline, others (rare) in an array.
    var firstRoom = RoomMembership.none
    var moreRooms: [RoomMembership] = []

    public init() {}
}

extension RoomMembership {
    static let none = RoomMembership(room: .max, position: 0)
}

/// A poll waiting for its answer: allocated per poll, dropped with the answer.
final class PendingPoll {
    /// The sequence it asked to continue after.
    let since: UInt64
    /// Asked with `wait`: it is held until a message comes (else answered at once).
    let waits: Bool
    /// Response headers decided by the request (CORS, Connection: close).
    let extraHeaders: String
    let keepAlive: Bool

    init(since: UInt64, waits: Bool, extraHeaders: String, keepAlive: Bool) {
        self.since = since
        self.waits = waits
        self.extraHeaders = extraHeaders
        self.keepAlive = keepAlive
    }
}
