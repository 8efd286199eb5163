import Broadcast
import Reactor
import Redis
import Synchronization

/// What a home loop asks of the node's Redis link, in the order it asked.
enum LinkRequest: Sendable {
    case publish(room: String, encoded: [UInt8], completion: PublishCompletion?)
    case listen(room: String)
    case stopListening(room: String)
    case fetch(room: String, after: UInt64, through: UInt64, request: UInt64)
}

/// The node's one connection to Redis and everything done on it, on one loop
/// (the group's first): publishes run the publish script; the channels of the
/// rooms the node listens to bring their messages, decoded here once and
/// handed to each room's home loop (one post per loop per pass); gaps and
/// resumes read the rooms' streams; after every reconnection each room is
/// synchronized again; presence is written, and the cluster's read.
final class RedisLink {
    let loop: EventLoop
    let configuration: RedisRoomsConfiguration
    let keys: RedisRoomKeys
    /// This process, as the messages it reads name their writer.
    private let reader: RoomMessageCodec.Process
    private let client: RedisClient?
    private let publishScript: RedisScript?
    private unowned let broadcaster: Broadcaster
    /// Shared with the backend, which reads it from any thread.
    private let board: RedisRoomsBoard

    private var listened: Set<String> = []
    /// Events for each loop, posted at the end of the pass.
    private var outgoing: [[RoomBackendEvent]]
    private var hasOutgoing = false
    private var counters = RedisRoomsCounters()
    private var lastPresence: UInt64 = 0
    private let streamLifetime: Int
    /// Before the first connection, and since the last loss: every listened room is synchronized again once up.
    private var wasUp = false

    init(configuration: RedisRoomsConfiguration, broadcaster: Broadcaster, loop: EventLoop, board: RedisRoomsBoard) {
        self.loop = loop
        self.configuration = configuration
        keys = RedisRoomKeys(prefix: configuration.keyPrefix)
        reader = RoomMessageCodec.Process(node: configuration.nodeID, boot: broadcaster.bootID)
        self.broadcaster = broadcaster
        self.board = board
        outgoing = Array(repeating: [], count: broadcaster.group.loops.count)
        streamLifetime = Int(configuration.streamLifetime.nanoseconds / 1_000_000)
        do {
            let client = try RedisClient(configuration: configuration.redis, on: loop)
            self.client = client
            publishScript = client.registerScript(RoomScripts.publish)
        } catch {
            // Checked when the backend was made; should the host stop resolving, the node says why and publishes nothing.
            client = nil
            publishScript = nil
            board.status.withLock { status in
                status.connection.state = RedisConnectionState.closed
                status.connection.lastError = "\(error)"
            }
        }
    }

    func start() {
        guard let client else { return }
        client.onMessage = { [unowned self] message in received(message) }
        client.onStatusChange = { [unowned self] status in statusChanged(status) }
        loop.addPreFlushHook { [unowned self] in postEvents() }
        loop.scheduleRepeating(every: 1_000_000_000) { [unowned self] in refresh() }
        client.start()
    }

    // MARK: Requests from the home loops

    func perform(_ requests: [LinkRequest]) {
        for request in requests {
            switch request {
            case .publish(let room, let encoded, let completion): publish(encoded, to: room, completion: completion)
            case .listen(let room): listen(to: room)
            case .stopListening(let room): stopListening(to: room)
            case .fetch(let room, let after, let through, let request): fetch(room, after: after, through: through, request: request)
            }
        }
    }

    private func publish(_ encoded: [UInt8], to room: String, completion: PublishCompletion?) {
        guard let client, let publishScript else {
            counters.unavailable += 1
            completion?(.failure(.unavailable("the Redis client could not be made")))
            return
        }
        do {
            try client.evaluate(publishScript, keys: [keys.sequence(room), keys.stream(room)], arguments: keys.channel(room),
                                configuration.streamLength, streamLifetime, encoded) { [unowned self] result in
                switch result {
                case .success(let value):
                    guard let sequence = value.integer, sequence > 0 else {
                        counters.refused += 1
                        completion?(.failure(.refused("the publish script answered \(value)")))
                        return
                    }
                    counters.acknowledged += 1
                    completion?(.success(UInt64(sequence)))
                case .failure(.connectionLost(let reason)):
                    counters.outcomeUnknown += 1
                    completion?(.failure(.outcomeUnknown(reason)))
                case .failure(.closed):
                    counters.outcomeUnknown += 1
                    completion?(.failure(.outcomeUnknown("the Redis client was closed")))
                case .failure(let error):
                    counters.refused += 1
                    completion?(.failure(.refused("\(error)")))
                }
            }
            counters.published += 1
        } catch {
            counters.unavailable += 1
            completion?(.failure(.unavailable("\(error)")))
        }
    }

