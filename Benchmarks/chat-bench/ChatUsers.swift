import Glibc
import Histograms
import Reactor
import WebSocketCodec

/// One loop's share of the chat users: each a WebSocket session at
/// `/events/ws` that connects to namespace "/", takes a name, then sends
/// `bench T STEP` messages when told to and timestamps every one it is sent.
/// Packets are recognised by a few substrings, not parsed: the client must
/// outrun the server it measures.
final class ChatUsers: ConnectionHandler {
    enum Stage: UInt8 { case handshaking, awaitingOpen, connecting, naming, entered, failed }

    struct Context: ConnectionContext {
        var user = -1
        var stage = Stage.handshaking
        var reader = WebSocketReader()
    }

    /// What one loop saw during a step.
    struct StepCounts {
        var sent = 0
        var acknowledged = 0
        var refused = 0
        /// Deliveries of this step's messages (to any user, the sender too).
        var delivered = 0
        var deliveryLatency = LatencyHistogram()
        var ackLatency = LatencyHistogram()
    }

    private let request: [UInt8]
    private let namePrefix: String
    private let limits = WebSocketLimits(maxMessageSize: 1 << 20)
    private var connections: Connections<ChatUsers>!
    /// By user index (of this loop): the connection, and the send time of each ack id in flight.
    private var ids: [ConnectionID?] = []
    private var sendTimes: [UInt64] = []
    private var nextAck: [Int] = []
    private var enteredUsers: [Int] = []
    private(set) var entered = 0
    private(set) var failures: [String] = []
    // The current step: messages go out on a 1 ms timer, at their scheduled times.
    private var step = 0
    private var stepStart: UInt64 = 0
    private var interval: UInt64 = 0
    private var scheduled = 0
    private var nextSender = 0
    private var pacing: TimerID?
    private(set) var counts = StepCounts()
    private var mask = MaskKey(wireValue: 0x1234_5678)

    static let ringSize = 256

    init(host: String, port: Int, namePrefix: String) {
        let handshake = ClientHandshake(host: "\(host):\(port)", path: "/events/ws", key16: (0..<16).map { UInt8($0 &* 13 &+ 1) })
        request = handshake.request
        self.namePrefix = namePrefix
    }

    func attached(to connections: Connections<ChatUsers>) { self.connections = connections }

    /// Opens the connection of user `user` (an index unique over every loop).
    func open(user: Int, to address: SocketAddress) throws(SystemError) {
        let connection = try connections.connect(to: address)
        connection.context.user = ids.count
        ids.append(connection.id)
        nextAck.append(1)
        sendTimes += [UInt64](repeating: 0, count: Self.ringSize)
        userNames.append(namePrefix + String(user))
    }

    private var userNames: [String] = []

    func connectionOpened(_ connection: Connection<ChatUsers>) {
        connection.write(request)
    }

