import Broadcast
import PushServer
import Reactor
import Synchronization

/// socket.io's programming model over every session transport: namespaces,
/// named events with acknowledgements both ways, rooms and broadcasts,
/// middleware, resume after a reconnect. Create it on a `PushServer` before
/// `start`; it serves the sessions and the JavaScript client under its path.
///
///     let io = EventServer(server: server)
///     io.onConnection { socket in
///         socket.join("lobby")
///         socket.on("chat") { arguments, ack in
///             socket.to("lobby").emit("chat", arguments: arguments)
///             ack("delivered")
///         }
///     }
public final class EventServer: SessionDelegate, Sendable {
    public let configuration: EventServerConfiguration
    let server: PushServer
    private let namespaces = Mutex<[String: Namespace]>([:])
    /// The server's rooms, known from the first session on (and kept while the server drains).
    private let rooms = Mutex<Broadcaster?>(nil)
    private let messageIDs = Atomic<UInt64>(0)
    /// Drawn at random (64 bits) when the server is made: with a room backend that spans
    /// processes a client gets packets of every node, and after a restart of this one.
    private let messageIDPrefix = String(UInt64.random(in: .min ... .max), radix: 36)

    /// An id for a packet sent to several rooms, `PREFIX.COUNTER` (base 36): unique for the
    /// server's life, and unlike any other server's.
    func nextMessageID() -> String { messageIDPrefix + "." + String(messageIDs.add(1, ordering: .relaxed).newValue, radix: 36) }
    private let loops = Mutex<[Int: LoopBound<LoopEvents>]>([:])

    public init(server: PushServer, configuration: EventServerConfiguration = EventServerConfiguration()) {
        self.server = server
        self.configuration = configuration
        let path = configuration.path
        server.get(PathPattern(path + "/client.js")) { _ in ClientScript.classic }
        server.get(PathPattern(path + "/client.mjs")) { _ in ClientScript.module }
        server.sessions(at: path, configuration: configuration.sessions, delegate: self)
    }

    /// The namespace `name` ("/" by default), made on first use. A name
    /// starts with "/" and has no "#".
    public func namespace(_ name: String = "/") -> Namespace {
        precondition(name.hasPrefix("/") && !name.contains("#"), "a namespace name starts with / and has no #: \(name)")
        return namespaces.withLock { all in
            if let existing = all[name] { return existing }
            let made = Namespace(name: name, events: self)
            all[name] = made
            return made
        }
    }

    /// The default namespace, "/".
    public var defaultNamespace: Namespace { namespace("/") }

    // The default namespace's vocabulary, as socket.io's `io` has it.
    public func onConnection(_ handler: @escaping @Sendable (Socket) -> Void) { defaultNamespace.onConnection(handler) }
    public func use(_ middleware: @escaping @Sendable (Socket) async throws -> Void) { defaultNamespace.use(middleware) }
    public func to(_ room: String) -> BroadcastOperator { defaultNamespace.to(room) }
    public func `in`(_ room: String) -> BroadcastOperator { defaultNamespace.to(room) }
    public func except(_ room: String) -> BroadcastOperator { defaultNamespace.except(room) }
    public func emit(_ event: String, _ arguments: JSON...) { defaultNamespace.emit(event, arguments: arguments) }

    /// The session `id` names, found on its loop; nil when it is closed.
    public func session(_ id: SessionID) async -> Session? { await server.session(id) }

    var broadcaster: Broadcaster {
        if let known = rooms.withLock({ $0 }) { return known }
        guard let broadcaster = server.broadcaster else { preconditionFailure("the server has not started") }
        rooms.withLock { $0 = broadcaster }
        return broadcaster
    }

    /// Publishes from wherever the caller is: a loop's own part, or posted to the room's home.
    func publish(_ message: BroadcastMessage, to room: String, excluding exclusion: Exclusion, completion: PublishCompletion? = nil) {
        let broadcaster = broadcaster
        if let part = broadcaster.currentPart {
            part.publish(message, to: room, excluding: exclusion, completion: completion)
        } else {
            broadcaster.publish(message, to: room, excluding: exclusion, completion: completion)
        }
    }

    private func loopEvents(_ loop: EventLoop) -> LoopEvents {
        let interval = configuration.ackCheckInterval.nanoseconds
        return loops.withLock { all in
            if let existing = all[loop.index] { return existing }
            let made = LoopBound(LoopEvents(eventLoop: loop, sweepInterval: interval), loop: loop)
            all[loop.index] = made
            return made
        }.value
    }

    // MARK: SessionDelegate

    public func sessionOpened(_ session: Session) {
        session.userData = SessionState(loop: loopEvents(session.loop))
        if rooms.withLock({ $0 == nil }) {
            let broadcaster = session.broadcaster.broadcaster
            rooms.withLock { $0 = broadcaster }
        }
    }

