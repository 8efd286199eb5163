import ChatStore
import Events
import Reactor

// The chat room: `message` (a name first, then messages: public, to the
// sender's rooms, or `@name` private), `join` and `leave`.
extension ChatService {
    func handleRoomEvents(_ socket: Socket, _ bound: LoopBound<ChatConnection>) {
        socket.on("message") { [self] arguments, ack async in
            guard let connection = admit(bound, socket, ack, tellInChat: true) else { return }
            guard let text = arguments.first?.string else {
                return refuse(Refusal("message takes the text as its first argument"), socket, ack, tellInChat: true)
            }
            switch connection.stage {
            case .nameless: await takeName(text, socket, bound, ack)
            case .signingIn: refuse(Refusal("One moment: your name is being checked."), socket, ack, tellInChat: true)
            case .entered(let user): await post(text, from: user, socket, bound, ack)
            }
        }
        socket.on("join") { [self] arguments, ack in
            guard let connection = admit(bound, socket, ack), let room = roomArgument(arguments, socket, ack) else { return }
            if !connection.rooms.contains(room) {
                guard connection.rooms.count < configuration.maxRooms else {
                    return refuse(Refusal("You are in \(configuration.maxRooms) rooms, the most there may be: leave one first."), socket, ack)
                }
                connection.rooms.append(room)
                if connection.user != nil { socket.join(ChatRooms.named(room)) }
            }
            ack(["rooms": JSON(connection.rooms.map { .string($0) })])
        }
        socket.on("leave") { [self] arguments, ack in
            guard let connection = admit(bound, socket, ack), let room = roomArgument(arguments, socket, ack) else { return }
            if let index = connection.rooms.firstIndex(of: room) {
                connection.rooms.remove(at: index)
                socket.leave(ChatRooms.named(room))
            }
            ack(["rooms": JSON(connection.rooms.map { .string($0) })])
        }
    }

    private func roomArgument(_ arguments: [JSON], _ socket: Socket, _ ack: Acknowledgement) -> String? {
        switch ChatText.room(arguments.first?.string ?? "", maxLength: configuration.maxRoomNameLength) {
        case .success(let room): return room
        case .failure(let refusal):
            refuse(refusal, socket, ack)
            return nil
        }
    }

    /// A nameless connection's message is the name it wants. A name another
    /// user has is refused with a request for another.
    private func takeName(_ text: String, _ socket: Socket, _ bound: LoopBound<ChatConnection>, _ ack: Acknowledgement) async {
        let name: String
        switch ChatText.name(text, maxLength: configuration.maxNameLength) {
        case .success(let valid): name = valid
        case .failure(let refusal): return refuse(refusal, socket, ack, tellInChat: true)
        }
        guard storeKeepsUp(socket, ack, tellInChat: true) else { return }
        bound.value.stage = .signingIn
        let secret = SignInKey.newSecret()
        let user: User
        do throws(ChatStoreError) {
            user = try await storage.createUser(named: name, keyDigest: SignInKey.digest(secret))
        } catch {
            bound.value.stage = .nameless
            if case .nameTaken = error {
                return refuse(Refusal("The name \(name) is taken. Please pick another."), socket, ack, tellInChat: true)
            }
            return refuse(Refusal("The name could not be stored (\(error)). Try again."), socket, ack, tellInChat: true)
        }
        // Gone while the store worked: its disconnect found no user to take offline, so it must not enter.
        guard socket.isConnected, socket.chat === bound.value else { return }
        ack(["name": JSON(user.name), "id": JSON(user.id)])
        await enter(socket, bound, as: user, key: SignInKey(user: user.id, secret: secret))
    }

    /// Stores a message, then delivers it: `@name text` to that user (and
    /// the sender's tabs), else to the sender's rooms, else to everyone.
    /// The acknowledgement carries the stored ids (one per room).
    private func post(_ text: String, from user: User, _ socket: Socket, _ bound: LoopBound<ChatConnection>, _ ack: Acknowledgement) async {
        if case .failure(let refusal) = ChatText.message(text, maxLength: configuration.maxMessageLength) {
            return refuse(refusal, socket, ack, tellInChat: true)
        }
        guard storeKeepsUp(socket, ack, tellInChat: true) else { return }
        let stored: [RoomMessage]
        do {
            if let (name, body) = ChatText.privateMessage(text) {
                guard !body.isEmpty else { return refuse(Refusal("Write something after @\(name)."), socket, ack, tellInChat: true) }
                guard let recipient = presence.user(named: name) else {
                    return refuse(Refusal("\(name) is not online."), socket, ack, tellInChat: true)
                }
                let message = try await storage.appendRoomMessage(from: user.name, room: nil, to: recipient.name, text: body)
                events.to(ChatRooms.user(recipient.id)).to(ChatRooms.user(user.id)).emit("message", message.json)
                stored = [message]
            } else if bound.value.rooms.isEmpty {
                let message = try await storage.appendRoomMessage(from: user.name, room: nil, to: nil, text: text)
                events.to(ChatRooms.everyone).emit("message", message.json)
                stored = [message]
            } else {
                stored = try await storage.appendRoomMessage(from: user.name, rooms: bound.value.rooms, text: text)
                for message in stored { events.to(ChatRooms.named(message.room ?? "")).emit("message", message.json) }
            }
        } catch {
            return refuse(Refusal("The message could not be stored (\(error)); it was not sent."), socket, ack, tellInChat: true)
        }
        ack(["ids": JSON(stored.map { JSON($0.id) })])
    }
}