    func connection(_ connection: Connection<ChatUsers>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        if connection.context.stage == .handshaking {
            guard let end = find(Self.headEnd, in: UnsafeRawBufferPointer(bytes), from: 0) else { return 0 }
            guard bytes.starts(with: "HTTP/1.1 101".utf8) else {
                fail(connection, "the upgrade was refused: \(String(decoding: bytes[..<min(end, 80)], as: UTF8.self))")
                return bytes.count
            }
            connection.context.stage = .awaitingOpen
            offset = end + Self.headEnd.count
        }
        while offset < bytes.count {
            let (event, consumed) = connection.context.reader.read(UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]),
                                                                   role: .client, limits: limits)
            offset += consumed
            switch event {
            case .needMore: return offset
            case .message(_, let payload): handle(payload, on: connection)
            case .ping(let payload): send(Array(payload), opcode: .pong, on: connection)
            case .pong: break
            case .close, .failure:
                fail(connection, "the server closed the WebSocket")
                return bytes.count
            }
        }
        return offset
    }

    func connectionClosed(_ connection: Connection<ChatUsers>, reason: CloseReason) {
        if connection.context.stage != .failed && reason != .shutdown { failures.append("user \(connection.context.user): closed (\(reason))") }
    }

    // MARK: The events protocol, by substrings

    private static let headEnd = Array("\r\n\r\n".utf8)
    private static let openPacket = Array("\"type\":\"open\"".utf8)
    private static let connectPacket = Array("\"type\":\"connect\"".utf8)
    private static let ackPacket = Array("{\"type\":\"ack\"".utf8)
    private static let pingPacket = Array("{\"type\":\"ping\"}".utf8)
    private static let messageEvent = Array("\"event\":\"message\"".utf8)
    private static let benchText = Array("\"text\":\"bench ".utf8)
    private static let ackField = Array("\"ack\":".utf8)
    private static let errorField = Array("\"error\"".utf8)

    private func handle(_ packet: UnsafeRawBufferPointer, on connection: Connection<ChatUsers>) {
        let now = monotonicNanoseconds()
        if let text = find(Self.benchText, in: packet, from: 0), find(Self.messageEvent, in: packet, from: 0) != nil {
            var index = text + Self.benchText.count
            let sentAt = number(in: packet, at: &index)
            index += 1
            if number(in: packet, at: &index) == UInt64(step), sentAt > 0 {
                counts.delivered += 1
                counts.deliveryLatency.record(now > sentAt ? now - sentAt : 0)
            }
            return
        }
        if packet.starts(with: Self.ackPacket), let field = find(Self.ackField, in: packet, from: 0) {
            var index = field + Self.ackField.count
            let ack = Int(number(in: packet, at: &index))
            let refused = find(Self.errorField, in: packet, from: 0) != nil
            return acknowledged(ack, refused: refused, at: now, on: connection)
        }
        if packet.starts(with: Self.pingPacket) { return sendPacket("{\"type\":\"pong\"}", on: connection) }
        switch connection.context.stage {
        case .awaitingOpen where find(Self.openPacket, in: packet, from: 0) != nil:
            connection.context.stage = .connecting
            sendPacket("{\"type\":\"connect\",\"ns\":\"/\"}", on: connection)
        case .connecting where find(Self.connectPacket, in: packet, from: 0) != nil:
            connection.context.stage = .naming
            sendPacket("{\"type\":\"event\",\"ns\":\"/\",\"event\":\"message\",\"args\":[\"\(userNames[connection.context.user])\"],\"ack\":0}", on: connection)
        default:
            break  // entered, history, joined, system: not measured
        }
    }

    private func acknowledged(_ ack: Int, refused: Bool, at now: UInt64, on connection: Connection<ChatUsers>) {
        let user = connection.context.user
        if ack == 0 {
            guard !refused else { return fail(connection, "the name \(userNames[user]) was refused") }
            connection.context.stage = .entered
            enteredUsers.append(user)
            entered += 1
            return
        }
        let sentAt = sendTimes[user * Self.ringSize + ack % Self.ringSize]
        guard sentAt >= stepStart else { return }  // a late acknowledgement of an earlier step
        if refused { counts.refused += 1 } else { counts.acknowledged += 1 }
        counts.ackLatency.record(now > sentAt ? now - sentAt : 0)
    }

    private func fail(_ connection: Connection<ChatUsers>, _ reason: String) {
        connection.context.stage = .failed
        failures.append("user \(connection.context.user): \(reason)")
        connection.close()
    }

    // MARK: Sending

    /// Starts step `step`: `rate` messages a second from this loop's users, in turn.
    func start(step: Int, rate: Double) {
        self.step = step
        counts = StepCounts()
        stepStart = monotonicNanoseconds()
        interval = UInt64(1e9 / rate)
        scheduled = 0
        pacing = connections.loop.scheduleRepeating(every: 1_000_000) { [unowned self] in sendDue() }
    }

    func stop() {
        if let pacing { connections.loop.cancel(pacing) }
        pacing = nil
    }

    /// Sends every message whose scheduled time has come, stamped with that
    /// time (not the moment it leaves), so a client that falls behind shows
    /// as latency instead of hiding it.
    private func sendDue() {
        guard !enteredUsers.isEmpty else { return }
        let now = monotonicNanoseconds()
        while stepStart &+ UInt64(scheduled) &* interval <= now {
            let at = stepStart &+ UInt64(scheduled) &* interval
            scheduled += 1
            let user = enteredUsers[nextSender % enteredUsers.count]
            nextSender += 1
            guard let id = ids[user], let connection = connections.connection(id) else { continue }
            let ack = nextAck[user]
            nextAck[user] += 1
            sendTimes[user * Self.ringSize + ack % Self.ringSize] = at
            sendPacket("{\"type\":\"event\",\"ns\":\"/\",\"event\":\"message\",\"args\":[\"bench \(at) \(step)\"],\"ack\":\(ack)}", on: connection)
            counts.sent += 1
        }
    }

    private func sendPacket(_ packet: String, on connection: Connection<ChatUsers>) {
        send(Array(packet.utf8), opcode: .text, on: connection)
    }

    private func send(_ payload: [UInt8], opcode: Opcode, on connection: Connection<ChatUsers>) {
        mask = MaskKey(wireValue: mask.wireValue &* 1_103_515_245 &+ 12345)
        let key = mask
        connection.write(reserving: FrameEncoder.headerSize(payloadLength: payload.count, masked: true) + payload.count) { out in
            payload.withUnsafeBytes { FrameEncoder.encode(opcode: opcode, payload: $0, maskKey: key, into: out.baseAddress!) }
        }
    }
}

/// Where `needle` starts in `haystack` at or after `start`: memchr to each
/// candidate first byte, memcmp for the rest.
private func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
    guard let base = haystack.baseAddress, let first = needle.first else { return nil }
    let last = haystack.count - needle.count
    var index = start
    return needle.withUnsafeBytes { wanted in
        while index <= last {
            guard let hit = memchr(base + index, Int32(first), last - index + 1) else { return nil }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + at, wanted.baseAddress!, needle.count) == 0 { return at }
            index = at + 1
        }
        return nil
    }
}

/// The decimal number at `index`, which moves past it; 0 when there is none.
private func number(in bytes: UnsafeRawBufferPointer, at index: inout Int) -> UInt64 {
    var value: UInt64 = 0
    while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
        value = value &* 10 &+ UInt64(bytes[index] - 0x30)
        index += 1
    }
    return value
}
