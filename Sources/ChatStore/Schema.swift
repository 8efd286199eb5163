/// The schema, as migrations. Migration i takes the file from version i to
/// i + 1 (`PRAGMA user_version`); all that a file lacks run at open, in
/// order, in one transaction. Append new ones; never edit a shipped one.
enum Schema {
    static let migrations: [String] = [
        // 1: both applications. AUTOINCREMENT, so an id, once acknowledged,
        // is never given again, even if the newest rows are deleted one day.
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created INTEGER NOT NULL
        );

        -- The chat room: names, not ids, as the room's users are known by name.
        -- recipient NULL: to a room (room NULL: to everyone); else private.
        CREATE TABLE room_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time INTEGER NOT NULL,
            sender TEXT NOT NULL COLLATE NOCASE,
            room TEXT,
            recipient TEXT COLLATE NOCASE,
            text TEXT NOT NULL
        );
        -- One index per way a message becomes visible, each read newest
        -- first with a LIMIT, so history costs O(limit) whatever the size.
        CREATE INDEX room_messages_by_room ON room_messages (room, id) WHERE recipient IS NULL;
        CREATE INDEX room_messages_by_recipient ON room_messages (recipient, id) WHERE recipient IS NOT NULL;
        CREATE INDEX room_messages_private_by_sender ON room_messages (sender, id) WHERE recipient IS NOT NULL;

        -- Friend chat: a friendship is stored once, smaller id first.
        CREATE TABLE friendships (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_low INTEGER NOT NULL REFERENCES users (id),
            user_high INTEGER NOT NULL REFERENCES users (id),
            created INTEGER NOT NULL,
            UNIQUE (user_low, user_high),
            CHECK (user_low < user_high)
        );
        CREATE INDEX friendships_by_high ON friendships (user_high);

        CREATE TABLE friend_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            friendship INTEGER NOT NULL REFERENCES friendships (id),
            sender INTEGER NOT NULL REFERENCES users (id),
            recipient INTEGER NOT NULL REFERENCES users (id),
            kind TEXT NOT NULL CHECK (kind IN ('text', 'emoji', 'file')),
            content TEXT NOT NULL,
            time INTEGER NOT NULL
        );
        CREATE INDEX friend_messages_by_friendship ON friend_messages (friendship, id);
        """,
        // 2: sign-in keys. The chat server gives a browser a secret key when
        // its user takes a name, so that browser (and no other) is that user
        // again later; only the key's digest is kept.
        """
        CREATE TABLE user_keys (
            user INTEGER PRIMARY KEY REFERENCES users (id),
            digest TEXT NOT NULL
        );
        """,
    ]

    static var version: Int { migrations.count }
}

/// The statements both connections prepare, in one place.
enum SQL {
    static let userByName = "SELECT \(User.columns) FROM users WHERE name = ?1"
    static let userByID = "SELECT \(User.columns) FROM users WHERE id = ?1"
    static let friendshipOfPair = "SELECT \(Friendship.columns) FROM friendships WHERE user_low = ?1 AND user_high = ?2"
}