    private func listen(to room: String) {
        guard let client else { return }
        guard listened.insert(room).inserted else {
            // The home loop still waits to know where the room stands: asked again.
            if client.isUp { synchronize(room) }
            return
        }
        client.subscribe([keys.channel(room)])
        // After the SUBSCRIBE on the same connection: every message numbered after the answer arrives.
        if client.isUp { synchronize(room) }
    }

    private func stopListening(to room: String) {
        guard listened.remove(room) != nil, let client else { return }
        client.unsubscribe([keys.channel(room)])
    }

    /// Where the room stands, for its home loop (which holds what arrives until it knows).
    /// Unanswerable now (Redis down): the next reconnection synchronizes every listened room. An
    /// error answer (a restarted Redis still loading its data answers LOADING) is asked again shortly.
    private func synchronize(_ room: String, attempt: Int = 0) {
        try? client?.get(keys.sequence(room)) { [unowned self] result in
            guard listened.contains(room) else { return }
            switch result {
            case .success(let value):
                let last = value.flatMap { RoomMessageCodec.decimal($0) } ?? 0
                queue(.synchronized(room: room, lastSequence: last), for: room)
            case .failure(.server):
                later(attempt) { [unowned self] in synchronize(room, attempt: attempt + 1) }
            case .failure:
                break  // the connection went: synchronized again when it is back
            }
        }
    }

    /// Runs `body` after a wait that doubles with `attempt`, from 50 ms to 2 s.
    private func later(_ attempt: Int, _ body: @escaping () -> Void) {
        loop.schedule(after: UInt64(min(2_000, 50 << min(attempt, 6))) * 1_000_000, body)
    }

    private func fetch(_ room: String, after: UInt64, through: UInt64, request: UInt64, attempt: Int = 0) {
        guard let client, through > after else {
            queue(.fetched(room: room, request: request, messages: [], complete: true), for: room)
            return
        }
        let limit = Int(min(through - after, UInt64(configuration.fillBatch)))
        counters.fetches += 1
        do {
            try client.xrange(keys.stream(room), from: "(\(after)-0", to: "\(through)-0", count: limit) { [unowned self] result in
                switch result {
                case .success(let entries):
                    var messages: [NumberedMessage] = []
                    messages.reserveCapacity(entries.count)
                    for entry in entries {
                        guard let sequence = RoomMessageCodec.sequence(ofEntry: entry.id), let field = entry["m"],
                              let (message, exclusion) = RoomMessageCodec.decode(field[...], reader: reader) else {
                            counters.malformed += 1
                            continue
                        }
                        messages.append(NumberedMessage(room: room, sequence: sequence, message: message, exclusion: exclusion))
                    }
                    counters.fetched += messages.count
                    queue(.fetched(room: room, request: request, messages: messages, complete: entries.count < limit), for: room)
                case .failure(.server(let error)) where error.code == "LOADING" || error.code == "BUSY":
                    // A restarted Redis loading its data, or a script running long: asked again shortly.
                    later(attempt) { [unowned self] in fetch(room, after: after, through: through, request: request, attempt: attempt + 1) }
                case .failure(let error):
                    queue(.fetchFailed(room: room, request: request, reason: "\(error)"), for: room)
                }
            }
        } catch {
            queue(.fetchFailed(room: room, request: request, reason: "\(error)"), for: room)
        }
    }

    // MARK: From Redis

    private func received(_ message: RedisPubSubMessage) {
        guard let room = keys.room(ofChannel: message.channel) else { return counters.malformed += 1 }
        guard listened.contains(room) else { return }  // sent before our UNSUBSCRIBE took effect
        guard let (sequence, decoded, exclusion) = RoomMessageCodec.decodePublished(message.payload, reader: reader) else {
            counters.malformed += 1
            return
        }
        counters.received += 1
        queue(.message(NumberedMessage(room: room, sequence: sequence, message: decoded, exclusion: exclusion)), for: room)
    }

    private func statusChanged(_ status: RedisConnectionStatus) {
        board.status.withLock { $0.connection = status }
        guard status.state == .up else { return }
        // The first connection too: rooms listened to before it wait for their synchronization.
        if wasUp { counters.resynchronizations += 1 }
        wasUp = true
        for index in outgoing.indices { queue(.reconnected, toLoop: index) }
        for room in listened { synchronize(room) }
        lastPresence = 0  // a restarted Redis learns this node's presence at once
    }

