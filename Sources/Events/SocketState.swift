import Broadcast
import PushServer
import Reactor

typealias EventHandler = @Sendable ([JSON], Acknowledgement) -> Void

/// One socket's state (a session in one namespace), on its session's loop.
final class SocketState {
    let namespace: Namespace
    let session: Session
    /// Which of its session's sockets in the namespace this is (a client may
    /// leave and connect again): what keeps an old `Socket` handle inert.
    let incarnation: UInt64
    /// What the client sent to connect (for middleware: a token, say).
    let auth: JSON
    /// Middleware passed and the client was told: events are handled from now on.
    var connected = false
    var handlers: [String: [EventHandler]] = [:]
    var anyHandlers: [@Sendable (String, [JSON]) -> Void] = []
    var disconnectHandlers: [@Sendable (String) -> Void] = []
    /// Replies the server waits for, by the ack id it sent.
    var pendingAcks: [Int: PendingAck] = [:]
    var nextAckID = 0
    /// The rooms it joined (the namespace's own room aside).
    var rooms: Set<String> = []
    /// From a reconnecting client: where to resume each room, used when it (re)joins it.
    var resumeRooms: [String: UInt64]
    /// Who the client was before it reconnected.
    let formerly: SubscriberID?
    /// The client's positions count in a numbering that is not this
    /// server's: it comes from another boot (this server's before a restart,
    /// whose rooms all started over at 1, or another server) and rooms are
    /// numbered here, not in Redis.
    let resumesVanishedNumbering: Bool
    var data: JSON = .null
    var userData: AnyObject?

    init(namespace: Namespace, session: Session, incarnation: UInt64, auth: JSON, resume: Packet.Resume?) {
        self.namespace = namespace
        self.session = session
        self.incarnation = incarnation
        self.auth = auth
        resumeRooms = resume?.rooms ?? [:]
        // An id of another server (another node, or this one before a restart) names nobody here,
        // though its numbers may be a session's here.
        formerly = resume?.formerly.flatMap { $0.boot == session.id.boot ? $0.subscriberID : nil }
        // With rooms numbered elsewhere (Redis) the numbering outlives this process; another boot is then another node.
        resumesVanishedNumbering = resume?.formerly.map { $0.boot != session.id.boot } == true
            && session.broadcaster.broadcaster.backend.numbersLocally
    }

    /// Joins the room `key` names in the broadcaster (`room` in the namespace),
    /// resuming where the client said it left off, and telling it of a gap.
    func join(room: String, key: String, options: SubscriptionOptions = SubscriptionOptions()) {
        let position = resumeRooms.removeValue(forKey: room)
        // A position in a vanished numbering names another message now, or none yet: nothing lies after it,
        // so the client is told `gap`.
        let after = position.map { resumesVanishedNumbering ? .max : $0 }
        let session = session, namespace = namespace.name
        // Every copy of a packet sent to several rooms is replayed: the client takes one by its `mid`.
        session.join(key, options: options, resumeAfter: after, formerly: formerly, replayEveryCopy: true) { result in
            switch result {
            case .gapTooOld(let oldest, let last):
                session.send(Packet.gap(namespace: namespace, room: room, oldest: oldest, last: last))
            case .resumed(_, let last):
                // Asked for more than the room ever had, or from a numbering that is gone: it started over (a
                // restart, or a Redis that lost its data: the broadcaster waits for a room behind on this node to
                // get there) and what it had is gone.
                if let after, after > last { session.send(Packet.gap(namespace: namespace, room: room, oldest: nil, last: last)) }
            }
        }
    }
}
