/// A read request, run on the reader thread with its statements.
typealias ReadJob = @Sendable (ReadStatements) -> Void

/// The reader thread's work: it owns a second connection and runs reads in
/// turn. In WAL mode a reader sees the last committed transaction and never
/// waits for the writer, so a user's history does not queue behind a
/// batch's fsync.
final class Reader {
    private let statements: ReadStatements
    private let queue: WorkQueue<ReadJob>

    init(_ connection: SQLiteConnection, queue: WorkQueue<ReadJob>) throws(ChatStoreError) {
        statements = try ReadStatements(connection)
        self.queue = queue
    }

    /// The thread's body: returns once the queue is closed and drained.
    func run() {
        while let jobs = queue.take(upTo: .max) {
            for job in jobs { job(statements) }
        }
    }
}

/// The queries, each on statements prepared once.
final class ReadStatements {
    private let begin: Statement
    private let commit: Statement
    private let userByName: Statement
    private let userByID: Statement
    private let userByKey: Statement
    private let friendshipOfPair: Statement
    private let friendsOf: Statement
    private let conversationPage: Statement
    private let publicHistory: Statement
    private let roomHistory: Statement
    private let receivedHistory: Statement
    private let sentPrivateHistory: Statement
    private let connection: SQLiteConnection

    static let maxLimit = 1000
    static let maxRooms = 256

    init(_ connection: SQLiteConnection) throws(ChatStoreError) {
        self.connection = connection
        begin = try connection.prepare("BEGIN")
        commit = try connection.prepare("COMMIT")
        userByName = try connection.prepare(SQL.userByName)
        userByID = try connection.prepare(SQL.userByID)
        userByKey = try connection.prepare("""
            SELECT u.id, u.name, u.created FROM users u JOIN user_keys k ON k.user = u.id WHERE u.id = ?1 AND k.digest = ?2
            """)
        friendshipOfPair = try connection.prepare(SQL.friendshipOfPair)
        friendsOf = try connection.prepare("""
            SELECT u.id, u.name, u.created FROM friendships f
            JOIN users u ON u.id = CASE WHEN f.user_low = ?1 THEN f.user_high ELSE f.user_low END
            WHERE f.user_low = ?1 OR f.user_high = ?1 ORDER BY u.name
            """)
        conversationPage = try connection.prepare("""
            SELECT \(FriendMessage.columns) FROM friend_messages
            WHERE friendship = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3
            """)
        // The four ways a room message is visible; each reads one index, newest first.
        let newest = "SELECT \(RoomMessage.columns) FROM room_messages WHERE"
        publicHistory = try connection.prepare("\(newest) recipient IS NULL AND room IS NULL ORDER BY id DESC LIMIT ?1")
        roomHistory = try connection.prepare("\(newest) recipient IS NULL AND room = ?2 ORDER BY id DESC LIMIT ?1")
        receivedHistory = try connection.prepare("\(newest) recipient = ?2 ORDER BY id DESC LIMIT ?1")
        sentPrivateHistory = try connection.prepare("\(newest) recipient IS NOT NULL AND sender = ?2 ORDER BY id DESC LIMIT ?1")
    }

    /// The newest `limit` room messages `user` may see, oldest first: public
    /// ones, those in `rooms`, and private ones to or from `user`.
    func roomHistory(for user: String, rooms: [String], limit: Int) throws(ChatStoreError) -> [RoomMessage] {
        try check(limit: limit)
        guard rooms.count <= Self.maxRooms else {
            throw .invalidArgument("at most \(Self.maxRooms) rooms, not \(rooms.count)")
        }
        // One snapshot for the four queries, so a commit between them cannot skew the merge.
        var found = try inReadTransaction { () throws(ChatStoreError) in
            var found = try newest(publicHistory, limit: limit, key: nil)
            for room in Set(rooms) { found += try newest(roomHistory, limit: limit, key: room) }
            found += try newest(receivedHistory, limit: limit, key: user)
            found += try newest(sentPrivateHistory, limit: limit, key: user)
            return found
        }
        found.sort { $0.id > $1.id }
        var seen = Set<Int64>()  // a message to oneself is both received and sent
        return found.filter { seen.insert($0.id).inserted }.prefix(limit).reversed()
    }

    func conversation(_ a: Int64, _ b: Int64, before: Int64?, limit: Int) throws(ChatStoreError) -> ConversationPage {
        try check(limit: limit)
        return try inReadTransaction { () throws(ChatStoreError) in
            guard let friendship = try friendship(a, b) else { throw .notFriends(a, b) }
            conversationPage.bind(friendship.id, at: 1)
            conversationPage.bind(before ?? .max, at: 2)
            conversationPage.bind(Int64(limit) + 1, at: 3)  // one more says whether an older page exists
            var messages = try conversationPage.rows(FriendMessage.init(row:))
            let more = messages.count > limit
            if more { messages.removeLast() }
            return ConversationPage(messages: messages, nextBefore: more ? messages.last?.id : nil)
        }
    }

    func areFriends(_ a: Int64, _ b: Int64) throws(ChatStoreError) -> Bool {
        try friendship(a, b) != nil
    }

    func friends(of user: Int64) throws(ChatStoreError) -> [User] {
        friendsOf.bind(user, at: 1)
        return try friendsOf.rows(User.init(row:))
    }

    func user(named name: String) throws(ChatStoreError) -> User? {
        try userByName.bind(name, at: 1)
        return try userByName.firstRow(User.init(row:))
    }

    func user(id: Int64) throws(ChatStoreError) -> User? {
        userByID.bind(id, at: 1)
        return try userByID.firstRow(User.init(row:))
    }

    func user(id: Int64, keyDigest: String) throws(ChatStoreError) -> User? {
        userByKey.bind(id, at: 1)
        try userByKey.bind(keyDigest, at: 2)
        return try userByKey.firstRow(User.init(row:))
    }

    private func friendship(_ a: Int64, _ b: Int64) throws(ChatStoreError) -> Friendship? {
        try Friendship.find(a, b, with: friendshipOfPair)
    }

    private func newest(_ statement: Statement, limit: Int, key: String?) throws(ChatStoreError) -> [RoomMessage] {
        statement.bind(Int64(limit), at: 1)
        if let key { try statement.bind(key, at: 2) }
        return try statement.rows(RoomMessage.init(row:))
    }

    private func inReadTransaction<T>(_ body: () throws(ChatStoreError) -> T) throws(ChatStoreError) -> T {
        try begin.run()
        defer { try? commit.run() }
        return try body()
    }

    private func check(limit: Int) throws(ChatStoreError) {
        guard (1...Self.maxLimit).contains(limit) else {
            throw .invalidArgument("limit must be 1 to \(Self.maxLimit), not \(limit)")
        }
    }
}