    // MARK: To the home loops

    private func queue(_ event: RoomBackendEvent, for room: String) {
        queue(event, toLoop: broadcaster.homeLoop(of: room))
    }

    private func queue(_ event: RoomBackendEvent, toLoop index: Int) {
        outgoing[index].append(event)
        hasOutgoing = true
    }

    /// One post per loop per pass.
    private func postEvents() {
        guard hasOutgoing else { return }
        hasOutgoing = false
        for index in outgoing.indices where !outgoing[index].isEmpty {
            let events = outgoing[index]
            outgoing[index] = []
            broadcaster.handle(events, onLoop: index)
        }
    }

    // MARK: Every second: counters, presence

    private func refresh() {
        board.status.withLock {
            $0.counters = counters
            $0.listened = listened.count
            if let client { $0.connection = client.status }
        }
        let link = LoopBound(self, loop: loop)
        let now = loop.now
        let writePresence = now &- lastPresence >= configuration.presenceInterval.nanoseconds || lastPresence == 0
        if writePresence { lastPresence = now }
        broadcaster.gather({ part in (part.localRooms().map { ($0.name, $0.members) }, part.sequencing) }) { results in
            link.loop.execute {
                let link = link.value
                var sequencing = SequencingStatistics()
                var rooms: [String: Int] = [:]
                for (local, counters) in results {
                    sequencing.add(counters)
                    for (name, members) in local { rooms[name, default: 0] += members }
                }
                link.board.status.withLock { $0.sequencing = sequencing }
                if writePresence { link.writePresence(rooms) }
            }
        }
    }

    /// This node's presence (expiring unless renewed), then the cluster's as the live nodes show it.
    private func writePresence(_ rooms: [String: Int]) {
        guard let client, client.isUp else { return }
        let lifetime = Int(configuration.presenceLifetime.nanoseconds / 1_000_000)
        let node = configuration.nodeID
        var fields: [String] = []
        for name in rooms.keys.sorted() {
            fields.append(name)
            fields.append(String(rooms[name]!))
        }
        // One transaction: a reader never sees the node without its rooms.
        do {
            try client.send("MULTI")
            try client.send("SET", keys.node(node), "{\"loops\":\(outgoing.count)}", "PX", lifetime)
            try client.send("SADD", keys.nodes, node)
            try client.send("DEL", keys.nodeRooms(node))
            if !fields.isEmpty {
                try client.send("HSET", keys.nodeRooms(node), contentsOf: fields)
                try client.send("PEXPIRE", keys.nodeRooms(node), lifetime)
            }
            try client.send("EXEC")
        } catch {
            return
        }
        try? client.smembers(keys.nodes) { [unowned self] result in
            guard case .success(let members) = result else { return }
            let ids = members.compactMap { String(validating: $0, as: UTF8.self) }.sorted()
            guard !ids.isEmpty else { return }
            try? self.client?.mget(ids.map { keys.node($0) }) { [unowned self] result in
                guard case .success(let values) = result else { return }
                var alive: [String] = [], dead: [String] = []
                for (id, value) in zip(ids, values) {
                    if value == nil { dead.append(id) } else { alive.append(id) }
                }
                if !dead.isEmpty { try? self.client?.srem(keys.nodes, dead) }
                readRooms(of: alive)
            }
        }
    }

    private func readRooms(of nodes: [String]) {
        let gathered = Tally(ClusterPresence(), remaining: nodes.count)
        for node in nodes {
            try? client?.hgetall(keys.nodeRooms(node)) { [unowned self] result in
                if case .success(let fields) = result {
                    var rooms: [String: Int] = [:]
                    for field in fields { rooms[field.name] = String(validating: field.value, as: UTF8.self).flatMap { Int($0) } ?? 0 }
                    gathered.value.nodes[node] = rooms
                }
                gathered.remaining -= 1
                if gathered.remaining == 0 {
                    let presence = gathered.value
                    board.presence.withLock { $0 = presence }
                    board.status.withLock { $0.clusterNodes = presence.nodes.count }
                }
            }
        }
    }
}

/// A value filled in by several replies, on the link's loop.
private final class Tally<Value> {
    var value: Value
    var remaining: Int

    init(_ value: Value, remaining: Int) {
        self.value = value
        self.remaining = remaining
    }
}
