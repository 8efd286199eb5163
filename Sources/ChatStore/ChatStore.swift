import Glibc
import Reactor
import Synchronization

/// The chat's durable store: the chat room's messages, friend chat's users,
/// friendships and messages, in one SQLite file in WAL mode.
///
/// Nothing here blocks the caller on SQLite. Writes go to one writer thread,
/// which owns the write connection and commits every waiting write in one
/// transaction; a write's completion runs after COMMIT has returned, carrying
/// what was stored (with its id). Reads go to one reader thread with its own
/// connection, which WAL lets read while the writer commits. A read submitted
/// after a write's completion has run sees that write.
///
/// Completions run on the store's threads (writes in id order), never inside
/// the call, except `.closed`, which a closed store reports at once on the
/// caller's thread. Keep them short (post to an event loop): the next batch
/// waits for them.
public final class ChatStore: Sendable {
    /// The schema version this build writes (`PRAGMA user_version`).
    public static let schemaVersion = Schema.version

    public let path: String
    private let writes = WorkQueue<WriteJob>()
    private let reads = WorkQueue<ReadJob>()
    private let counters = WriterCounters()
    private let threads: Mutex<(reader: pthread_t?, writer: pthread_t?)>

    /// Opens (or, when nothing is at `path`, creates) the store, migrating
    /// an older schema. Throws, leaving the file untouched, when it is not a
    /// database, is corrupt, or has a newer schema.
    public init(path: String, configuration: ChatStoreConfiguration = .init()) throws(ChatStoreError) {
        self.path = path
        let writer = try Writer(DatabaseFile.openForWriting(path, configuration), queue: writes, counters: counters,
                                maxBatchSize: configuration.maxBatchSize)
        let reader = try Reader(DatabaseFile.openForReading(path, configuration), queue: reads)
        var started: (reader: pthread_t?, writer: pthread_t?) = (nil, nil)
        do {
            started.writer = try startThread(named: "chatstore-write") { writer.run() }
            started.reader = try startThread(named: "chatstore-read") { reader.run() }
        } catch {
            threads = Mutex(started)
            close()
            throw .cannotOpen(path: path, reason: "\(error)")
        }
        threads = Mutex(started)
    }

    deinit { close() }

    // MARK: Writes

    /// Stores a chat-room message: `room` nil is public; `to` non-nil makes it private.
    public func appendRoomMessage(from sender: String, room: String?, to recipient: String?, text: String,
                                  completion: @escaping Completion<RoomMessage>) {
        write(completion) { statements throws(ChatStoreError) in
            try statements.appendRoomMessage(from: sender, room: room, to: recipient, text: text)
        }
    }

    /// Stores one message in each of `rooms` (a row per room, in their order), all or none.
    public func appendRoomMessage(from sender: String, rooms: [String], text: String, completion: @escaping Completion<[RoomMessage]>) {
        write(completion) { statements throws(ChatStoreError) in
            try statements.appendRoomMessage(from: sender, rooms: rooms, text: text)
        }
    }

    /// A new user; `.nameTaken` when another has the name (ignoring ASCII case).
    public func createUser(named name: String, completion: @escaping Completion<User>) {
        write(completion) { statements throws(ChatStoreError) in try statements.createUser(named: name) }
    }

    /// A new user that the key whose digest is `keyDigest` signs in as
    /// (`user(id:keyDigest:)`); `.nameTaken` as above.
    public func createUser(named name: String, keyDigest: String, completion: @escaping Completion<User>) {
        write(completion) { statements throws(ChatStoreError) in try statements.createUser(named: name, keyDigest: keyDigest) }
    }

    /// Makes two users friends (in either order; adding a pair twice returns the stored one).
    public func addFriendship(_ a: Int64, _ b: Int64, completion: @escaping Completion<Friendship>) {
        write(completion) { statements throws(ChatStoreError) in try statements.addFriendship(a, b) }
    }

