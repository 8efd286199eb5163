import ChatStore
import Events
import Reactor

// Friend chat, by user id: `befriend` (name), `friends`, `friendMessage`
// ({to, content, type}) and `conversation` ({with, before, limit}). A
// message reaches every connection of its recipient and the sender's other ones.
extension ChatService {
    func handleFriendEvents(_ socket: Socket, _ bound: LoopBound<ChatConnection>) {
        socket.on("befriend") { [self] arguments, ack async in
            guard let me = signedInUser(bound, socket, ack) else { return }
            guard let name = arguments.first?.string, !name.isEmpty else { return refuse(Refusal("befriend takes a user's name"), socket, ack) }
            do {
                guard let friend = try await storage.user(named: name) else { return refuse(Refusal("Nobody is named \(name)."), socket, ack) }
                guard friend.id != me.id else { return refuse(Refusal("You cannot befriend yourself."), socket, ack) }
                guard storeKeepsUp(socket, ack) else { return }
                _ = try await storage.addFriendship(me.id, friend.id)
                let friendJSON = friend.json(online: presence.isOnline(friend.id))
                events.to(ChatRooms.user(friend.id)).emit("friend", me.json(online: true))
                socket.to(ChatRooms.user(me.id)).emit("friend", friendJSON)
                ack(["friend": friendJSON])
            } catch {
                refuse(Refusal("The friendship could not be stored (\(error))."), socket, ack)
            }
        }
        socket.on("friends") { [self] _, ack async in
            guard let me = signedInUser(bound, socket, ack) else { return }
            do {
                let friends = try await storage.friends(of: me.id)
                ack(["friends": JSON(friends.map { $0.json(online: presence.isOnline($0.id)) })])
            } catch {
                refuse(Refusal("Your friends could not be read (\(error))."), socket, ack)
            }
        }
        socket.on("friendMessage") { [self] arguments, ack async in
            guard let me = signedInUser(bound, socket, ack) else { return }
            let request = arguments.first ?? .null
            guard let to = request["to"]?.int, let content = request["content"]?.string else {
                return refuse(Refusal("friendMessage takes {to: a user id, content: text, type: text|emoji|file}"), socket, ack)
            }
            guard let kind = MessageKind(rawValue: request["type"]?.string ?? "text") else {
                return refuse(Refusal("a message's type is text, emoji or file"), socket, ack)
            }
            if case .failure(let refusal) = ChatText.message(content, maxLength: configuration.maxMessageLength) { return refuse(refusal, socket, ack) }
            guard storeKeepsUp(socket, ack) else { return }
            let message: FriendMessage
            do throws(ChatStoreError) {
                message = try await storage.appendFriendMessage(from: me.id, to: Int64(to), content: content, kind: kind)
            } catch {
                if case .notFriends = error {
                    return refuse(Refusal("User \(to) is not your friend: befriend them first. The message was not sent."), socket, ack)
                }
                return refuse(Refusal("The message could not be stored (\(error)); it was not sent."), socket, ack)
            }
            socket.to(ChatRooms.user(message.to)).to(ChatRooms.user(me.id)).emit("friendMessage", message.json)
            ack(["message": message.json])
        }
        socket.on("conversation") { [self] arguments, ack async in
            guard let me = signedInUser(bound, socket, ack) else { return }
            let request = arguments.first ?? .null
            guard let with = request["with"]?.int else { return refuse(Refusal("conversation takes {with: a user id, before, limit}"), socket, ack) }
            let limit = min(max(1, request["limit"]?.int ?? 50), configuration.maxConversationPage)
            do throws(ChatStoreError) {
                let page = try await storage.conversation(between: me.id, and: Int64(with), before: request["before"]?.int.map(Int64.init), limit: limit)
                ack(["messages": JSON(page.messages.map(\.json)), "nextBefore": page.nextBefore.map { JSON($0) } ?? .null])
            } catch {
                if case .notFriends = error { return refuse(Refusal("User \(with) is not your friend."), socket, ack) }
                refuse(Refusal("The conversation could not be read (\(error))."), socket, ack)
            }
        }
    }

    /// The connection's user, when it has entered and may send now; otherwise the client is told why.
    private func signedInUser(_ bound: LoopBound<ChatConnection>, _ socket: Socket, _ ack: Acknowledgement) -> User? {
        guard let connection = admit(bound, socket, ack) else { return nil }
        guard let user = connection.user else {
            refuse(Refusal("Take a name first: your first chat message is your name."), socket, ack)
            return nil
        }
        return user
    }
}
