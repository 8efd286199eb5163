// Records read back from a statement's current row, columns in the order
// the statements select them.

extension User {
    static let columns = "id, name, created"

    init(row: Statement) {
        self.init(id: row.int64(0), name: row.text(1), created: row.int64(2))
    }
}

extension RoomMessage {
    static let columns = "id, time, sender, room, recipient, text"

    init(row: Statement) {
        self.init(id: row.int64(0), time: row.int64(1), from: row.text(2), room: row.optionalText(3),
                  to: row.optionalText(4), text: row.text(5))
    }
}

extension Friendship {
    static let columns = "id, user_low, user_high, created"

    init(row: Statement) {
        self.init(id: row.int64(0), first: row.int64(1), second: row.int64(2), created: row.int64(3))
    }

    /// The pair's friendship, in either order, through `SQL.friendshipOfPair`.
    static func find(_ a: Int64, _ b: Int64, with statement: Statement) throws(ChatStoreError) -> Friendship? {
        let (low, high) = key(a, b)
        statement.bind(low, at: 1)
        statement.bind(high, at: 2)
        return try statement.firstRow(Friendship.init(row:))
    }
}

extension FriendMessage {
    static let columns = "id, friendship, sender, recipient, content, kind, time"

    init(row: Statement) {
        // The table's CHECK admits only the three kinds.
        self.init(id: row.int64(0), friendship: row.int64(1), from: row.int64(2), to: row.int64(3),
                  content: row.text(4), kind: MessageKind(rawValue: row.text(5)) ?? .text, time: row.int64(6))
    }
}
