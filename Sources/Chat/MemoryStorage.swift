import ChatStore
import Glibc
import Synchronization

/// Storage off (`chat-server --no-store`): users and friendships live in
/// memory until exit, messages get ids from a counter and are not kept, so
/// history and conversations are empty. It answers at once, on the caller's
/// thread: a run with it measures the server without its database.
public final class MemoryStorage: ChatStorage {
    private struct State {
        var users: [Int64: User] = [:]
        var idsByName: [String: Int64] = [:]
        var keyDigests: [Int64: String] = [:]
        var friendships: [Pair: Friendship] = [:]
        var lastUser: Int64 = 0
        var lastFriendship: Int64 = 0
        var lastRoomMessage: Int64 = 0
        var lastFriendMessage: Int64 = 0
    }

    private struct Pair: Hashable {
        let low: Int64
        let high: Int64
        init(_ a: Int64, _ b: Int64) { (low, high) = a < b ? (a, b) : (b, a) }
    }

    private let state = Mutex(State())

    public init() {}

    public func createUser(named name: String, keyDigest: String) throws(ChatStoreError) -> User {
        guard !name.isEmpty else { throw .invalidArgument("a user name cannot be empty") }
        let result: Result<User, ChatStoreError> = state.withLock { state in
            let folded = ChatText.folded(name)
            guard state.idsByName[folded] == nil else { return .failure(.nameTaken(name)) }
            state.lastUser += 1
            let user = User(id: state.lastUser, name: name, created: Self.now())
            state.users[user.id] = user
            state.idsByName[folded] = user.id
            state.keyDigests[user.id] = keyDigest
            return .success(user)
        }
        return try result.get()
    }

    public func user(id: Int64, keyDigest: String) -> User? {
        state.withLock { $0.keyDigests[id] == keyDigest ? $0.users[id] : nil }
    }

    public func user(named name: String) -> User? {
        state.withLock { state in state.idsByName[ChatText.folded(name)].flatMap { state.users[$0] } }
    }

    public func appendRoomMessage(from sender: String, room: String?, to recipient: String?, text: String) -> RoomMessage {
        let id = state.withLock { state in
            state.lastRoomMessage += 1
            return state.lastRoomMessage
        }
        return RoomMessage(id: id, time: Self.now(), from: sender, room: room, to: recipient, text: text)
    }

    public func appendRoomMessage(from sender: String, rooms: [String], text: String) -> [RoomMessage] {
        rooms.map { appendRoomMessage(from: sender, room: $0, to: nil, text: text) }
    }

    public func roomHistory(for user: String, rooms: [String], limit: Int) -> [RoomMessage] { [] }

    public func addFriendship(_ a: Int64, _ b: Int64) throws(ChatStoreError) -> Friendship {
        guard a != b else { throw .invalidArgument("a user cannot be their own friend") }
        let result: Result<Friendship, ChatStoreError> = state.withLock { state in
            for id in [a, b] where state.users[id] == nil { return .failure(.unknownUser(id)) }
            let pair = Pair(a, b)
            if let existing = state.friendships[pair] { return .success(existing) }
            state.lastFriendship += 1
            let friendship = Friendship(id: state.lastFriendship, first: pair.low, second: pair.high, created: Self.now())
            state.friendships[pair] = friendship
            return .success(friendship)
        }
        return try result.get()
    }

    public func friends(of user: Int64) -> [User] {
        state.withLock { state in
            state.friendships.keys.compactMap { pair in
                pair.low == user ? state.users[pair.high] : pair.high == user ? state.users[pair.low] : nil
            }
        }.sorted { $0.name < $1.name }
    }

    public func appendFriendMessage(from sender: Int64, to recipient: Int64, content: String, kind: MessageKind) throws(ChatStoreError) -> FriendMessage {
        let result: Result<(Int64, Int64), ChatStoreError> = state.withLock { state in
            guard let friendship = state.friendships[Pair(sender, recipient)] else { return .failure(.notFriends(sender, recipient)) }
            state.lastFriendMessage += 1
            return .success((state.lastFriendMessage, friendship.id))
        }
        let (id, friendship) = try result.get()
        return FriendMessage(id: id, friendship: friendship, from: sender, to: recipient, content: content, kind: kind, time: Self.now())
    }

    public func conversation(between a: Int64, and b: Int64, before: Int64?, limit: Int) throws(ChatStoreError) -> ConversationPage {
        guard state.withLock({ $0.friendships[Pair(a, b)] != nil }) else { throw .notFriends(a, b) }
        return ConversationPage(messages: [], nextBefore: nil)
    }

    public var pendingWrites: Int { 0 }

    public func close() {}

    private static func now() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
