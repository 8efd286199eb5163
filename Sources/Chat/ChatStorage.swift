import ChatStore

/// What the chat keeps, and where: `ChatStore` (SQLite, durable) or
/// `MemoryStorage` (nothing kept: a server run with storage off, to measure
/// what storage costs). Every call suspends its caller only; the service
/// awaits it in a task on the socket's loop.
public protocol ChatStorage: Sendable {
    func createUser(named name: String, keyDigest: String) async throws(ChatStoreError) -> User
    func user(id: Int64, keyDigest: String) async throws(ChatStoreError) -> User?
    func user(named name: String) async throws(ChatStoreError) -> User?
    func appendRoomMessage(from sender: String, room: String?, to recipient: String?, text: String) async throws(ChatStoreError) -> RoomMessage
    func appendRoomMessage(from sender: String, rooms: [String], text: String) async throws(ChatStoreError) -> [RoomMessage]
    func roomHistory(for user: String, rooms: [String], limit: Int) async throws(ChatStoreError) -> [RoomMessage]
    func addFriendship(_ a: Int64, _ b: Int64) async throws(ChatStoreError) -> Friendship
    func friends(of user: Int64) async throws(ChatStoreError) -> [User]
    func appendFriendMessage(from sender: Int64, to recipient: Int64, content: String, kind: MessageKind) async throws(ChatStoreError) -> FriendMessage
    func conversation(between a: Int64, and b: Int64, before: Int64?, limit: Int) async throws(ChatStoreError) -> ConversationPage
    /// Writes accepted and not yet committed: what the service sheds load by.
    var pendingWrites: Int { get }
    /// Finishes what is queued (every accepted write is committed) and closes.
    func close()
}

extension ChatStore: ChatStorage {
    public var pendingWrites: Int { statistics().pendingWrites }
}
