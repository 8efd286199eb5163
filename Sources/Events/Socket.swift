import Broadcast
import PushServer
import Reactor

/// One client in one namespace (socket.io's socket). A handle, safe to keep
/// and to use from any thread: what it does runs on its session's loop (at
/// once when called there, else posted there). Kept after the socket
/// disconnected, it reaches nobody.
public struct Socket: Sendable, Hashable, CustomStringConvertible {
    public let session: Session
    public let namespace: Namespace
    /// Which socket of the session in the namespace this names (see `SocketState.incarnation`).
    let incarnation: UInt64

    /// The socket's id: its session's, the same in every namespace of it.
    public var id: String { session.id.description }
    /// What the session's first request said: headers, query, peer address.
    public var handshake: SessionHandshake { session.handshake }
    public var loop: EventLoop { session.loop }
    public var description: String { "socket \(id) in \(namespace.name)" }

    public static func == (lhs: Socket, rhs: Socket) -> Bool {
        lhs.session == rhs.session && lhs.namespace === rhs.namespace && lhs.incarnation == rhs.incarnation
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(session)
        hasher.combine(namespace.name)
        hasher.combine(incarnation)
    }

    /// The socket's state, on its loop, while this handle's socket is
    /// connected (or connecting): not a later socket of the same session.
    func state() -> SocketState? {
        guard let state = (session.userData as? SessionState)?.sockets[namespace.name], state.incarnation == incarnation else { return nil }
        return state
    }

    private func perform(_ body: @escaping @Sendable (SocketState) -> Void) {
        let socket = self
        if loop.inEventLoop {
            if let state = state() { body(state) }
        } else {
            loop.execute { if let state = socket.state() { body(state) } }
        }
    }

    // MARK: Receiving

    /// Calls `handler` for every `event` the client emits, with its arguments
    /// and the acknowledgement it may ask for, on the socket's loop.
    public func on(_ event: String, _ handler: @escaping @Sendable (_ arguments: [JSON], _ ack: Acknowledgement) -> Void) {
        perform { $0.handlers[event, default: []].append(handler) }
    }

    /// The same for handlers that `await` (storage, another service): each
    /// runs in a task on the socket's loop (`Task(executorPreference:)`), so
    /// after an `await` it answers or emits without a lock or a hop.
    public func on(_ event: String, _ handler: @escaping @Sendable (_ arguments: [JSON], _ ack: Acknowledgement) async -> Void) {
        let loop = loop
        on(event) { arguments, ack in
            Task(executorPreference: loop) { await handler(arguments, ack) }
        }
    }

    /// Calls `handler` for every event, before the handlers of its name.
    public func onAny(_ handler: @escaping @Sendable (_ event: String, _ arguments: [JSON]) -> Void) {
        perform { $0.anyHandlers.append(handler) }
    }

    /// Removes every handler of `event`.
    public func off(_ event: String) {
        perform { $0.handlers[event] = nil }
    }

    /// Calls `handler` once the socket disconnects, with the reason.
    public func onDisconnect(_ handler: @escaping @Sendable (_ reason: String) -> Void) {
        perform { $0.disconnectHandlers.append(handler) }
    }

    // MARK: Sending

    /// Sends `event` to this client only.
    public func emit(_ event: String, _ arguments: JSON...) {
        emit(event, arguments: arguments)
    }

    public func emit(_ event: String, arguments: [JSON]) {
        send(Packet.event(namespace: namespace.name, room: nil, name: event, arguments: arguments, ack: nil))
    }

    /// Sends a packet to this socket's client while this socket is connected.
    func send(_ packet: [UInt8]) {
        perform { state in
            guard state.connected else { return }
            state.session.send(packet)
        }
    }

    /// Sends `event` and waits for the client's acknowledgement, at most `timeout`.
    public func emit(_ event: String, _ arguments: JSON..., timeout: Duration,
                     ack: @escaping @Sendable (Result<[JSON], AckError>) -> Void) {
        emit(event, arguments: arguments, timeout: timeout, ack: ack)
    }

    public func emit(_ event: String, arguments: [JSON], timeout: Duration, ack: @escaping @Sendable (Result<[JSON], AckError>) -> Void) {
        let socket = self
        let send: @Sendable () -> Void = {
            guard let state = socket.state(), state.connected, let sessionState = socket.session.userData as? SessionState else {
                return ack(.failure(.disconnected))
            }
            let id = state.nextAckID
            state.nextAckID += 1
            state.pendingAcks[id] = PendingAck(deadline: socket.loop.now &+ timeout.nanoseconds, callback: ack)
            sessionState.loop.waitForReply(state)
            socket.session.send(Packet.event(namespace: socket.namespace.name, room: nil, name: event, arguments: arguments, ack: id))
        }
        if loop.inEventLoop { send() } else { loop.execute(send) }
    }

    /// Sends `event` and returns the client's acknowledgement.
    public func emitWithAck(_ event: String, _ arguments: JSON..., timeout: Duration) async throws(AckError) -> [JSON] {
        let result = await withCheckedContinuation { continuation in
            emit(event, arguments: arguments, timeout: timeout) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    // MARK: Rooms

    /// Joins `room` of the namespace (again: nothing). A client that
    /// reconnected and said it had seen the room up to some sequence first
    /// gets what it missed, from the room's history.
    public func join(_ room: String, options: SubscriptionOptions = SubscriptionOptions()) {
        let key = namespace.key(of: room)
        perform { state in
            guard state.rooms.insert(room).inserted else { return }
            state.join(room: room, key: key, options: options)
        }
    }

    public func join(_ rooms: [String]) {
        for room in rooms { join(room) }
    }

    public func leave(_ room: String) {
        let key = namespace.key(of: room)
        perform { state in
            guard state.rooms.remove(room) != nil else { return }
            state.session.leave(key)
        }
    }

    /// The rooms the socket is in (on its loop).
    public var rooms: Set<String> { state()?.rooms ?? [] }

    // MARK: Broadcasting

    /// Everyone in the namespace but this socket (socket.io's `socket.broadcast`).
    public var broadcast: BroadcastOperator { BroadcastOperator(namespace: namespace, excluding: session.id) }

    /// The members of `room`, this socket left out.
    public func to(_ room: String) -> BroadcastOperator { broadcast.to(room) }

    /// Everyone in the namespace but this socket and the members of `room`.
    public func except(_ room: String) -> BroadcastOperator { broadcast.except(room) }

    // MARK: State and the end

    /// Connected (middleware passed), on its loop.
    public var isConnected: Bool { state()?.connected ?? false }

    /// What the client sent with `connect` (`auth`), on the socket's loop.
    public var auth: JSON { state()?.auth ?? .null }

    /// The application's JSON for this socket (a user name, say), on its loop.
    public var data: JSON {
        get { state()?.data ?? .null }
        nonmutating set { state()?.data = newValue }
    }

    /// The application's object for this socket, on its loop.
    public var userData: AnyObject? {
        get { state()?.userData }
        nonmutating set { state()?.userData = newValue }
    }

    /// Disconnects the socket from its namespace (the client is told); with
    /// `close`, ends the whole session (every namespace of it).
    public func disconnect(close: Bool = false) {
        let socket = self
        perform { state in
            socket.namespace.events.disconnect(state, reason: "server namespace disconnect", tellClient: true)
            if close { socket.session.close(reason: "server disconnect") }
        }
    }
}
