/// Where a room's sequence comes from, and how its messages reach the other
/// processes that have members: chosen when the broadcaster is made
/// (`BroadcastConfiguration.backend`). Above it nothing changes: each
/// process's home loop of a room encodes every message once per wire format,
/// keeps the room's order and history, and applies the slow-subscriber policy.
///
/// - `LocalRoomBackend` (the default): this process alone; the home loop numbers.
/// - A backend that spans processes (Redis, in `RedisRooms`) numbers each
///   message once for every process and hands it back, numbered, to the home
///   loop of every process that listens to the room, this one included
///   (`Broadcaster.handle(_:onLoop:)`). Those loops put what arrives back in
///   order, fetch what they missed and start a room where the backend stands.
///
/// The broadcaster calls `publish`, `listen`, `stopListening` and `fetch` on
/// the room's home loop; the backend answers from any thread.
public protocol RoomBackend: AnyObject, Sendable {
    /// True when this process numbers every room itself, on its home loop:
    /// then `publish` returns the number, and nothing is listened to or fetched.
    var numbersLocally: Bool { get }

    /// Called once, by the broadcaster made with this backend, before any loop uses it (not on a loop).
    func attach(to broadcaster: Broadcaster)

    /// A message for `room`, on the room's home loop, in publish order. Returns its sequence
    /// when the backend numbers locally (`lastSequence + 1`; the broadcaster then appends it and
    /// answers `completion`). Otherwise returns nil and takes the message: it answers
    /// `completion` (from any thread) and hands the message, numbered, to every process that
    /// listens to the room. `exclusion` names subscribers of this process.
    func publish(_ message: BroadcastMessage, to room: String, excluding exclusion: Exclusion, after lastSequence: UInt64,
                 completion: PublishCompletion?) -> UInt64?

    /// This process has members of `room` now: send its messages to the room's home loop
    /// here, starting with `.synchronized` (where the room stands). On the home loop. Called
    /// again while listening (the room still waits for `.synchronized`, or a resume needs to
    /// know where the room stands now): synchronize it again.
    func listen(to room: String)

    /// This process has no member of `room` any more. On the home loop.
    func stopListening(to room: String)

    /// The messages of `room` after `after` through `through` that the backend still has,
    /// answered with `.fetched` (or `.fetchFailed`) carrying `request`. On the home loop.
    func fetch(_ room: String, after: UInt64, through: UInt64, request: UInt64)

    /// What `/stats` shows of the backend: a JSON object, or nil. From any thread.
    func statusJSON() -> String?
}

/// This process alone: each room numbered by its home loop, its history the
/// home loop's, no other process to tell. The default backend.
public final class LocalRoomBackend: RoomBackend {
    public init() {}

    public var numbersLocally: Bool { true }

    public func attach(to broadcaster: Broadcaster) {}

    public func publish(_ message: BroadcastMessage, to room: String, excluding exclusion: Exclusion, after lastSequence: UInt64,
                        completion: PublishCompletion?) -> UInt64? {
        lastSequence + 1
    }

    // Every message of a room is published here: there is nothing to listen to or fetch.
    public func listen(to room: String) {}
    public func stopListening(to room: String) {}
    public func fetch(_ room: String, after: UInt64, through: UInt64, request: UInt64) {}

    public func statusJSON() -> String? { nil }
}

/// Answers a publish: the room's sequence number it got (the same on every
/// process), or why it was not published. Runs on the loop the publish was made
/// on (on the room's home loop for `Broadcaster.publish` from outside the group).
public typealias PublishCompletion = @Sendable (Result<UInt64, PublishError>) -> Void

/// Why a publish failed. A publish without a completion that fails is counted by the backend.
public enum PublishError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Refused before it went anywhere (the backend is unavailable): not published; try again later.
    case unavailable(String)
    /// The backend was lost before it answered: the message may or may not have been published.
    case outcomeUnknown(String)
    /// The backend answered with an error: not published.
    case refused(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "not published, the room backend is unavailable: \(why)"
        case .outcomeUnknown(let why): "the room backend was lost before it answered, so the message may or may not have been published: \(why)"
        case .refused(let why): "the room backend refused the message: \(why)"
        }
    }
}

/// A message as the backend numbered it, for one process.
public struct NumberedMessage: Sendable {
    public var room: String
    public var sequence: UInt64
    public var message: BroadcastMessage
    /// Who is left out, on this process: a subscriber of another process is not named here (a
    /// `SubscriberID` means something on its own process only); rooms are, everywhere.
    public var exclusion: Exclusion

    public init(room: String, sequence: UInt64, message: BroadcastMessage, exclusion: Exclusion = Exclusion()) {
        self.room = room
        self.sequence = sequence
        self.message = message
        self.exclusion = exclusion
    }
}

/// What a backend that spans processes tells a room's home loop, in order.
public enum RoomBackendEvent: Sendable {
    /// A message of a room this process listens to, as numbered: any order, maybe twice.
    case message(NumberedMessage)
    /// Where the room stands: its last sequence, read after this process began listening
    /// (every message after it will arrive), or again after a reconnection.
    case synchronized(room: String, lastSequence: UInt64)
    /// The answer to `fetch(…, request:)`: the messages the backend still has in the range, in
    /// order; `complete` false when it stopped at a count limit before the range's end.
    case fetched(room: String, request: UInt64, messages: [NumberedMessage], complete: Bool)
    /// `fetch(…, request:)` could not be answered (the backend is unavailable).
    case fetchFailed(room: String, request: UInt64, reason: String)
    /// The backend's connection was lost and is back: every room it listens to is synchronized
    /// again (a `.synchronized` follows for each); until then, what arrives is held.
    case reconnected
}
