import ChatStore
import Events
import PushServer
import Reactor

/// The documents' chat room and friend chat, over the events protocol, kept
/// in a `ChatStorage`. Mounted on a `PushServer` before it starts: the page
/// at `/`, the events (and `client.js`) under `/events`.
///
/// A user is a name, taken by the first chat message a connection sends (or
/// signed in again with the key the page got then). Every message is stored
/// before it is delivered, and its sender's acknowledgement carries the
/// stored id. Handlers await the store in a task on the socket's loop, so
/// what follows the await answers the client without a lock or a hop.
public final class ChatService<Storage: ChatStorage>: Sendable {
    public let events: EventServer
    let storage: Storage
    let configuration: ChatConfiguration
    let presence = Presence()

    public init(server: PushServer, storage: Storage, configuration: ChatConfiguration = ChatConfiguration(),
                events eventsConfiguration: EventServerConfiguration = EventServerConfiguration()) {
        events = EventServer(server: server, configuration: eventsConfiguration)
        self.storage = storage
        self.configuration = configuration
        server.get("/") { _ in ChatPage.reply }
        server.get("/favicon.ico") { _ in HTTPReply(status: 204) }  // none, rather than a 404 in every browser console
        events.use { [self] socket in try await signIn(socket) }
        events.onConnection { [self] socket in connected(socket) }
    }

    // MARK: A connection's life

    /// Middleware: the connection's state, and its user when the client
    /// sent a key (`auth.key`) that signs in. A key that does not is
    /// forgotten, not refused: the connection starts nameless.
    private func signIn(_ socket: Socket) async throws {
        let connection = ChatConnection(stage: .nameless, rooms: restoredRooms(socket.auth["rooms"]),
                                        flood: FloodLimit(rate: configuration.floodRate, burst: configuration.floodBurst, now: socket.loop.now))
        socket.userData = connection
        guard let text = socket.auth["key"]?.string else { return }
        guard let key = SignInKey(text) else {
            connection.keyRefused = true
            return
        }
        do {
            if let user = try await storage.user(id: key.user, keyDigest: SignInKey.digest(key.secret)) {
                connection.signedIn = user
            } else {
                connection.keyRefused = true
            }
        } catch {
            throw ConnectionRefused("the chat cannot read its database: \(error)")
        }
    }

    /// The rooms a reconnecting page says it was in (`auth.rooms`), those that are valid.
    private func restoredRooms(_ value: JSON?) -> [String] {
        var rooms: [String] = []
        for element in value?.array ?? [] {
            guard rooms.count < configuration.maxRooms, let raw = element.string,
                  case .success(let room) = ChatText.room(raw, maxLength: configuration.maxRoomNameLength),
                  !rooms.contains(room) else { continue }
            rooms.append(room)
        }
        return rooms
    }

    private func connected(_ socket: Socket) {
        guard let connection = socket.chat else { return socket.disconnect() }
        let bound = LoopBound(connection, loop: socket.loop)
        handleRoomEvents(socket, bound)
        handleFriendEvents(socket, bound)
        socket.onDisconnect { [self] _ in
            let connection = bound.value
            guard let user = connection.user else { return }
            connection.stage = .nameless
            if presence.depart(user) { events.to(ChatRooms.everyone).emit("left", JSON(user.name)) }
        }
        if let user = connection.signedIn {
            connection.signedIn = nil
            connection.stage = .signingIn
            Task(executorPreference: socket.loop) { await self.enter(socket, bound, as: user, key: nil) }
        } else {
            let forgotten = connection.keyRefused ? "Your saved name is not known to this server. " : ""
            socket.emit("welcome", ["keyRefused": JSON(connection.keyRefused)])
            socket.emit("system", JSON(forgotten + "Welcome! Type the name you want to use: your first message is your name."))
        }
    }

    /// The connection enters the chat room as `user`: it is online, in its
    /// rooms, told who it is (with its new key, once), and gets the newest
    /// messages it may see. Everyone else is told it joined, if it is the
    /// user's first connection.
    func enter(_ socket: Socket, _ bound: LoopBound<ChatConnection>, as user: User, key: SignInKey?) async {
        let connection = bound.value
        connection.stage = .entered(user)
        let first = presence.arrive(user)
        // Rooms first, history second: a message stored in between is
        // delivered and also in the history, never in neither (the page
        // shows each id once).
        socket.join([ChatRooms.everyone, ChatRooms.user(user.id)] + connection.rooms.map(ChatRooms.named))
        var entered: [(String, JSON)] = [("id", JSON(user.id)), ("name", JSON(user.name)),
                                         ("rooms", JSON(connection.rooms.map { .string($0) })), ("online", JSON(presence.names().map { .string($0) }))]
        if let key { entered.append(("key", JSON(key.text))) }
        socket.emit("entered", .object(entered))
        if first { events.to(ChatRooms.everyone).except(ChatRooms.user(user.id)).emit("joined", JSON(user.name)) }
        do {
            let history = try await storage.roomHistory(for: user.name, rooms: bound.value.rooms, limit: configuration.historyCount)
            socket.emit("history", JSON(history.map(\.json)))
        } catch {
            socket.emit("system", JSON("Your history could not be read (\(error))."))
        }
    }

    // MARK: Shared by the handlers

    /// The connection, when it may send another event now (the flood
    /// limit); otherwise the client is told why and it gets nil.
    func admit(_ bound: LoopBound<ChatConnection>, _ socket: Socket, _ ack: Acknowledgement, tellInChat: Bool = false) -> ChatConnection? {
        let connection = bound.value
        guard connection.flood.allow(now: socket.loop.now) else {
            refuse(Refusal("You are sending too fast: at most \(configuration.floodRate) messages a second, "
                           + "\(configuration.floodBurst) at once. Wait a moment; this one was not sent."),
                   socket, ack, tellInChat: tellInChat)
            return nil
        }
        return connection
    }

    /// Whether the store has room for another write; if not, the client is told.
    func storeKeepsUp(_ socket: Socket, _ ack: Acknowledgement, tellInChat: Bool = false) -> Bool {
        guard storage.pendingWrites < configuration.maxPendingWrites else {
            refuse(Refusal("The server is busy storing messages. Try again in a moment; this one was not sent."), socket, ack, tellInChat: tellInChat)
            return false
        }
        return true
    }

    /// Refuses a request: the acknowledgement says why (`{"error": …}`); in
    /// the chat room the user also gets it as a system message.
    func refuse(_ refusal: Refusal, _ socket: Socket, _ ack: Acknowledgement, tellInChat: Bool = false) {
        if tellInChat { socket.emit("system", JSON(refusal.reason)) }
        ack(refusal.json)
    }
}
