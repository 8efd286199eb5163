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
    private let board = StatisticsBoard()

    private struct Running: Sendable {
        let group: EventLoopGroup
        let server: TCPServer<ServerHandler>
        let broadcaster: Broadcaster
        let tls: TLSContext?
    }

    /// Why `start` failed.
    public enum StartError: Error, CustomStringConvertible {
        /// The address could not be bound (in use, not local, no permission), or the loops not started.
        case listen(SystemError)
        /// A TLS certificate or key did not load.
        case tls(TLSError)

        public var description: String {
            switch self {
            case .listen(let error): "\(error)"
            case .tls(let error): "\(error)"
            }
        }
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
    public func route(_ method: String, _ pattern: PathPattern, _ respond: @escaping @Sendable (HTTPRequest) -> HTTPReply) {
        add(method, pattern, .respond(respond))
    }

    public func get(_ pattern: PathPattern, _ respond: @escaping @Sendable (HTTPRequest) -> HTTPReply) {
        route("GET", pattern, respond)
    }

    /// Server-Sent Events of the room named by the "*" of `pattern` (e.g. "/sse/*").
    public func eventStreams(_ pattern: PathPattern) { add("GET", pattern, .eventStream) }

    /// Polling and long-polling of the room named by the "*" of `pattern` (e.g. "/poll/*").
    public func polling(_ pattern: PathPattern) { add("GET", pattern, .poll) }

    /// iframe streaming of the room named by the "*" of `pattern` (e.g. "/iframe/*").
    public func scriptStreams(_ pattern: PathPattern) { add("GET", pattern, .scriptStream) }

    /// POST a message to the room named by the "*" of `pattern` (e.g. "/publish/*"), when `authorize` allows.
    public func publishing(_ pattern: PathPattern, authorize: @escaping @Sendable (HTTPRequestHead) -> PublishAuthorization) {
        add("POST", pattern, .publish(authorize: authorize))
    }

    /// Files under `directory` for the "*" of `pattern` (e.g. "/static/*").
    public func files(_ pattern: PathPattern, directory: String) throws(SystemError) {
        add("GET", pattern, .files(try StaticFiles(directory: directory)))
    }

    private func add(_ method: String, _ pattern: PathPattern, _ action: RouteTable.Action) {
        pending.withLock { $0.http.append(.init(method: method, pattern: pattern, action: action)) }
    }

    /// Loads the TLS certificates (if any), binds and starts serving.
    /// Returns the address actually bound.
    @discardableResult
    public func start() throws(StartError) -> SocketAddress {
        let routes = pending.withLock { RouteTable(webSockets: $0.webSockets, http: $0.http) }
        let configuration = configuration
        var tls: TLSContext?
        if let settings = configuration.tls {
            do { tls = try TLSContext.server(settings) } catch { throw .tls(error) }
        }
        let group: EventLoopGroup
        do { group = try EventLoopGroup(loopCount: configuration.loopCount) } catch { throw .listen(error) }
        let broadcaster = Broadcaster(group: group, configuration: configuration.broadcast)
        let board = board
        do {
            let server = try TCPServer(
                group: group, host: configuration.host, port: configuration.port,
                tickInterval: configuration.timerTick.nanoseconds, tls: tls
            ) { loop in
                ServerHandler(routes: routes, configuration: configuration, rooms: broadcaster.part(on: loop), board: board)
            }
            running.withLock { $0 = Running(group: group, server: server, broadcaster: broadcaster, tls: tls) }
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

    /// Graceful stop: every WebSocket gets a 1001 close, and the loops exit
    /// once all connections are closed or `drainTimeout` has passed.
    public func shutdown() {
        guard let current = running.withLock({ state -> Running? in
            defer { state = nil }
            return state
        }) else { return }
        current.group.shutdownGracefully(timeout: configuration.drainTimeout.nanoseconds)
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

    /// The snapshot as JSON: `{"server":{...},"rooms":{"NAME":{...}}}`.
    public func statisticsJSON() -> String {
        let (server, rooms) = statisticsSnapshot()
        let roomEntries = rooms.keys.sorted().map { name in
            let room = rooms[name]!
            let quoted = String(decoding: JSONString.quoted(Array(name.utf8)), as: UTF8.self)
            return "\(quoted):{\"published\":\(room.published),\"encoded\":\(room.encoded),\"delivered\":\(room.delivered),"
                + "\"dropped\":\(room.dropped),\"evicted\":\(room.evicted),\"subscribers\":\(room.subscribers)}"
        }
        return "{\"server\":{\"handshakes\":\(server.handshakes),\"openWebSockets\":\(server.openWebSockets),"
            + "\"openStreams\":\(server.openStreams),\"messagesReceived\":\(server.messagesReceived),"
            + "\"protocolErrors\":\(server.protocolErrors),\"heartbeatEvictions\":\(server.heartbeatEvictions),"
            + "\"slowSubscriberEvictions\":\(server.slowSubscriberEvictions),\"httpResponses\":\(server.httpResponses),"
            + "\"connections\":\(server.connections),\"queuedBytes\":\(server.queuedBytes),\"timers\":\(server.timers)},"
            + "\"rooms\":{\(roomEntries.joined(separator: ","))}}"
    }
}

/// A server's counters (one loop's, or summed).
public struct ServerStatistics: Sendable, Equatable {
    public var handshakes = 0
    public var openWebSockets = 0
    public var messagesReceived = 0
    public var protocolErrors = 0
    public var heartbeatEvictions = 0
    public var slowSubscriberEvictions = 0
    public var httpResponses = 0
    /// SSE, iframe and waiting long-poll connections open now.
    public var openStreams = 0
    // Gauges read off the loops when the counters are taken: what a client
    // that went away must not leave behind.
    /// TCP connections open now, of every kind.
    public var connections = 0
    /// Bytes the kernel refused and the server still holds for slow readers.
    public var queuedBytes = 0
    /// Timers scheduled on the loops: a few per loop, never one per client.
    public var timers = 0

    public init() {}

    mutating func add(_ other: ServerStatistics) {
        handshakes += other.handshakes
        openWebSockets += other.openWebSockets
        messagesReceived += other.messagesReceived
        protocolErrors += other.protocolErrors
        heartbeatEvictions += other.heartbeatEvictions
        slowSubscriberEvictions += other.slowSubscriberEvictions
        httpResponses += other.httpResponses
        openStreams += other.openStreams
        connections += other.connections
        queuedBytes += other.queuedBytes
        timers += other.timers
    }
}

/// Where each loop posts its counters every `statisticsInterval`, so they
/// can be read from anywhere without stopping a loop.
final class StatisticsBoard: Sendable {
    private let snapshots = Mutex<[Int: (server: ServerStatistics, rooms: [String: RoomStatistics])]>([:])

    func post(loop: Int, server: ServerStatistics, rooms: [String: RoomStatistics]) {
        snapshots.withLock { $0[loop] = (server, rooms) }
    }

    func total() -> (server: ServerStatistics, rooms: [String: RoomStatistics]) {
        snapshots.withLock { all in
            var server = ServerStatistics()
            var rooms: [String: RoomStatistics] = [:]
            for (_, snapshot) in all {
                server.add(snapshot.server)
                for (name, counters) in snapshot.rooms { rooms[name, default: RoomStatistics()].add(counters) }
            }
            return (server, rooms)
        }
    }
}