    public func session(_ session: Session, received bytes: UnsafeRawBufferPointer) {
        guard let state = session.userData as? SessionState else { return }
        let packet: Packet.Incoming
        do {
            packet = try Packet.parse(bytes)
        } catch {
            session.close(reason: "malformed packet: \(error)")
            return
        }
        switch packet.kind {
        case .connect(let auth, let resume):
            connect(session, state, to: packet.namespace, auth: auth ?? .null, resume: resume)
        case .disconnect:
            if let socket = state.sockets[packet.namespace] { disconnect(socket, reason: "client namespace disconnect", tellClient: false) }
        case .event(let name, let arguments, let ack):
            guard let socket = state.sockets[packet.namespace], socket.connected else { return }
            // Closing: what a handler would publish now might not land before the goodbye, so
            // the event is not taken; its sender sees no acknowledgement, then the close.
            guard !session.loop.isShuttingDown else { return }
            let acknowledgement = Acknowledgement(socket: Socket(session: session, namespace: socket.namespace, incarnation: socket.incarnation),
                                                  id: ack)
            for handler in socket.anyHandlers { handler(name, arguments) }
            for handler in socket.handlers[name] ?? [] { handler(arguments, acknowledgement) }
        case .ack(let id, let arguments):
            guard let socket = state.sockets[packet.namespace], let pending = socket.pendingAcks.removeValue(forKey: id) else { return }
            pending.callback(.success(arguments))
        case .close:
            session.close(reason: "client closed")
        case .pong, .unknown:
            break
        }
    }

    public func sessionClosed(_ session: Session, userData: AnyObject?, reason: String) {
        guard let state = userData as? SessionState else { return }
        for socket in Array(state.sockets.values) { disconnect(socket, from: state, reason: reason, tellClient: false) }
    }

    // MARK: Connecting and disconnecting

    private func connect(_ session: Session, _ state: SessionState, to name: String, auth: JSON, resume: Packet.Resume?) {
        guard let namespace = namespaces.withLock({ $0[name] }) else {
            session.send(Packet.connectError(namespace: name, message: "no namespace \(name) on this server", data: nil))
            return
        }
        if let existing = state.sockets[name] {
            // One connect at a time: while middleware decides, another is ignored (it would start another run).
            guard existing.connected else { return }
            disconnect(existing, reason: "client reconnected to the namespace", tellClient: false)
        }
        state.incarnations += 1
        let socketState = SocketState(namespace: namespace, session: session, incarnation: state.incarnations, auth: auth, resume: resume)
        state.sockets[name] = socketState
        let socket = Socket(session: session, namespace: namespace, incarnation: socketState.incarnation)
        let handlers = namespace.current
        guard !handlers.middleware.isEmpty else { return admit(socket, socketState, handlers: handlers) }
        // Middleware may await; the task runs on the session's loop, before and after.
        let pending = LoopBound(socketState, loop: session.loop)
        Task(executorPreference: session.loop) { [self] in
            do {
                for middleware in handlers.middleware { try await middleware(socket) }
            } catch {
                let refusal = error as? ConnectionRefused ?? ConnectionRefused("\(error)")
                guard socket.state() === pending.value else { return }  // the session ended meanwhile
                // Out of whatever the middleware joined it to, its waiting replies failed; it never connected.
                disconnect(pending.value, reason: "refused: \(refusal.message)", tellClient: false)
                session.send(Packet.connectError(namespace: name, message: refusal.message, data: refusal.data))
                return
            }
            guard socket.state() === pending.value else { return }
            admit(socket, pending.value, handlers: handlers)
        }
    }

    /// Middleware passed: the client is told, the socket joins its
    /// namespace (resuming), and the namespace's handlers see it.
    private func admit(_ socket: Socket, _ state: SocketState, handlers: Namespace.Handlers) {
        state.connected = true
        socket.session.send(Packet.connected(namespace: socket.namespace.name, socketID: socket.id))
        state.join(room: "", key: socket.namespace.key)
        for handler in handlers.connection { handler(socket) }
    }

    /// The socket leaves its namespace: its rooms, its waiting replies, its state.
    func disconnect(_ socket: SocketState, reason: String, tellClient: Bool) {
        guard let sessionState = socket.session.userData as? SessionState else { return failPendingAcks(socket) }
        disconnect(socket, from: sessionState, reason: reason, tellClient: tellClient)
    }

    private func disconnect(_ socket: SocketState, from sessionState: SessionState, reason: String, tellClient: Bool) {
        guard sessionState.sockets[socket.namespace.name] === socket else { return failPendingAcks(socket) }
        sessionState.sockets[socket.namespace.name] = nil
        let wasConnected = socket.connected
        socket.connected = false
        if tellClient { socket.session.send(Packet.disconnect(namespace: socket.namespace.name, reason: reason)) }
        socket.session.leave(socket.namespace.key)
        for room in socket.rooms { socket.session.leave(socket.namespace.key(of: room)) }
        socket.rooms = []
        failPendingAcks(socket)
        sessionState.loop.forget(socket)
        if wasConnected {
            for handler in socket.disconnectHandlers { handler(reason) }
        }
    }

    private func failPendingAcks(_ socket: SocketState) {
        let pending = socket.pendingAcks.sorted { $0.key < $1.key }
        socket.pendingAcks = [:]
        for (_, reply) in pending { reply.callback(.failure(.disconnected)) }
    }
}
