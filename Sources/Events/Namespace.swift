import Broadcast
import PushServer
import Reactor
import Synchronization

/// A namespace (socket.io's `io.of(name)`): sockets connect to it, its
/// middleware decides who may, and its rooms are its own. Made by
/// `EventServer.namespace(_:)`; handlers are added before or while serving.
public final class Namespace: Sendable {
    public let name: String
    unowned let events: EventServer
    private let handlers = Mutex<Handlers>(Handlers())
    /// The broadcaster room every socket of the namespace is in.
    let key: String

    struct Handlers: Sendable {
        var connection: [@Sendable (Socket) -> Void] = []
        var middleware: [@Sendable (Socket) async throws -> Void] = []
    }

    init(name: String, events: EventServer) {
        self.name = name
        self.events = events
        key = name + "#"
    }

    /// The broadcaster room that is `room` of this namespace. Namespaces have
    /// no "#", so the first one splits the two.
    func key(of room: String) -> String { key + room }

    /// Calls `handler` with every socket that connects (middleware passed),
    /// on its loop, after the client was told it is connected.
    public func onConnection(_ handler: @escaping @Sendable (Socket) -> Void) {
        handlers.withLock { $0.connection.append(handler) }
    }

    /// Adds middleware, run in order for every socket before it connects;
    /// throwing `ConnectionRefused` (or any error) refuses it, and the client
    /// gets a `connect_error` with the reason. Runs on the socket's loop.
    public func use(_ middleware: @escaping @Sendable (Socket) async throws -> Void) {
        handlers.withLock { $0.middleware.append(middleware) }
    }

    var current: Handlers { handlers.withLock { $0 } }

    // MARK: Broadcasting

    /// The members of `room`.
    public func to(_ room: String) -> BroadcastOperator { BroadcastOperator(namespace: self).to(room) }

    /// The same as `to`.
    public func `in`(_ room: String) -> BroadcastOperator { to(room) }

    /// Every socket of the namespace but the members of `room`.
    public func except(_ room: String) -> BroadcastOperator { BroadcastOperator(namespace: self).except(room) }

    /// Every socket of the namespace.
    public func emit(_ event: String, _ arguments: JSON...) {
        emit(event, arguments: arguments)
    }

    public func emit(_ event: String, arguments: [JSON]) {
        BroadcastOperator(namespace: self).emit(event, arguments: arguments)
    }

    // MARK: Listing, across every loop

    /// The rooms of the namespace that have members, and how many (every loop counted).
    public func rooms() async -> [String: Int] {
        let prefix = key
        let perLoop = await events.broadcaster.collect { part in
            part.localRooms().filter { $0.name.hasPrefix(prefix) && $0.name.count > prefix.count }
        }
        var total: [String: Int] = [:]
        for rooms in perLoop {
            for (name, members) in rooms { total[String(name.dropFirst(prefix.count)), default: 0] += members }
        }
        return total
    }

    /// The ids of the sockets in `room` (every loop).
    public func members(of room: String) async -> [String] {
        let roomKey = key(of: room)
        let perLoop = await events.broadcaster.collect { part in
            part.localMembers(of: roomKey).map { part.sessionID(of: $0).description }
        }
        return perLoop.flatMap { $0 }.sorted()
    }

    /// The ids of every socket connected to the namespace (every loop).
    public func sockets() async -> [String] {
        let roomKey = key
        let perLoop = await events.broadcaster.collect { part in
            part.localMembers(of: roomKey).map { part.sessionID(of: $0).description }
        }
        return perLoop.flatMap { $0 }.sorted()
    }

    /// The socket with this id in the namespace, found on its loop; nil if it is not connected.
    public func socket(_ id: String) async -> Socket? {
        guard let sessionID = SessionID(id), let session = await events.server.session(sessionID) else { return nil }
        let name = name
        return await withCheckedContinuation { continuation in
            session.loop.execute {
                let state = (session.userData as? SessionState)?.sockets[name]
                continuation.resume(returning: state.flatMap { $0.connected ? Socket(session: session, namespace: self, incarnation: $0.incarnation) : nil })
            }
        }
    }

    /// The rooms of the socket with this id (none when it is not connected).
    public func rooms(of id: String) async -> Set<String> {
        guard let socket = await socket(id) else { return [] }
        return await withCheckedContinuation { continuation in
            socket.loop.execute { continuation.resume(returning: socket.rooms) }
        }
    }
}

extension LoopBroadcaster {
    /// The session a member of this loop is.
    fileprivate func sessionID(of member: ConnectionID) -> SessionID {
        SessionID(boot: broadcaster.bootID, loop: loop.index, slot: member.slot, generation: member.generation)
    }
}
