import Broadcast
import PushServer
import Synchronization

/// Who an emit reaches (socket.io's `to`, `in`, `except`, `broadcast`): the
/// members of some rooms of a namespace (or all of it), less the members of
/// other rooms and maybe the sender. Built by chaining, then `emit`. A
/// member of several of the rooms gets the packet once. Each room's packet
/// is encoded once per transport, whatever the number of members.
public struct BroadcastOperator: Sendable {
    let namespace: Namespace
    var rooms: [String] = []
    var exceptRooms: [String] = []
    /// The sender, left out (`socket.broadcast`, `socket.to`).
    var excluding: SessionID?
    var key: String?
    var isVolatile = false

    init(namespace: Namespace, excluding: SessionID? = nil) {
        self.namespace = namespace
        self.excluding = excluding
    }

    /// Also the members of `room`.
    public func to(_ room: String) -> BroadcastOperator {
        var next = self
        if !next.rooms.contains(room) { next.rooms.append(room) }
        return next
    }

    /// The same as `to`.
    public func `in`(_ room: String) -> BroadcastOperator { to(room) }

    /// A packet that is an update of `key` (a symbol, a field): for a member
    /// that is behind in a room or subscription that conflates, a newer one
    /// with the same key replaces it while it waits. The packet carries `"key"`.
    public func keyed(_ key: String) -> BroadcastOperator {
        var next = self
        next.key = key
        return next
    }

    /// Dropped, and counted, for members that are behind, instead of queued (socket.io's `volatile`).
    public var volatile: BroadcastOperator {
        var next = self
        next.isVolatile = true
        return next
    }

    /// Not the members of `room`.
    public func except(_ room: String) -> BroadcastOperator {
        var next = self
        if !next.exceptRooms.contains(room) { next.exceptRooms.append(room) }
        return next
    }

    public func emit(_ event: String, _ arguments: JSON...) {
        emit(event, arguments: arguments)
    }

    /// `completion`, when given, says whether every room took the packet: with a room backend
    /// that spans processes (Redis) a publish can fail (`PublishError`). It runs once, on the
    /// loop the emit was made on (a room's home loop for an emit from outside the loops).
    public func emit(_ event: String, arguments: [JSON], completion: (@Sendable (Result<Void, PublishError>) -> Void)? = nil) {
        let sender = excluding?.subscriberID
        let excepted = exceptRooms.map { namespace.key(of: $0) }
        guard !rooms.isEmpty else {
            let packet = Packet.event(namespace: namespace.name, room: nil, name: event, arguments: arguments, ack: nil, key: key)
            var answered: PublishCompletion?
            if let completion { answered = { result in completion(result.map { _ in () }) } }
            namespace.events.publish(message(packet), to: namespace.key,
                                     excluding: Exclusion(subscriber: sender, membersOf: excepted), completion: answered)
            return
        }
        var answered: PublishCompletion?
        if let completion {
            let answers = EmitAnswers(expected: rooms.count, completion: completion)
            answered = { result in answers.add(result) }
        }
        // Room by room, each member once: a room's packet leaves out the members of the rooms before it.
        // Every copy carries one id, so a client that resumes several of the rooms takes it once.
        let id = rooms.count > 1 ? namespace.events.nextMessageID() : nil
        var earlier: [String] = []
        for room in rooms {
            let key = namespace.key(of: room)
            let packet = Packet.event(namespace: namespace.name, room: room, name: event, arguments: arguments, ack: nil, key: self.key,
                                      id: id)
            namespace.events.publish(message(packet), to: key,
                                     excluding: Exclusion(subscriber: sender, membersOf: earlier + excepted), completion: answered)
            earlier.append(key)
        }
    }

    private func message(_ packet: [UInt8]) -> BroadcastMessage {
        BroadcastMessage(opcode: .text, payload: packet, key: key, isVolatile: isVolatile)
    }
}

/// One emit's answers from its rooms, told once: the first failure, or success when all took it.
final class EmitAnswers: Sendable {
    private let state: Mutex<(remaining: Int, done: Bool)>
    private let completion: @Sendable (Result<Void, PublishError>) -> Void

    init(expected: Int, completion: @escaping @Sendable (Result<Void, PublishError>) -> Void) {
        state = Mutex((expected, false))
        self.completion = completion
    }

    func add(_ result: Result<UInt64, PublishError>) {
        let tell: Result<Void, PublishError>? = state.withLock { state in
            guard !state.done else { return nil }
            state.remaining -= 1
            if case .failure(let error) = result {
                state.done = true
                return .failure(error)
            }
            guard state.remaining == 0 else { return nil }
            state.done = true
            return .success(())
        }
        if let tell { completion(tell) }
    }
}
