import Broadcast
import Reactor
import WebSocketCodec

/// Names a session anywhere in the server: the server's boot (its
/// broadcaster's `bootID`), its loop, its slot in that loop's session table and
/// the slot's generation, so an id kept after the session ended never names the
/// next one, and one of another server (another node of a cluster, or this one
/// before a restart) never names a session here. Its text form,
/// `BOOT-LOOP-SLOT-GENERATION` (BOOT in base 36, the rest decimal), is public
/// (the events layer's socket id); what a client shows to reach its session over
/// HTTP is the session's token, which adds a secret.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    public let boot: UInt64
    public let loop: Int
    public let slot: UInt32
    public let generation: UInt32

    public init(boot: UInt64, loop: Int, slot: UInt32, generation: UInt32) {
        self.boot = boot
        self.loop = loop
        self.slot = slot
        self.generation = generation
    }

    /// Parses `BOOT-LOOP-SLOT-GENERATION`.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, let boot = UInt64(parts[0], radix: 36), let loop = Int(parts[1]), loop >= 0,
              let slot = UInt32(parts[2]), let generation = UInt32(parts[3]) else { return nil }
        self.init(boot: boot, loop: loop, slot: slot, generation: generation)
    }

    public var description: String { "\(String(boot, radix: 36))-\(loop)-\(slot)-\(generation)" }

    /// The session as a room member (what exclusions and resumes name), in its own server's
    /// broadcaster only: check `boot` before handing one from elsewhere to the broadcaster.
    public var subscriberID: SubscriberID { SubscriberID(loop: loop, connection: member) }

    var member: ConnectionID { ConnectionID(slot: slot, generation: generation) }
}

/// What the request that opened a session said: for middleware and the
/// application (an auth token in the query or a cookie, the client's address).
public final class SessionHandshake: Sendable {
    /// `websocket`, `sse` or `polling`.
    public let transport: String
    /// The request head: path, query, headers.
    public let head: HTTPRequestHead
    public let peerAddress: SocketAddress?

    init(transport: String, head: HTTPRequestHead, peerAddress: SocketAddress?) {
        self.transport = transport
        self.head = head
        self.peerAddress = peerAddress
    }

    public var path: String { head.path }
    /// The first request's query (after `?`), nil without one.
    public var query: String? { head.query }

    /// The first value of header `name` (case-insensitive), nil if absent.
    public func header(_ name: String) -> String? { head.header(name) }

    /// The value of `name` in the query, percent-decoded; "" when present without a value.
    public func queryValue(_ name: String) -> String? {
        QueryString.value(name, in: query)
    }
}

/// One client of the session layer, whatever carries it: a WebSocket, an SSE
/// stream with POSTs, or long-polls with POSTs. A handle, cheap to copy and
/// safe to send anywhere: what it does runs on the session's loop (at once
/// when called there, else posted there). Kept after the session closed, it
/// reaches nobody.
public struct Session: Sendable, Hashable, CustomStringConvertible {
    public let id: SessionID
    public let handshake: SessionHandshake
    let table: LoopBound<SessionTable>

    init(id: SessionID, handshake: SessionHandshake, table: LoopBound<SessionTable>) {
        self.id = id
        self.handshake = handshake
        self.table = table
    }

    public var loop: EventLoop { table.loop }
    public var description: String { "session \(id)" }

    public static func == (lhs: Session, rhs: Session) -> Bool { lhs.id == rhs.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// Runs `body` with the session's record on its loop, if it is still open.
    private func perform(_ body: @escaping @Sendable (SessionTable, SessionRecord) -> Void) {
        let table = table, id = id
        if table.loop.inEventLoop {
            if let record = table.value.record(id) { body(table.value, record) }
        } else {
            table.loop.execute {
                if let record = table.value.record(id) { body(table.value, record) }
            }
        }
    }

    /// Sends one packet: a JSON object, as UTF-8 with no raw newline. On the
    /// session's loop the bytes are copied before this returns.
    public func send(_ packet: UnsafeRawBufferPointer) {
        table.loop.assertInLoop()
        guard let record = table.value.record(id) else { return }
        table.value.send(packet, to: record)
    }

    /// Sends one packet (see `send(_:)`), from any thread.
    public func send(_ packet: [UInt8]) {
        perform { table, record in packet.withUnsafeBytes { table.send($0, to: record) } }
    }

    /// Joins `room`: packets published to it (as JSON objects) reach this
    /// session with the room's sequence number added as their first field,
    /// `seq`. With `resumeAfter`, the room's packets after that sequence are
    /// sent first, from history, leaving out those that excluded `formerly`
    /// (who the client was before it reconnected); `resumed` says how it went.
    public func join(_ room: String, options: SubscriptionOptions = SubscriptionOptions(), resumeAfter: UInt64? = nil,
                     formerly: SubscriberID? = nil, replayEveryCopy: Bool = false,
                     resumed: (@Sendable (LoopBroadcaster.ResumeResult) -> Void)? = nil) {
        perform { table, record in
            table.join(record, room, options: options, resumeAfter: resumeAfter, formerly: formerly, replayEveryCopy: replayEveryCopy,
                       resumed: resumed)
        }
    }

    public func leave(_ room: String) {
        perform { table, record in table.leave(record, room) }
    }

    /// Ends the session: the client is sent a `close` packet with the reason
    /// (where the transport still can), then its transport is closed.
    public func close(reason: String = "closed by the server") {
        perform { table, record in table.close(record, reason: reason, tellClient: true) }
    }

    /// Drops the session's transport without a `close` packet, as a network
    /// failure would (for tests of reconnection).
    public func drop() {
        perform { table, record in table.drop(record) }
    }

    // MARK: On the session's loop

    /// Open, and this handle names it (on the session's loop).
    public var isOpen: Bool { table.value.record(id) != nil }

    /// The rooms the session is in (on the session's loop).
    public var rooms: [String] {
        guard let record = table.value.record(id) else { return [] }
        return table.value.roomNames(of: record)
    }

    /// The application's state for this session (on the session's loop).
    public var userData: AnyObject? {
        get { table.value.record(id)?.userData }
        nonmutating set { table.value.record(id)?.userData = newValue }
    }

    /// The broadcaster's part on the session's loop, for publishing (on the session's loop).
    public var broadcaster: LoopBroadcaster { table.value.rooms }
}

/// What the application does with sessions: every call runs on the
/// session's loop, and may be made from several loops at once.
public protocol SessionDelegate: AnyObject, Sendable {
    /// A session opened; its `open` packet has been sent.
    func sessionOpened(_ session: Session)
    /// A packet from the client: one JSON object, as the client sent it (not
    /// checked: the delegate parses it). The bytes are valid during the call.
    func session(_ session: Session, received packet: UnsafeRawBufferPointer)
    /// The session ended (the client went, was silent too long, or was
    /// closed); it has left its rooms and nothing sent to it goes anywhere.
    /// `userData` is what it held; `reason` says why, for logs.
    func sessionClosed(_ session: Session, userData: AnyObject?, reason: String)
}
