import Glibc
import Synchronization

/// A listening server across a group: on every loop a `Listener` (all bound
/// to the same address with SO_REUSEPORT) feeding that loop's `Connections`.
public final class TCPServer<Handler: ConnectionHandler>: Sendable {
    public let group: EventLoopGroup
    /// The address actually bound (port 0 resolved).
    public let address: SocketAddress
    private let perLoop: [LoopBound<Connections<Handler>>]

    /// Binds `host:port` on every loop of `group` and starts accepting.
    /// `makeHandler` runs once per loop, on that loop. Port 0 picks a free port.
    /// With `tls`, the port speaks TLS only (see `Connections.init`).
    /// `backlog`: each loop's listen queue (see `Listener.bind`).
    public init(
        group: EventLoopGroup,
        host: String,
        port: Int,
        tickInterval: UInt64 = 1_000_000_000,
        tls: TLSContext? = nil,
        backlog: Int32 = Listener.defaultBacklog,
        makeHandler: @escaping @Sendable (EventLoop) -> Handler
    ) throws(SystemError) {
        self.group = group
        // The first bind resolves port 0; the others join that port.
        var address = try SocketAddress(host: host, port: port)
        if port != 0 { try Listener.ensureUnused(address) }
        var descriptors: [Int32] = []
        do {
            for _ in group.loops {
                let descriptor = try Listener.bind(address, backlog: backlog)
                if descriptors.isEmpty { address = try SocketAddress(localAddressOf: descriptor) }
                descriptors.append(descriptor)
            }
        } catch {
            for descriptor in descriptors { close(descriptor) }
            throw error
        }
        self.address = address
        let created = Mutex<[Int: LoopBound<Connections<Handler>>]>([:])
        let bound = descriptors
        group.onEveryLoop { loop in
            let connections = Connections(loop: loop, handler: makeHandler(loop), tickInterval: tickInterval, tls: tls)
            _ = Listener(loop: loop, descriptor: bound[loop.index]) { connections.adopt($0) }
            created.withLock { $0[loop.index] = LoopBound(connections, loop: loop) }
        }
        perLoop = created.withLock { table in group.loops.map { table[$0.index]! } }
    }

    public var port: Int { address.port }

    /// The connections of the loop at `index`; use only on that loop.
    public func connections(onLoop index: Int) -> LoopBound<Connections<Handler>> { perLoop[index] }
}
