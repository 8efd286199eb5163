import Broadcast
import Reactor

/// One session's state, on its loop.
final class SessionRecord {
    let id: SessionID
    /// What the client shows over HTTP (`?sid=`): the id and a secret, so
    /// that knowing a session's public id does not let anyone post as it.
    let token: String
    let carrier: any SessionCarrier
    let handshake: SessionHandshake
    /// The connection that carries it (WebSocket, SSE); nil for polling.
    var connection: ConnectionID?
    var memberships: [RoomMembership] = []
    /// When the client was last heard from (a packet, a poll), and last pinged.
    var lastHeard: UInt64
    var lastPing: UInt64
    /// The application's state (the events layer's sockets).
    var userData: AnyObject?

    // Polling: packets waiting for the next poll (held by reference: slices
    // alone would not keep their buffers alive), and the poll held for them.
    var waiting: [(buffer: SharedBuffer, start: Int, end: Int)] = []
    var waitingBytes = 0
    var heldPoll: ConnectionID?

    init(id: SessionID, token: String, carrier: any SessionCarrier, handshake: SessionHandshake, now: UInt64) {
        self.id = id
        self.token = token
        self.carrier = carrier
        self.handshake = handshake
        lastHeard = now
        lastPing = now
    }
}

/// A loop's sessions: a table of records by slot (a slot's generation moves
/// on when its session ends, so stale ids find nothing), the heartbeat that
/// pings them and evicts the silent, and the delivery sink of the session
/// wire formats: a room's packets reach a session through its carrier.
final class SessionTable: DeliverySink {
    let service: SessionService
    let rooms: LoopBroadcaster
    unowned(unsafe) let handler: ServerHandler
    private var records: [SessionRecord?] = []
    private var generations: [UInt32] = []
    private var free: [UInt32] = []
    private(set) var count = 0
    private var bound: LoopBound<SessionTable>!
    /// Open sessions by carrier name.
    private(set) var countsByCarrier: [String: Int] = [:]

    var loop: EventLoop { rooms.loop }

    init(service: SessionService, handler: ServerHandler) {
        self.service = service
        self.handler = handler
        rooms = handler.rooms
        bound = LoopBound(self, loop: rooms.loop)
        for carrier in service.carriers {
            rooms.setSink(self, for: carrier.format)
            countsByCarrier[carrier.name] = 0
        }
        // Twice per interval (at most a second apart): pings go out at most half an interval late.
        let sweep = min(service.configuration.pingInterval.nanoseconds / 2, 1_000_000_000)
        loop.scheduleRepeating(every: max(sweep, 10_000_000)) { [unowned self] in heartbeat() }
    }

    // MARK: Life

    /// A new session, carried by `carrier` (over `connection`, if one): its
    /// `open` packet is sent, then the delegate hears of it.
    @discardableResult
    func open(carrier: any SessionCarrier, connection: ConnectionID?, handshake: SessionHandshake) -> SessionRecord {
        let slot: UInt32
        if let reused = free.popLast() {
            slot = reused
        } else {
            slot = UInt32(records.count)
            records.append(nil)
            generations.append(0)
        }
        let id = SessionID(boot: rooms.broadcaster.bootID, loop: loop.index, slot: slot, generation: generations[Int(slot)])
        let secret = UInt64.random(in: .min ... .max)
        let token = "\(id).\(String(secret, radix: 16))"
        let record = SessionRecord(id: id, token: token, carrier: carrier, handshake: handshake, now: loop.now)
        record.connection = connection
        records[Int(slot)] = record
        count += 1
        countsByCarrier[carrier.name, default: 0] += 1
        handler.statistics.sessionsOpened += 1
        let configuration = service.configuration
        // What a client may send: a POST's body is capped by the server's body limit too.
        let maxPayload = carrier is WebSocketSessions ? configuration.maxPayload : min(configuration.maxPayload, handler.configuration.maxBodySize)
        let open = "{\"type\":\"open\",\"sid\":\"\(token)\",\"id\":\"\(id)\",\"pingInterval\":\(configuration.pingInterval.milliseconds),"
            + "\"pingTimeout\":\(configuration.pingTimeout.milliseconds),\"maxPayload\":\(maxPayload)}"
        sendText(open, to: record)
        service.delegate.sessionOpened(session(record))
        return record
    }

    /// The open session `id` names, if any (none for an id of another server).
    func record(_ id: SessionID) -> SessionRecord? {
        guard id.loop == loop.index, Int(id.slot) < records.count, let record = records[Int(id.slot)], record.id == id else { return nil }
        return record
    }

    /// The open session a client's token names, if the secret matches.
    func record(token: String) -> SessionRecord? {
        guard let dot = token.firstIndex(of: "."), let id = SessionID(token[..<dot]), let record = record(id),
              constantTimeEqual(Array(record.token.utf8), Array(token.utf8)) else { return nil }
        return record
    }

    func session(_ record: SessionRecord) -> Session {
        Session(id: record.id, handshake: record.handshake, table: bound)
    }

    /// A packet from the client.
    func received(_ packet: UnsafeRawBufferPointer, from record: SessionRecord) {
        record.lastHeard = loop.now
        handler.statistics.messagesReceived += 1
        service.delegate.session(session(record), received: packet)
    }

    /// The client showed it is there without a packet (a poll).
    func heard(from record: SessionRecord) {
        record.lastHeard = loop.now
    }

