import PushServer
import Synchronization

/// The answer a client asked for when it sent an event (its last argument in
/// socket.io's terms). Call it once, with the reply's arguments, from the
/// handler or later (after an `await`, from any thread): the reply goes to
/// the socket's loop. Calling it again, or when the client asked for no
/// answer, does nothing.
public struct Acknowledgement: Sendable {
    /// The socket that received the event: an answer reaches it, not a later socket of its session.
    let socket: Socket
    let id: Int?
    private let answered: Answered?

    final class Answered: Sendable {
        let flag = Atomic<Bool>(false)
    }

    init(socket: Socket, id: Int?) {
        self.socket = socket
        self.id = id
        answered = id == nil ? nil : Answered()
    }

    /// Whether the client asked for an answer.
    public var isRequested: Bool { id != nil }

    public func callAsFunction(_ arguments: JSON...) {
        reply(arguments)
    }

    public func reply(_ arguments: [JSON]) {
        guard let id, let answered, !answered.flag.exchange(true, ordering: .relaxed) else { return }
        socket.send(Packet.ack(namespace: socket.namespace.name, id: id, arguments: arguments))
    }
}

/// Why an acknowledgement the server asked for did not come.
public enum AckError: Error, Sendable, Equatable {
    /// Not within the timeout.
    case timedOut
    /// The socket disconnected first.
    case disconnected
}

/// A reply the server waits for: what to call, and until when.
struct PendingAck {
    let deadline: UInt64
    let callback: @Sendable (Result<[JSON], AckError>) -> Void
}
