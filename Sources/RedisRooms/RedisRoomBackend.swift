import Broadcast
import Reactor
import Redis
import Synchronization

/// Rooms that span nodes, through one Redis (a `RoomBackend`).
///
/// Every publish, on any node, runs one script in Redis: INCR numbers it
/// (one order per room, the same on every node), XADD keeps it in the room's
/// stream (`MAXLEN ~ streamLength`), PUBLISH sends `SEQ MESSAGE` on the room's
/// channel; the reply, with the sequence, acknowledges it. A node listens to
/// the channels of the rooms it has members of, on one RESP3 connection that
/// also carries its commands, and its home loops encode each message once per
/// wire format for the node's members. What a node missed (a gap, an outage, a
/// client that comes from another node with its last sequence) is read from
/// the stream. Presence (which node has which rooms, with how many members)
/// is written every few seconds under keys that expire when a node dies.
///
///     var configuration = ServerConfiguration()
///     configuration.broadcast.backend = try RedisRoomBackend(
///         configuration: RedisRoomsConfiguration(redis: RedisConfiguration(url: "redis://10.0.0.5:6379")))
///
/// While Redis is unavailable, publishes fail at once with `.unavailable`
/// (nothing was sent) and in-flight ones with `.outcomeUnknown`; the node
/// reconnects by itself (backoff and jitter), subscribes again and fetches
/// what it missed. `statusJSON()` says so.
public final class RedisRoomBackend: RoomBackend {
    public let configuration: RedisRoomsConfiguration
    private let board: RedisRoomsBoard
    private let attached = Mutex<Attachment?>(nil)

    /// What attaching made: the link on its loop, and each loop's outbox; who this process writes as.
    private struct Attachment: Sendable {
        let link: LoopBound<RedisLink>
        let outboxes: [LoopBound<Outbox>]
        let writer: RoomMessageCodec.Process
    }

    /// Checks that the host resolves, so a node with a wrong address stops at start with the reason.
    public init(configuration: RedisRoomsConfiguration) throws(RedisConfigurationError) {
        do {
            _ = try SocketAddress(host: configuration.redis.url.host, port: configuration.redis.url.port)
        } catch {
            throw RedisConfigurationError("cannot resolve \(configuration.redis.url.host): \(error)")
        }
        self.configuration = configuration
        board = RedisRoomsBoard(RedisRoomsStatus(node: configuration.nodeID, url: configuration.redis.url.description))
    }

    public var numbersLocally: Bool { false }

    public func attach(to broadcaster: Broadcaster) {
        precondition(attached.withLock { $0 == nil }, "a RedisRoomBackend serves one broadcaster")
        let group = broadcaster.group
        let configuration = configuration, board = board
        let made = Mutex<LoopBound<RedisLink>?>(nil)
        group.onEveryLoop { loop in
            guard loop.index == 0 else { return }
            let link = RedisLink(configuration: configuration, broadcaster: broadcaster, loop: loop, board: board)
            link.start()
            made.withLock { $0 = LoopBound(link, loop: loop) }
        }
        let link = made.withLock { $0! }
        let outboxes = Mutex<[Int: LoopBound<Outbox>]>([:])
        group.onEveryLoop { loop in
            let outbox = Outbox()
            loop.addPreFlushHook { outbox.flush(to: link) }
            outboxes.withLock { $0[loop.index] = LoopBound(outbox, loop: loop) }
        }
        let all = outboxes.withLock { table in (0..<group.loops.count).map { table[$0]! } }
        let writer = RoomMessageCodec.Process(node: configuration.nodeID, boot: broadcaster.bootID)
        attached.withLock { $0 = Attachment(link: link, outboxes: all, writer: writer) }
    }

    // MARK: RoomBackend (on a room's home loop)

    public func publish(_ message: BroadcastMessage, to room: String, excluding exclusion: Exclusion, after lastSequence: UInt64,
                        completion: PublishCompletion?) -> UInt64? {
        let attachment = attachment()
        // Encoded here, on the home loop, so the Redis loop only sends.
        let encoded = RoomMessageCodec.encode(message, exclusion: exclusion, writer: attachment.writer)
        request(.publish(room: room, encoded: encoded, completion: completion), through: attachment)
        return nil
    }

    public func listen(to room: String) { request(.listen(room: room)) }

    public func stopListening(to room: String) { request(.stopListening(room: room)) }

    public func fetch(_ room: String, after: UInt64, through: UInt64, request number: UInt64) {
        request(.fetch(room: room, after: after, through: through, request: number))
    }

    private func attachment() -> Attachment {
        guard let attachment = attached.withLock({ $0 }) else { preconditionFailure("the backend is used before it was attached") }
        return attachment
    }

    /// Queued on the calling loop, sent to the Redis loop at the end of its pass.
    private func request(_ request: LinkRequest, through attachment: Attachment? = nil) {
        let attachment = attachment ?? self.attachment()
        let outboxes = attachment.outboxes
        guard let outbox = outboxes.first(where: { $0.loop.inEventLoop }) else {
            let link = attachment.link
            return link.loop.execute { link.value.perform([request]) }
        }
        outbox.value.requests.append(request)
    }

    // MARK: What the node shows

    public func statusJSON() -> String? { board.status.withLock { $0.json } }

    /// The snapshot `/stats` shows (refreshed every second on the Redis loop).
    public var currentStatus: RedisRoomsStatus { board.status.withLock { $0 } }

    /// The cluster's rooms and nodes, as last read from the live nodes' presence (every `presenceInterval`).
    public var clusterPresence: ClusterPresence { board.presence.withLock { $0 } }
}

/// Requests made on one loop during a pass, sent to the Redis loop in one post at its end.
final class Outbox {
    var requests: [LinkRequest] = []

    func flush(to link: LoopBound<RedisLink>) {
        guard !requests.isEmpty else { return }
        let batch = requests
        requests = []
        link.loop.execute { link.value.perform(batch) }
    }
}
