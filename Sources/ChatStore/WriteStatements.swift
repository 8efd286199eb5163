import Glibc

/// The writes, each a few prepared statements run inside the writer's open
/// transaction. A refusal of the request (a taken name, not friends) is the
/// returned failure; a thrown error is SQLite's, and the writer decides
/// whether it refuses the request or dooms the batch.
final class WriteStatements {
    private let insertRoomMessage: Statement
    private let insertUser: Statement
    private let insertUserKey: Statement
    private let userByID: Statement
    private let friendshipOfPair: Statement
    private let insertFriendship: Statement
    private let insertFriendMessage: Statement
    private let connection: SQLiteConnection

    init(_ connection: SQLiteConnection) throws(ChatStoreError) {
        self.connection = connection
        insertRoomMessage = try connection.prepare(
            "INSERT INTO room_messages (time, sender, room, recipient, text) VALUES (?1, ?2, ?3, ?4, ?5)")
        insertUser = try connection.prepare("INSERT INTO users (name, created) VALUES (?1, ?2)")
        insertUserKey = try connection.prepare("INSERT INTO user_keys (user, digest) VALUES (?1, ?2)")
        userByID = try connection.prepare(SQL.userByID)
        friendshipOfPair = try connection.prepare(SQL.friendshipOfPair)
        insertFriendship = try connection.prepare(
            "INSERT INTO friendships (user_low, user_high, created) VALUES (?1, ?2, ?3)")
        insertFriendMessage = try connection.prepare(
            "INSERT INTO friend_messages (friendship, sender, recipient, kind, content, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
    }

    func appendRoomMessage(from sender: String, room: String?, to recipient: String?, text: String) throws(ChatStoreError) -> Result<RoomMessage, ChatStoreError> {
        let time = wallClockMilliseconds()
        insertRoomMessage.bind(time, at: 1)
        try insertRoomMessage.bind(sender, at: 2)
        try insertRoomMessage.bind(room, at: 3)
        try insertRoomMessage.bind(recipient, at: 4)
        try insertRoomMessage.bind(text, at: 5)
        try insertRoomMessage.run()
        return .success(RoomMessage(id: connection.lastInsertedID, time: time, from: sender, room: room, to: recipient, text: text))
    }

    /// One message to several rooms: a row per room, all in the batch's transaction.
    func appendRoomMessage(from sender: String, rooms: [String], text: String) throws(ChatStoreError) -> Result<[RoomMessage], ChatStoreError> {
        guard !rooms.isEmpty else { return .failure(.invalidArgument("a message to rooms needs at least one room")) }
        var stored: [RoomMessage] = []
        stored.reserveCapacity(rooms.count)
        for room in rooms {
            guard case .success(let message) = try appendRoomMessage(from: sender, room: room, to: nil, text: text) else { continue }
            stored.append(message)
        }
        return .success(stored)
    }

    func createUser(named name: String) throws(ChatStoreError) -> Result<User, ChatStoreError> {
        guard !name.isEmpty else { return .failure(.invalidArgument("a user name cannot be empty")) }
        let created = wallClockMilliseconds()
        try insertUser.bind(name, at: 1)
        insertUser.bind(created, at: 2)
        do throws(ChatStoreError) {
            try insertUser.run()
        } catch let error where error.isConstraint {
            return .failure(.nameTaken(name))
        }
        return .success(User(id: connection.lastInsertedID, name: name, created: created))
    }

    /// A new user and the digest of the key that signs in as it, in one transaction.
    func createUser(named name: String, keyDigest: String) throws(ChatStoreError) -> Result<User, ChatStoreError> {
        guard !keyDigest.isEmpty else { return .failure(.invalidArgument("a key digest cannot be empty")) }
        let result = try createUser(named: name)
        guard case .success(let user) = result else { return result }
        insertUserKey.bind(user.id, at: 1)
        try insertUserKey.bind(keyDigest, at: 2)
        try insertUserKey.run()
        return result
    }

    /// The friendship of the pair, new or (in either order) already stored.
    func addFriendship(_ a: Int64, _ b: Int64) throws(ChatStoreError) -> Result<Friendship, ChatStoreError> {
        guard a != b else { return .failure(.invalidArgument("a user cannot be their own friend")) }
        for id in [a, b] {
            userByID.bind(id, at: 1)
            if try userByID.firstRow({ _ in true }) == nil { return .failure(.unknownUser(id)) }
        }
        if let existing = try friendship(a, b) { return .success(existing) }
        let (low, high) = Friendship.key(a, b)
        let created = wallClockMilliseconds()
        insertFriendship.bind(low, at: 1)
        insertFriendship.bind(high, at: 2)
        insertFriendship.bind(created, at: 3)
        try insertFriendship.run()
        return .success(Friendship(id: connection.lastInsertedID, first: low, second: high, created: created))
    }

    func appendFriendMessage(from sender: Int64, to recipient: Int64, content: String, kind: MessageKind) throws(ChatStoreError) -> Result<FriendMessage, ChatStoreError> {
        // Checked in the transaction that stores the message, so the answer cannot go stale.
        guard let friendship = try friendship(sender, recipient) else { return .failure(.notFriends(sender, recipient)) }
        let time = wallClockMilliseconds()
        insertFriendMessage.bind(friendship.id, at: 1)
        insertFriendMessage.bind(sender, at: 2)
        insertFriendMessage.bind(recipient, at: 3)
        try insertFriendMessage.bind(kind.rawValue, at: 4)
        try insertFriendMessage.bind(content, at: 5)
        insertFriendMessage.bind(time, at: 6)
        try insertFriendMessage.run()
        return .success(FriendMessage(id: connection.lastInsertedID, friendship: friendship.id, from: sender, to: recipient,
                                      content: content, kind: kind, time: time))
    }

    private func friendship(_ a: Int64, _ b: Int64) throws(ChatStoreError) -> Friendship? {
        try Friendship.find(a, b, with: friendshipOfPair)
    }
}

/// Milliseconds since the Unix epoch, as records carry them.
func wallClockMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}
