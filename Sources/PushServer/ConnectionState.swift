import Broadcast
import Reactor
import WebSocketCodec

/// One connection's state, kept inline in its loop's table. An idle
/// WebSocket owns nothing outside it.
public struct ConnectionState: ConnectionContext {
    /// The transport that serves the connection now, by its index in the
    /// server's table (`ServerTransports`): the HTTP front door until a
    /// request hands it to another.
    var transport = ServerTransports.frontDoor

    // HTTP requests
    /// A keep-alive response went out and no byte of another request has
    /// come; a timeout now closes quietly instead of answering 408.
    var betweenRequests = false
    /// The client half-closed; answer what it asked (a poll in flight,
    /// requests kept behind it or behind backpressure), then close.
    var peerFinished = false

    // WebSocket
    /// A close frame went out (ours, or our reply to the peer's); waiting for the end.
    var closing = false
    /// Sent a ping and heard nothing since.
    var awaitingPong = false
    /// The close callback already ran.
    var closeReported = false
    /// Index of the WebSocket route in the server's table.
    var route: UInt16 = 0
    var reader = WebSocketReader()

    /// What the transport keeps for this connection beyond these fields (a
    /// held poll, the session a stream carries); nil for most.
    var transportState: AnyObject?
    /// The application's per-connection data.
    var userData: AnyObject?
    /// A small integer of the application's, for flags that need no allocation.
    var tag: UInt32 = 0
    /// permessage-deflate: agreed or not, and how. One byte, here where alignment leaves room for
    /// it; the rest is the loop's.
    var deflate = DeflateAgreement.none
    /// Rooms joined: the first inline, others (rare) in an array.
    var firstRoom = RoomMembership.none
    var moreRooms: [RoomMembership] = []

    public init() {}
}

extension RoomMembership {
    static let none = RoomMembership(room: .max, position: 0)
}
