import Broadcast
import Reactor
import WebSocketCodec

typealias ServerConnection = Connection<ServerHandler>

/// What serves a connection: the HTTP front door while requests are read,
/// then whatever a request turned it into (a WebSocket, an event stream, a
/// held poll...). Each transport is one type, shared by every loop, keeping
/// its per-connection state in `ConnectionState`. `ServerHandler` hands every
/// event of a connection to the transport its state names, so a new
/// transport is a new file, not a new case in a switch. Every call runs on
/// the connection's loop.
protocol ConnectionTransport: AnyObject, Sendable {
    /// Position in the server's table: what `ConnectionState.transport` holds.
    var index: UInt8 { get }
    /// What `/metrics` calls the connections it serves (`transport` label).
    var label: String { get }

    /// Input arrived: return how many bytes were consumed (the rest is
    /// presented again with more input).
    func received(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int
    /// Everything queued for the connection was written.
    func drained(_ connection: ServerConnection)
    /// The connection's timeout expired.
    func timedOut(_ connection: ServerConnection)
    /// The peer half-closed.
    func readEnded(_ connection: ServerConnection)
    /// A graceful shutdown began.
    func shuttingDown(_ connection: ServerConnection)
    /// The connection is gone (its rooms are left by the server afterwards).
    func closed(_ connection: ServerConnection, reason: CloseReason)

    /// A room's messages for the connection, already in its transport's wire
    /// format; returns the bytes now queued for it, or nil when it is gone.
    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to connection: ServerConnection, lastSequence: UInt64) -> Int?
    /// The connection has more queued than a room member may (close policy).
    func evict(_ connection: ServerConnection)
}

extension ConnectionTransport {
    func drained(_ connection: ServerConnection) {}
    func readEnded(_ connection: ServerConnection) { connection.close(reason: .peerClosed) }
    func shuttingDown(_ connection: ServerConnection) { connection.close(reason: .shutdown) }
    func closed(_ connection: ServerConnection, reason: CloseReason) {}

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to connection: ServerConnection, lastSequence: UInt64) -> Int? {
        nil  // not a room member
    }

    func evict(_ connection: ServerConnection) {}

    /// The loop's handler: routes, configuration, rooms, counters.
    func handler(of connection: ServerConnection) -> ServerHandler { connection.connections.handler }
}

/// A transport behind a `let`, so that a cell lent by a `LentList` lends the
/// transport too: an existential has no unmanaged form of its own.
final class TransportCell {
    let transport: any ConnectionTransport

    init(_ transport: any ConnectionTransport) { self.transport = transport }
}

/// The transports of one server, in index order, and the wire formats their
/// room members use. Assembled before the server starts, then fixed and
/// shared by every loop.
struct ServerTransports: Sendable {
    static let frontDoor: UInt8 = 0
    static let webSocket: UInt8 = 1

    private(set) var all: [any ConnectionTransport] = [HTTPFrontDoor(index: frontDoor), WebSocketTransport(index: webSocket)]
    private(set) var formats = WireFormatRegistry()
    /// The session layer, when the server has one.
    var sessions: SessionService?
    /// permessage-deflate, when the server offers it.
    private(set) var deflate: ServerDeflate?

    /// A wire format no connection transport owns (the sessions' WebSocket packets).
    mutating func register(_ encoder: any WireEncoder) -> WireFormat { formats.register(encoder) }

    /// Offers permessage-deflate with `policy` on the WebSocket routes, and registers its room format.
    mutating func offerDeflate(_ policy: PerMessageDeflate.ServerPolicy) {
        precondition(deflate == nil, "permessage-deflate is offered once")
        deflate = ServerDeflate(policy: policy, formats: &formats)
    }

    /// The server's one transport of type `T`, made (with the next index,
    /// and the wire format it registers) on first use.
    mutating func transport<T: ConnectionTransport>(_ type: T.Type, make: (UInt8, inout WireFormatRegistry) -> T) -> T {
        if let existing = all.first(where: { $0 is T }) { return existing as! T }
        precondition(all.count < Int(UInt8.max), "too many transports")
        let made = make(UInt8(all.count), &formats)
        all.append(made)
        return made
    }

    subscript(index: UInt8) -> any ConnectionTransport { all[Int(index)] }
}
