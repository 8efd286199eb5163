/// A connection between two loops: its socket, the bytes the kernel has not
/// taken yet and the input its new loop must read first. Whoever holds it
/// owns the socket until `Connections.adopt` takes it; it crosses threads
/// once, in the post that carries it to its new loop, and is touched on one
/// side only.
public struct DetachedConnection: @unchecked Sendable {
    let descriptor: Int32
    let outbound: OutboundQueue?
    let input: [UInt8]
    /// Its TLS session, when it has one.
    let tls: TLSSession?
}
