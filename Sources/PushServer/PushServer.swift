import Broadcast
import Reactor
import Synchronization
import WebSocketCodec

/// An HTTP + WebSocket server on a group of event loops: routes are added,
/// then `start` binds every loop to the address (SO_REUSEPORT).
///
///     let server = PushServer(configuration: configuration)
///     server.webSocket("/echo") { behavior in
///         behavior.message = { socket, message in socket.send(message.payload, opcode: message.opcode) }
///     }
///     server.get("/") { _ in HTTPReply(contentType: "text/html", body: page) }
///     try server.start()
public final class PushServer: Sendable {
    public let configuration: ServerConfiguration
    private let pending = Mutex<(webSockets: [RouteTable.WebSocketRoute], http: [RouteTable.HTTPRoute])>(([], []))
    private let running = Mutex<Running?>(nil)

    private struct Running: Sendable {
        let group: EventLoopGroup
        let server: TCPServer<ServerHandler>
        let broadcaster: Broadcaster
    }

    public init(configuration: ServerConfiguration = ServerConfiguration()) {
        self.configuration = configuration
    }

    /// Adds a WebSocket route; the first matching route wins.
    public func webSocket(_ pattern: PathPattern, configure: (inout WebSocketBehavior) -> Void) {
        var behavior = WebSocketBehavior()
        configure(&behavior)
        pending.withLock { $0.webSockets.append(.init(pattern: pattern, behavior: behavior)) }
    }

    /// Adds a plain HTTP route answering `method` (GET also answers HEAD).
    public func route(_ method: String, _ pattern: PathPattern, _ respond: @escaping @Sendable (HTTPRequestHead) -> HTTPReply) {
        pending.withLock { $0.http.append(.init(method: method, pattern: pattern, respond: respond)) }
    }

    public func get(_ pattern: PathPattern, _ respond: @escaping @Sendable (HTTPRequestHead) -> HTTPReply) {
        route("GET", pattern, respond)
    }

    /// Binds and starts serving. Returns the address actually bound.
    @discardableResult
    public func start() throws(SystemError) -> SocketAddress {
        let routes = pending.withLock { RouteTable(webSockets: $0.webSockets, http: $0.http) }
        let configuration = configuration
        let group = try EventLoopGroup(loopCount: configuration.threads > 0 ? configuration.threads : EventLoopGroup.coreCount)
        let broadcaster = Broadcaster(group: group, configuration: configuration.broadcast)
        do {
            let server = try TCPServer(
                group: group, host: configuration.host, port: configuration.port,
                tickInterval: configuration.timerTick.nanoseconds
            ) { loop in ServerHandler(routes: routes, configuration: configuration, rooms: broadcaster.part(on: loop)) }
            running.withLock { $0 = Running(group: group, server: server, broadcaster: broadcaster) }
            return server.address
        } catch {
            group.shutdown()
            throw error
        }
    }

    /// The loops serving; nil before `start`.
    public var group: EventLoopGroup? { running.withLock { $0?.group } }

    /// The rooms; nil before `start`. Its `publish` works from any thread.
    public var broadcaster: Broadcaster? { running.withLock { $0?.broadcaster } }

    /// Graceful stop: every WebSocket gets a 1001 close, and the loops exit
    /// once all connections are closed or `drainTimeout` has passed.
    public func shutdown() {
        guard let current = running.withLock({ state -> Running? in
            defer { state = nil }
            return state
        }) else { return }
        current.group.shutdownGracefully(timeout: configuration.drainTimeout.nanoseconds)
    }

    /// Counters summed over every loop.
    public func statistics() -> Statistics {
        guard let current = running.withLock({ $0 }) else { return Statistics() }
        let total = Mutex(Statistics())
        current.group.onEveryLoop { loop in
            let handler = current.server.connections(onLoop: loop.index).value.handler.statistics
            total.withLock {
                $0.handshakes += handler.handshakes
                $0.openWebSockets += handler.openWebSockets
                $0.messagesReceived += handler.messagesReceived
                $0.protocolErrors += handler.protocolErrors
                $0.heartbeatEvictions += handler.heartbeatEvictions
                $0.slowSubscriberEvictions += handler.slowSubscriberEvictions
                $0.httpResponses += handler.httpResponses
            }
        }
        return total.withLock { $0 }
    }

    public struct Statistics: Sendable, Equatable {
        public var handshakes = 0
        public var openWebSockets = 0
        public var messagesReceived = 0
        public var protocolErrors = 0
        public var heartbeatEvictions = 0
        public var slowSubscriberEvictions = 0
        public var httpResponses = 0
    }
}