    /// Ends the session. With `tellClient`, a `close` packet goes first where
    /// the carrier can still send one.
    func close(_ record: SessionRecord, reason: String, tellClient: Bool) {
        guard self.record(record.id) === record else { return }
        if tellClient {
            sendText("{\"type\":\"close\",\"reason\":" + String(decoding: JSONString.quoted(Array(reason.utf8)), as: UTF8.self) + "}",
                     to: record)
        }
        remove(record)
        record.carrier.end(record, on: handler)
        service.delegate.sessionClosed(session(record), userData: record.userData, reason: reason)
    }

    /// Drops the carrier at once, without a `close` packet; the session ends
    /// when the carrier reports it gone (a held poll is answered empty first).
    func drop(_ record: SessionRecord) {
        record.carrier.drop(record, on: handler)
        if self.record(record.id) === record {
            close(record, reason: "dropped", tellClient: false)
        }
    }

    /// The carrier is gone (the WebSocket or stream closed): the session ends.
    func carrierEnded(_ record: SessionRecord, reason: String) {
        guard self.record(record.id) === record else { return }
        record.connection = nil
        remove(record)
        service.delegate.sessionClosed(session(record), userData: record.userData, reason: reason)
    }

    private func remove(_ record: SessionRecord) {
        leaveAll(record)
        let slot = Int(record.id.slot)
        records[slot] = nil
        generations[slot] &+= 1
        free.append(record.id.slot)
        count -= 1
        countsByCarrier[record.carrier.name, default: 0] -= 1
    }

    // MARK: Sending

    /// Sends a packet to the session. What waits for a client that does not
    /// read is capped as for room members: past the cap the session ends.
    func send(_ packet: UnsafeRawBufferPointer, to record: SessionRecord) {
        record.carrier.send(packet, to: record, on: handler)
        let cap = handler.configuration.broadcast.maxQueuedBytes
        if let queued = record.carrier.queuedBytes(of: record, on: handler), queued > cap, self.record(record.id) === record {
            handler.statistics.slowSubscriberEvictions += 1
            close(record, reason: "too slow: more than \(cap) bytes waiting", tellClient: false)
        }
    }

    private func sendText(_ packet: String, to record: SessionRecord) {
        var packet = packet
        packet.withUTF8 { send(UnsafeRawBufferPointer($0), to: record) }
    }

    /// Pings every session due, and ends those silent for longer than
    /// `pingInterval + pingTimeout`.
    private func heartbeat() {
        let now = loop.now
        let interval = service.configuration.pingInterval.nanoseconds
        let deadline = interval + service.configuration.pingTimeout.nanoseconds
        for case let record? in records {
            if now &- record.lastHeard > deadline {
                handler.statistics.heartbeatEvictions += 1
                close(record, reason: "no packet for \(deadline / 1_000_000) ms", tellClient: true)
            } else if now &- record.lastPing >= interval {
                record.lastPing = now
                sendText("{\"type\":\"ping\"}", to: record)
            }
        }
    }

    // MARK: Rooms

    func join(_ record: SessionRecord, _ room: String, options: SubscriptionOptions, resumeAfter: UInt64?, formerly: SubscriberID?,
              replayEveryCopy: Bool, resumed: (@Sendable (LoopBroadcaster.ResumeResult) -> Void)?) {
        if let index = rooms.roomIndex(of: room), record.memberships.contains(where: { $0.room == index }) { return }
        record.memberships.append(rooms.subscribe(record.id.member, to: room, format: record.carrier.format, options: options,
                                                  resumeAfter: resumeAfter, formerly: formerly, replayEveryCopy: replayEveryCopy,
                                                  resumed: resumed))
    }

    /// The session's client read what it was sent: what its rooms held back may go.
    func drained(_ record: SessionRecord) {
        for membership in record.memberships { rooms.memberDrained(record.id.member, in: membership) }
    }

    func leave(_ record: SessionRecord, _ room: String) {
        guard let index = rooms.roomIndex(of: room), let found = record.memberships.firstIndex(where: { $0.room == index }) else { return }
        rooms.unsubscribe(record.id.member, record.memberships.remove(at: found))
    }

    private func leaveAll(_ record: SessionRecord) {
        for membership in record.memberships { rooms.unsubscribe(record.id.member, membership) }
        record.memberships = []
    }

    func roomNames(of record: SessionRecord) -> [String] {
        record.memberships.map { rooms.roomName(at: $0.room) }
    }

    // MARK: DeliverySink

    private func record(member: ConnectionID) -> SessionRecord? {
        guard Int(member.slot) < records.count, let record = records[Int(member.slot)], record.id.generation == member.generation
        else { return nil }
        return record
    }

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to subscriber: ConnectionID, lastSequence: UInt64) -> Int? {
        guard let record = record(member: subscriber) else { return nil }
        return record.carrier.deliver(slices, to: record, on: handler)
    }

    func queuedBytes(of subscriber: ConnectionID) -> Int? {
        guard let record = record(member: subscriber) else { return nil }
        return record.carrier.queuedBytes(of: record, on: handler)
    }

    func evict(_ subscriber: ConnectionID) {
        guard let record = record(member: subscriber) else { return }
        handler.statistics.slowSubscriberEvictions += 1
        close(record, reason: "too slow: more than \(handler.configuration.broadcast.maxQueuedBytes) bytes queued", tellClient: false)
    }

    func isMember(_ subscriber: ConnectionID, ofRoom room: UInt32) -> Bool {
        record(member: subscriber)?.memberships.contains { $0.room == room } ?? false
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
