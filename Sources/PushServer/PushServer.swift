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
    private let pending = Mutex(Pending())
    private let running = Mutex<Running?>(nil)
    private let board = StatisticsBoard()

    /// Routes and transports, gathered until `start` fixes them.
    private struct Pending: Sendable {
        var webSockets: [RouteTable.WebSocketRoute] = []
        var http: [RouteTable.HTTPRoute] = []
        var transports = ServerTransports()
    }

    private struct Running: Sendable {
        let group: EventLoopGroup
        let server: TCPServer<ServerHandler>
        let broadcaster: Broadcaster
        let loops: ServerLoops
        let tls: TLSContext?
    }

    /// Why `start` failed.
    public enum StartError: Error, CustomStringConvertible {
        /// The address could not be bound (in use, not local, no permission), or the loops not started.
        case listen(SystemError)
        /// A TLS certificate or key did not load.
        case tls(TLSError)
        /// Limits that contradict each other (`ServerConfiguration.validate`).
        case configuration(ServerConfiguration.InvalidConfiguration)

        public var description: String {
            switch self {
            case .listen(let error): "\(error)"
            case .tls(let error): "\(error)"
            case .configuration(let error): "\(error)"
            }
        }
    }

    public init(configuration: ServerConfiguration = ServerConfiguration()) {
        self.configuration = configuration
    }

    /// Adds a WebSocket route. The most specific matching route wins: an
    /// exact path over a prefix, a longer prefix over a shorter one.
    public func webSocket(_ pattern: PathPattern, configure: (inout WebSocketBehavior) -> Void) {
        var behavior = WebSocketBehavior()
        configure(&behavior)
        pending.withLock { $0.webSockets.append(.init(pattern: pattern, behavior: behavior)) }
    }

    /// Adds a plain HTTP route answering `method` (GET also answers HEAD).
    public func route(_ method: String, _ pattern: PathPattern, _ respond: @escaping @Sendable (HTTPRequest) -> HTTPReply) {
        add(method, pattern, Responder(respond: respond))
    }

    public func get(_ pattern: PathPattern, _ respond: @escaping @Sendable (HTTPRequest) -> HTTPReply) {
        route("GET", pattern, respond)
    }

    /// Files under `directory` for the "*" of `pattern` (e.g. "/static/*").
    public func files(_ pattern: PathPattern, directory: String) throws(SystemError) {
        add("GET", pattern, try StaticFiles(directory: directory))
    }

    func add(_ method: String, _ pattern: PathPattern, _ endpoint: any HTTPEndpoint) {
        pending.withLock { $0.http.append(.init(method: method, pattern: pattern, endpoint: endpoint)) }
    }

    func registerFormat(_ encoder: any WireEncoder) -> WireFormat {
        pending.withLock { $0.transports.register(encoder) }
    }

    func setSessionService(_ service: SessionService) {
        pending.withLock { pending in
            precondition(pending.transports.sessions == nil, "sessions(at:) can be called once per server")
            pending.transports.sessions = service
        }
    }

    /// The server's one transport of type `T`, made on first use (see `ServerTransports`).
    func transport<T: ConnectionTransport>(_ type: T.Type, make: (UInt8, inout WireFormatRegistry) -> T) -> T {
        pending.withLock { $0.transports.transport(type, make: make) }
    }

    /// Loads the TLS certificates (if any), binds and starts serving.
    /// Returns the address actually bound.
    @discardableResult
    public func start() throws(StartError) -> SocketAddress {
        let configuration = configuration
        do { try configuration.validate() } catch { throw .configuration(error) }
        let (routes, transports) = pending.withLock { pending in
            let webSockets = pending.webSockets.map { route in
                RouteTable.WebSocketRoute(pattern: route.pattern, behavior: route.behavior,
                                          limits: WebSocketLimits(maxMessageSize: route.behavior.maxMessageSize ?? configuration.maxMessageSize))
            }
            var transports = pending.transports
            if let policy = configuration.deflate { transports.offerDeflate(policy) }
            return (RouteTable(webSockets: webSockets, http: pending.http), transports)
        }
        for route in routes.webSockets where route.behavior.maxMessageSize != nil {
            do {
                try ServerConfiguration.validate(maxMessageSize: route.limits.maxMessageSize, name: "maxMessageSize of \(route.pattern)",
                                                 limit: configuration.maxMessageSizeLimit)
            } catch { throw .configuration(error) }
        }
        var tls: TLSContext?
        if let settings = configuration.tls {
            do { tls = try TLSContext.server(settings) } catch { throw .tls(error) }
        }
        let group: EventLoopGroup
        do { group = try EventLoopGroup(loopCount: configuration.loopCount, io: configuration.loopBackend()) } catch { throw .listen(error) }
        let broadcaster = Broadcaster(group: group, configuration: configuration.broadcast, formats: transports.formats)
        let board = board
        let loops = ServerLoops(count: group.loops.count)
        let budget = MemoryBudget(limit: configuration.maxBufferedTotal)
        do {
            let server = try TCPServer(
                group: group, host: configuration.host, port: configuration.port,
                tickInterval: configuration.timerTick.nanoseconds, tls: tls, backlog: Int32(clamping: configuration.backlog)
            ) { loop in
                let handler = ServerHandler(routes: routes, transports: transports, configuration: configuration,
                                            rooms: broadcaster.part(on: loop), loops: loops, board: board, budget: budget)
                loops.add(handler, on: loop)
                return handler
            }
            running.withLock { $0 = Running(group: group, server: server, broadcaster: broadcaster, loops: loops, tls: tls) }
            return server.address
        } catch {
            group.shutdown()
            throw .listen(error)
        }
    }

    /// Reads the TLS certificates and keys again (after they were renewed):
    /// new handshakes use them, open connections keep theirs. On any error
    /// the old ones stay in use and the error says which file failed.
    /// Returns what was loaded, one line per certificate.
    @discardableResult
    public func reloadCertificates() throws(TLSError) -> [String] {
        guard let tls = running.withLock({ $0?.tls }) else { throw TLSError("the server is not running with TLS") }
        return try tls.reloadCertificates()
    }

    /// The certificates in use, one line per file with the names it serves; empty without TLS.
    public var certificateSummary: [String] { running.withLock { $0?.tls?.certificateSummary } ?? [] }

    /// The loops serving; nil before `start`.
    public var group: EventLoopGroup? { running.withLock { $0?.group } }

    /// The rooms; nil before `start`. Its `publish` works from any thread.
    public var broadcaster: Broadcaster? { running.withLock { $0?.broadcaster } }

    /// The open session `id` names, found on its loop; nil once it closed (or before `start`).
    public func session(_ id: SessionID) async -> Session? {
        guard let loops = running.withLock({ $0?.loops }), id.loop < loops.count else { return nil }
        return await withCheckedContinuation { continuation in
            loops.run(on: id.loop) { handler in
                continuation.resume(returning: handler.sessions?.record(id).map { handler.sessions.session($0) })
            }
        }
    }

    /// Graceful stop: new work is refused, what was accepted reaches the members (with a room
    /// backend that numbers elsewhere, once its publishes in flight are back), every WebSocket
    /// gets a 1001 close, and the loops exit once all connections are closed; all of it within
    /// `drainTimeout`.
    public func shutdown() {
        guard let current = running.withLock({ state -> Running? in
            defer { state = nil }
            return state
        }) else { return }
        let broadcaster = current.broadcaster
        current.group.shutdownGracefully(timeout: configuration.drainTimeout.nanoseconds) { broadcaster.publishesInFlight == 0 }
    }

    /// Counters summed over every loop, exact (waits for the loops: not from a loop).
    public func statistics() -> ServerStatistics {
        guard let current = running.withLock({ $0 }) else { return ServerStatistics() }
        let total = Mutex(ServerStatistics())
        current.group.onEveryLoop { loop in
            let counters = current.server.connections(onLoop: loop.index).value.handler.currentStatistics()
            total.withLock { $0.add(counters) }
        }
        return total.withLock { $0 }
    }

    /// The counters as of the last `statisticsInterval`, from any thread (a loop too),
    /// with the rooms' counters: what `GET /stats` shows.
    public func statisticsSnapshot() -> (server: ServerStatistics, rooms: [String: RoomStatistics]) {
        board.total()
    }

    /// The snapshot as JSON: `{"server":{...},"rooms":{"NAME":{...}}}`, and `"backend":{...}`
    /// with a room backend that spans processes.
    public func statisticsJSON() -> String {
        let (server, rooms) = statisticsSnapshot()
        // A room backend that spans processes says how it is (Redis: connected, outages...).
        let backend = broadcaster?.backend.statusJSON().map { ",\"backend\":\($0)" } ?? ""
        let roomEntries = rooms.keys.sorted().map { name in
            let room = rooms[name]!
            let quoted = String(decoding: JSONString.quoted(Array(name.utf8)), as: UTF8.self)
            return "\(quoted):{\"published\":\(room.published),\"encoded\":\(room.encoded),\"deflated\":\(room.deflated),\"delivered\":\(room.delivered),"
                + "\"dropped\":\(room.dropped),\"evicted\":\(room.evicted),\"conflated\":\(room.conflated),"
                + "\"volatileDropped\":\(room.volatileDropped),\"subscribers\":\(room.subscribers)}"
        }
        return "{\"server\":{\"handshakes\":\(server.handshakes),\"openWebSockets\":\(server.openWebSockets),"
            + "\"openStreams\":\(server.openStreams),\"messagesReceived\":\(server.messagesReceived),"
            + "\"protocolErrors\":\(server.protocolErrors),\"heartbeatEvictions\":\(server.heartbeatEvictions),"
            + "\"slowSubscriberEvictions\":\(server.slowSubscriberEvictions),\"httpResponses\":\(server.httpResponses),"
            + "\"connections\":\(server.connections),\"queuedBytes\":\(server.queuedBytes),\"timers\":\(server.timers),"
            + "\"sessionsOpened\":\(server.sessionsOpened),\"openSessions\":\(server.openSessions),\"movedRequests\":\(server.movedRequests),"
            + "\"memoryBudget\":\(server.memoryBudget),\"heldInputBytes\":\(server.heldInputBytes),"
            + "\"heldReassemblyBytes\":\(server.heldReassemblyBytes),\"heldOutputBytes\":\(server.heldOutputBytes),"
            + "\"refusedMessages\":\(server.refusedMessages),\"refusedRequests\":\(server.refusedRequests),"
            + "\"refusedUpgrades\":\(server.refusedUpgrades)},"
            + "\"rooms\":{\(roomEntries.joined(separator: ","))}\(backend)}"
    }
}

/// Every loop's handler, for work that must run on another loop (a
/// connection handed to the loop that owns its session). Filled while the
/// server starts, one entry per loop as it is made.
final class ServerLoops: Sendable {
    private let handlers: Mutex<[LoopBound<ServerHandler>?]>
    let count: Int

    init(count: Int) {
        self.count = count
        handlers = Mutex(Array(repeating: nil, count: count))
    }

    func add(_ handler: ServerHandler, on loop: EventLoop) {
        handlers.withLock { $0[loop.index] = LoopBound(handler, loop: loop) }
    }

    /// Runs `body` on loop `index` with its handler (at once if that is this loop).
    func run(on index: Int, _ body: @escaping @Sendable (ServerHandler) -> Void) {
        guard let handler = handlers.withLock({ $0[index] }) else { return }
        if handler.loop.inEventLoop {
            body(handler.value)
        } else {
            handler.loop.execute { body(handler.value) }
        }
    }
}
