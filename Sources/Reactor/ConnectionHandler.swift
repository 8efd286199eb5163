/// Per-connection state a handler keeps inline in the loop's connection
/// table: no allocation of its own. `init()` is the state of a fresh slot.
public protocol ConnectionContext {
    init()
}

/// Why a connection ended, as its owner sees it.
public enum CloseReason: Sendable, Equatable, CustomStringConvertible {
    /// This side called `close()`.
    case local
    /// The peer closed its side (end of stream).
    case peerClosed
    /// The peer reset the connection, or vanished while we wrote (ECONNRESET, EPIPE).
    case reset
    /// The connection's timeout expired.
    case timedOut
    /// A non-blocking connect failed.
    case connectFailed(SystemError)
    /// Any other socket error.
    case failed(SystemError)
    /// TLS failed: a handshake the peer broke off or got wrong (a certificate
    /// that does not verify, on the client side), or a record that does not decrypt.
    case tlsFailed(String)
    /// The loop is shutting down.
    case shutdown

    public var description: String {
        switch self {
        case .local: "closed locally"
        case .peerClosed: "closed by peer"
        case .reset: "reset by peer"
        case .timedOut: "timed out"
        case .connectFailed(let error): "connect failed: \(error)"
        case .failed(let error): "failed: \(error)"
        case .tlsFailed(let reason): "TLS failed: \(reason)"
        case .shutdown: "shut down"
        }
    }
}

/// The callbacks of one kind of connection (uSockets' socket context, with
/// the socket first). Each is called on the connection's loop.
public protocol ConnectionHandler: AnyObject, SendableMetatype {
    associatedtype Context: ConnectionContext

    /// The handler now serves `connections` (once, before any connection opens).
    func attached(to connections: Connections<Self>)
    /// Accepted, an outgoing connect completed, or moved here from another loop (`Connections.adopt`).
    func connectionOpened(_ connection: Connection<Self>)
    /// Input arrived. `bytes` (which may be modified in place) starts with any
    /// bytes left unconsumed last time. Return how many were consumed; the
    /// rest is kept and presented again with the next input.
    func connection(_ connection: Connection<Self>, received bytes: UnsafeMutableRawBufferPointer) -> Int
    /// Everything queued has been written: a good time to produce more.
    func connectionDrained(_ connection: Connection<Self>)
    /// The peer finished sending (half-close). Default: close.
    func connectionReadEnded(_ connection: Connection<Self>)
    /// The deadline set with `setTimeout` passed. Default: close with `.timedOut`.
    func connectionTimedOut(_ connection: Connection<Self>)
    /// A graceful shutdown began. Default: close.
    func connectionShuttingDown(_ connection: Connection<Self>)
    /// The connection is gone; its context is still readable here, for the last time.
    func connectionClosed(_ connection: Connection<Self>, reason: CloseReason)
}

extension ConnectionHandler {
    public func attached(to connections: Connections<Self>) {}
    public func connectionDrained(_ connection: Connection<Self>) {}
    public func connectionReadEnded(_ connection: Connection<Self>) { connection.close(reason: .peerClosed) }
    public func connectionTimedOut(_ connection: Connection<Self>) { connection.close(reason: .timedOut) }
    public func connectionShuttingDown(_ connection: Connection<Self>) { connection.close(reason: .shutdown) }
}
