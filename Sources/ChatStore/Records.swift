// What the store keeps. Times are milliseconds since the Unix epoch (wall
// clock), stamped by the store when the row is written.

/// A user of either application: a unique name (unique regardless of ASCII
/// case: "Bob" and "bob" are one user) and the id the store gave it.
public struct User: Equatable, Sendable {
    public let id: Int64
    public let name: String
    public let created: Int64

    /// For callers that keep users without the store (a run with storage off, tests).
    public init(id: Int64, name: String, created: Int64) {
        self.id = id
        self.name = name
        self.created = created
    }
}

/// A message of the chat room. `room` nil: public (everyone); `to` non-nil:
/// private to that user (then `room` is nil by convention).
public struct RoomMessage: Equatable, Sendable {
    public let id: Int64
    public let time: Int64
    public let from: String
    public let room: String?
    public let to: String?
    public let text: String

    /// For callers that make messages without the store (a run with storage off, tests).
    public init(id: Int64, time: Int64, from: String, room: String?, to: String?, text: String) {
        self.id = id
        self.time = time
        self.from = from
        self.room = room
        self.to = to
        self.text = text
    }
}

/// Two users who may message each other, stored once for the pair: `first`
/// is the smaller id.
public struct Friendship: Equatable, Sendable {
    public let id: Int64
    public let first: Int64
    public let second: Int64
    public let created: Int64

    /// For callers that keep friendships without the store; `first` must be the smaller id.
    public init(id: Int64, first: Int64, second: Int64, created: Int64) {
        precondition(first < second, "a friendship is stored smaller id first")
        self.id = id
        self.first = first
        self.second = second
        self.created = created
    }

    /// The pair in storage order, whichever way round it is given.
    static func key(_ a: Int64, _ b: Int64) -> (Int64, Int64) { a < b ? (a, b) : (b, a) }
}

public enum MessageKind: String, Sendable, CaseIterable {
    case text, emoji, file
}

/// A message between friends. `friendship` is the pair's id.
public struct FriendMessage: Equatable, Sendable {
    public let id: Int64
    public let friendship: Int64
    public let from: Int64
    public let to: Int64
    public let content: String
    public let kind: MessageKind
    public let time: Int64

    /// For callers that make messages without the store (a run with storage off, tests).
    public init(id: Int64, friendship: Int64, from: Int64, to: Int64, content: String, kind: MessageKind, time: Int64) {
        self.id = id
        self.friendship = friendship
        self.from = from
        self.to = to
        self.content = content
        self.kind = kind
        self.time = time
    }
}

/// One page of a conversation, newest first. `nextBefore` is the `before`
/// that asks for the next (older) page; nil when there is none.
public struct ConversationPage: Equatable, Sendable {
    public let messages: [FriendMessage]
    public let nextBefore: Int64?

    public init(messages: [FriendMessage], nextBefore: Int64?) {
        self.messages = messages
        self.nextBefore = nextBefore
    }
}

/// What the writer has done since the store opened.
public struct ChatStoreStatistics: Equatable, Sendable {
    /// Transactions committed: one per batch of waiting writes.
    public var transactions = 0
    /// Write requests carried by those transactions (refused ones, such as
    /// a taken name, included): writes / transactions is the mean batch.
    public var writes = 0
    /// Batches rolled back because the database failed; every request in
    /// them was reported failed.
    public var failedTransactions = 0
    public var largestBatch = 0
    /// Requests waiting for the writer now.
    public var pendingWrites = 0
}
