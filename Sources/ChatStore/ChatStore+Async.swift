// The same requests for async callers: each suspends on a checked
// continuation until the store's thread completes it, so no thread blocks.

extension ChatStore {
    public func appendRoomMessage(from sender: String, room: String?, to recipient: String?, text: String) async throws(ChatStoreError) -> RoomMessage {
        try await awaiting { appendRoomMessage(from: sender, room: room, to: recipient, text: text, completion: $0) }
    }

    public func appendRoomMessage(from sender: String, rooms: [String], text: String) async throws(ChatStoreError) -> [RoomMessage] {
        try await awaiting { appendRoomMessage(from: sender, rooms: rooms, text: text, completion: $0) }
    }

    public func createUser(named name: String) async throws(ChatStoreError) -> User {
        try await awaiting { createUser(named: name, completion: $0) }
    }

    public func createUser(named name: String, keyDigest: String) async throws(ChatStoreError) -> User {
        try await awaiting { createUser(named: name, keyDigest: keyDigest, completion: $0) }
    }

    public func addFriendship(_ a: Int64, _ b: Int64) async throws(ChatStoreError) -> Friendship {
        try await awaiting { addFriendship(a, b, completion: $0) }
    }

    public func appendFriendMessage(from sender: Int64, to recipient: Int64, content: String, kind: MessageKind) async throws(ChatStoreError) -> FriendMessage {
        try await awaiting { appendFriendMessage(from: sender, to: recipient, content: content, kind: kind, completion: $0) }
    }

    public func roomHistory(for user: String, rooms: [String], limit: Int = 20) async throws(ChatStoreError) -> [RoomMessage] {
        try await awaiting { roomHistory(for: user, rooms: rooms, limit: limit, completion: $0) }
    }

    public func conversation(between a: Int64, and b: Int64, before: Int64? = nil, limit: Int = 50) async throws(ChatStoreError) -> ConversationPage {
        try await awaiting { conversation(between: a, and: b, before: before, limit: limit, completion: $0) }
    }

    public func areFriends(_ a: Int64, _ b: Int64) async throws(ChatStoreError) -> Bool {
        try await awaiting { areFriends(a, b, completion: $0) }
    }

    public func friends(of user: Int64) async throws(ChatStoreError) -> [User] {
        try await awaiting { friends(of: user, completion: $0) }
    }

    public func user(named name: String) async throws(ChatStoreError) -> User? {
        try await awaiting { user(named: name, completion: $0) }
    }

    public func user(id: Int64) async throws(ChatStoreError) -> User? {
        try await awaiting { user(id: id, completion: $0) }
    }

    public func user(id: Int64, keyDigest: String) async throws(ChatStoreError) -> User? {
        try await awaiting { user(id: id, keyDigest: keyDigest, completion: $0) }
    }
}

private func awaiting<Value: Sendable>(_ start: (@escaping Completion<Value>) -> Void) async throws(ChatStoreError) -> Value {
    let result = await withCheckedContinuation { continuation in
        start { continuation.resume(returning: $0) }
    }
    return try result.get()
}