    /// Stores a message between friends; `.notFriends` (nothing stored) otherwise.
    public func appendFriendMessage(from sender: Int64, to recipient: Int64, content: String, kind: MessageKind,
                                    completion: @escaping Completion<FriendMessage>) {
        write(completion) { statements throws(ChatStoreError) in
            try statements.appendFriendMessage(from: sender, to: recipient, content: content, kind: kind)
        }
    }

    // MARK: Reads

    /// The newest `limit` (1–1,000) chat-room messages `user` may see, oldest
    /// first: the public ones, those in `rooms` (up to 256), and the private
    /// ones to or from `user`.
    public func roomHistory(for user: String, rooms: [String], limit: Int = 20, completion: @escaping Completion<[RoomMessage]>) {
        read(completion) { statements throws(ChatStoreError) in try statements.roomHistory(for: user, rooms: rooms, limit: limit) }
    }

    /// Messages between two friends, newest first: up to `limit` (1–1,000)
    /// with ids below `before` (nil: from the newest). `.notFriends` when they are not.
    public func conversation(between a: Int64, and b: Int64, before: Int64? = nil, limit: Int = 50,
                             completion: @escaping Completion<ConversationPage>) {
        read(completion) { statements throws(ChatStoreError) in try statements.conversation(a, b, before: before, limit: limit) }
    }

    public func areFriends(_ a: Int64, _ b: Int64, completion: @escaping Completion<Bool>) {
        read(completion) { statements throws(ChatStoreError) in try statements.areFriends(a, b) }
    }

    /// A user's friends, by name.
    public func friends(of user: Int64, completion: @escaping Completion<[User]>) {
        read(completion) { statements throws(ChatStoreError) in try statements.friends(of: user) }
    }

    public func user(named name: String, completion: @escaping Completion<User?>) {
        read(completion) { statements throws(ChatStoreError) in try statements.user(named: name) }
    }

    public func user(id: Int64, completion: @escaping Completion<User?>) {
        read(completion) { statements throws(ChatStoreError) in try statements.user(id: id) }
    }

    /// The user `id`, when it was created with a key of this digest; nil otherwise.
    public func user(id: Int64, keyDigest: String, completion: @escaping Completion<User?>) {
        read(completion) { statements throws(ChatStoreError) in try statements.user(id: id, keyDigest: keyDigest) }
    }

    // MARK: The store

    public func statistics() -> ChatStoreStatistics {
        counters.snapshot(pendingWrites: writes.count)
    }

    /// Refuses new requests (`.closed`), finishes those queued (every write
    /// is committed and reported), joins the threads and closes the file.
    /// From a completion it cannot wait for its own thread, so it returns
    /// at once and the thread finishes by itself. Safe to call twice.
    public func close() {
        reads.close()
        writes.close()
        let (reader, writer) = threads.withLock { threads in
            defer { threads = (nil, nil) }
            return threads
        }
        // The reader first, so the writer's connection is the last to close
        // and checkpoints the WAL into the database file.
        for thread in [reader, writer].compactMap({ $0 }) {
            if pthread_equal(thread, pthread_self()) != 0 {
                pthread_detach(thread)
            } else {
                pthread_join(thread, nil)
            }
        }
    }

    private func write<Value: Sendable>(_ completion: @escaping Completion<Value>,
                                        _ body: @escaping @Sendable (WriteStatements) throws(ChatStoreError) -> Result<Value, ChatStoreError>) {
        if !writes.submit(WriteJob(body, completion: completion)) { completion(.failure(.closed)) }
    }

    private func read<Value: Sendable>(_ completion: @escaping Completion<Value>,
                                       _ body: @escaping @Sendable (ReadStatements) throws(ChatStoreError) -> Value) {
        let accepted = reads.submit { statements in
            completion(Result { () throws(ChatStoreError) in try body(statements) })
        }
        if !accepted { completion(.failure(.closed)) }
    }
}
