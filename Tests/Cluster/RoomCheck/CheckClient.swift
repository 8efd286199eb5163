import Glibc
import Reactor
import WebSocketCodec

/// One loop's connections: WebSocket subscribers to the room on their node,
/// and publishers that POST to it, one request at a time, on schedule.
///
/// A message is `rc1 PPPP NNNNNNNN TTTTTTTTTTTTTTTT` (publisher, its message
/// number, the monotonic send time; hex) padded with `x`; a probe, sent until
/// every subscriber has had one, is `rcp` and the same.
final class CheckClient: ConnectionHandler {
    struct Context: ConnectionContext {
        enum Role: UInt8 { case subscriber, publisher }
        enum Phase: UInt8 { case connecting, handshaking, open }
        var role = Role.subscriber
        var phase = Phase.connecting
        /// The subscriber's or publisher's number (over every loop).
        var index = 0
        var handshake: ClientHandshake?
        var reader = WebSocketReader()
    }

    /// A publisher's schedule and what it has in flight.
    struct Publisher {
        let index: Int
        let node: Int
        var connection: ConnectionID?
        var next = 0
        let count: Int
        var inFlight: Int?
        /// Probes go out from publisher 0 until every subscriber has one.
        var probing = false
    }

    let ledger: Ledger
    let loopIndex: Int
    let options: RoomCheckOptions
    private(set) unowned(unsafe) var connections: Connections<CheckClient>!
    /// This loop's subscribers still to connect: (index, node).
    private var toConnect: [(Int, Int)] = []
    private var handshaking = 0
    private var publishers: [Publisher] = []
    /// When publishing began, and the interval between one publisher's messages.
    private var start: UInt64 = 0
    private var interval: UInt64 = 0
    private let requestHead: [[UInt8]]
    private var random = SystemRandomNumberGenerator()

    init(ledger: Ledger, loop: Int) {
        self.ledger = ledger
        self.loopIndex = loop
        options = ledger.options
        requestHead = options.nodeNames.map { name in
            Array("POST /publish/\(ledger.options.room) HTTP/1.1\r\nHost: \(name)\r\nAuthorization: Bearer \(ledger.options.token)\r\nContent-Type: text/plain\r\nContent-Length: ".utf8)
        }
    }

    func attached(to connections: Connections<CheckClient>) { self.connections = connections }

    // MARK: Setting up

    /// Opens this loop's share of the subscribers (at most 128 handshakes at a time) and publishers.
    func open(subscribers: [(Int, Int)], publishers indices: [Int]) {
        toConnect = subscribers.reversed()
        for index in indices {
            let node = index / options.publishersPerNode
            var publisher = Publisher(index: index, node: node, count: options.messages(of: index))
            publisher.connection = connect(to: node, role: .publisher, index: index)
            publishers.append(publisher)
        }
        connectMore()
    }

    private func connectMore() {
        while handshaking < 128, let (index, node) = toConnect.popLast() {
            handshaking += 1
            _ = connect(to: node, role: .subscriber, index: index)
        }
    }

    private func connect(to node: Int, role: Context.Role, index: Int) -> ConnectionID? {
        do {
            let connection = try connections.connect(to: options.nodes[node])
            connection.context.role = role
            connection.context.index = index
            connection.setTimeout(nanoseconds: 20_000_000_000)
            return connection.id
        } catch {
            ledger.fail("connect to \(options.nodeNames[node]): \(error)")
            ledger.failedConnections.add(1, ordering: .relaxed)
            return nil
        }
    }

    func connectionOpened(_ connection: Connection<CheckClient>) {
        switch connection.context.role {
        case .publisher:
            connection.context.phase = .open
            connection.clearTimeout()
            ledger.opened.add(1, ordering: .relaxed)
        case .subscriber:
            let key = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }
            let node = connection.context.index / options.subscribersPerNode
            let handshake = ClientHandshake(host: options.nodeNames[node], path: "/room/\(options.room)", key16: key)
            connection.write(handshake.request)
            connection.context.handshake = handshake
            connection.context.phase = .handshaking
        }
    }

    // MARK: Publishing

    /// Starts the schedule: message k of a publisher is due at start + k × interval.
    func startPublishing(at start: UInt64) {
        self.start = start
        interval = UInt64(1e9 / (options.rate / Double(options.publisherCount)))
        connections.loop.scheduleRepeating(every: 1_000_000) { [unowned self] in sendDue() }
    }

    /// Probes from publisher 0 (one in flight at a time) until told to stop.
    func probe(_ on: Bool) {
        for index in publishers.indices where publishers[index].index == 0 {
            publishers[index].probing = on
            if on { sendProbe(index) }
        }
    }

    private func sendProbe(_ index: Int) {
        guard publishers[index].probing, publishers[index].inFlight == nil else { return }
        send(index, number: -1)
    }

    private func sendDue() {
        let now = monotonicNanoseconds()
        for index in publishers.indices {
            let publisher = publishers[index]
            guard publisher.inFlight == nil, publisher.next < publisher.count,
                  now >= start &+ UInt64(publisher.next) &* interval else { continue }
            send(index, number: publisher.next)
        }
    }

    private func send(_ index: Int, number: Int) {
        guard let id = publishers[index].connection, let connection = connections.connection(id) else { return }
        var body = Array((number < 0 ? "rcp " : "rc1 ").utf8)
        body += hex(publishers[index].index, digits: 4) + [0x20] + hex(max(number, 0), digits: 8) + [0x20]
        body += hex(Int(truncatingIfNeeded: monotonicNanoseconds()), digits: 16)
        body += [UInt8](repeating: UInt8(ascii: "x"), count: max(0, options.size - body.count))
        connection.write(requestHead[publishers[index].node] + Array("\(body.count)\r\n\r\n".utf8) + body)
        publishers[index].inFlight = number
        if number >= 0 { publishers[index].next += 1 }
    }

    private func hex(_ value: Int, digits: Int) -> [UInt8] {
        let text = String(UInt64(bitPattern: Int64(value)), radix: 16)
        return Array((String(repeating: "0", count: max(0, digits - text.count)) + text).utf8)
    }

    /// The answer to a publish: 202 with the room's sequence, 503 refused, 504 unknown.
    private func receiveAnswers(_ connection: Connection<CheckClient>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            guard let headEnd = Self.find([13, 10, 13, 10], in: rest) else { return offset }
            let head = String(decoding: rest[..<headEnd], as: UTF8.self)
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingPrefix(" ")) } ?? 0
            guard rest.count >= headEnd + 4 + length else { return offset }
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            let body = String(decoding: rest[(headEnd + 4)..<(headEnd + 4 + length)], as: UTF8.self)
            answered(connection.context.index, status: status, body: body)
            offset += headEnd + 4 + length
        }
        return offset
    }

    private func answered(_ publisherIndex: Int, status: Int, body: String) {
        guard let index = publishers.firstIndex(where: { $0.index == publisherIndex }), let number = publishers[index].inFlight else { return }
        publishers[index].inFlight = nil
        guard number >= 0 else { return sendProbe(index) }
        let id = publisherIndex * options.perPublisher + number
        switch status {
        case 202:
            ledger.outcomes[id] = .acknowledged
            // {"room":"R","accepted":true,"seq":N}
            if let tail = body.split(separator: "\"seq\":", maxSplits: 1).dropFirst().first {
                ledger.sequences[id] = UInt64(tail.prefix { $0.isNumber }) ?? 0
            }
        case 503: ledger.outcomes[id] = .refused
        case 504: ledger.outcomes[id] = .unknown
        default:
            ledger.outcomes[id] = .otherStatus
            ledger.fail("a publish was answered \(status): \(body)")
        }
        ledger.answered.add(1, ordering: .relaxed)
        sendDue()
    }

    static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if (1..<needle.count).allSatisfy({ haystack[index + $0] == needle[$0] }) { return index }
        }
        return nil
    }

    // MARK: Receiving

    func connection(_ connection: Connection<CheckClient>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        switch (connection.context.role, connection.context.phase) {
        case (.publisher, _):
            return receiveAnswers(connection, bytes)
        case (.subscriber, .handshaking):
            guard var handshake = connection.context.handshake else { return bytes.count }
            switch handshake.parseResponse(UnsafeRawBufferPointer(bytes)) {
            case .needMore:
                connection.context.handshake = handshake
                return 0
            case .rejected(let why):
                ledger.fail("a subscriber's handshake was refused: \(why)")
                connection.close()
                return bytes.count
            case .accepted(let headLength):
                connection.context.handshake = nil
                connection.context.phase = .open
                connection.clearTimeout()
                (ledger.subscribers + connection.context.index).pointee.open = true
                ledger.opened.add(1, ordering: .relaxed)
                handshaking -= 1
                connectMore()
                return headLength + receiveFrames(connection, UnsafeMutableRawBufferPointer(rebasing: bytes[headLength...]))
            }
        case (.subscriber, .open):
            return receiveFrames(connection, bytes)
        case (.subscriber, .connecting):
            return bytes.count
        }
    }

    private func receiveFrames(_ connection: Connection<CheckClient>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        let now = monotonicNanoseconds()
        let subscriber = connection.context.index
        var reader = connection.context.reader
        defer { if connection.isOpen { connection.context.reader = reader } }
        var offset = 0
        while offset < bytes.count {
            let (event, consumed) = reader.read(UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]), role: .client, limits: WebSocketLimits())
            offset += consumed
            switch event {
            case .needMore:
                return offset
            case .message(_, let payload):
                receive(payload, subscriber: subscriber, now: now)
            case .ping(let payload):
                connection.write(FrameEncoder.frame(opcode: .pong, payload: Array(payload), maskKey: MaskKey(wireValue: 0x1234_5678)))
            case .pong:
                break
            case .close(let code, _):
                (ledger.subscribers + subscriber).pointee.closeCode = code?.rawValue ?? 1005
                connection.close()
                return bytes.count
            case .failure(let code, let reason):
                ledger.fail("a subscriber's stream failed (\(code)): \(reason)")
                connection.close()
                return bytes.count
            }
        }
        return offset
    }

    private func receive(_ payload: UnsafeRawBufferPointer, subscriber: Int, now: UInt64) {
        guard payload.count >= 34, payload[0] == UInt8(ascii: "r"), payload[1] == UInt8(ascii: "c"),
              let publisher = Self.hexValue(payload, 4, 4), let number = Self.hexValue(payload, 9, 8),
              let sent = Self.hexValue(payload, 18, 16) else {
            (ledger.subscribers + subscriber).pointee.foreign += 1
            return
        }
        if payload[2] == UInt8(ascii: "p") {
            (ledger.subscribers + subscriber).pointee.sawProbe = true
            return
        }
        guard publisher < options.publisherCount, number < options.perPublisher else {
            (ledger.subscribers + subscriber).pointee.foreign += 1
            return
        }
        let latency = now > UInt64(sent) ? now - UInt64(sent) : 0
        ledger.record(subscriber: subscriber, publisher: publisher, number: number, latency: latency, loop: loopIndex)
    }

    private static func hexValue(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> Int? {
        var value: UInt64 = 0
        for index in start..<(start + count) {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return Int(truncatingIfNeeded: value)
    }

    // MARK: Ending

    func connectionTimedOut(_ connection: Connection<CheckClient>) {
        ledger.fail("a \(connection.context.role) did not get going within 20 s")
        connection.close(reason: .timedOut)
    }

    func connectionClosed(_ connection: Connection<CheckClient>, reason: CloseReason) {
        switch connection.context.role {
        case .subscriber:
            let record = ledger.subscribers + connection.context.index
            if connection.context.phase == .handshaking || connection.context.phase == .connecting {
                handshaking -= 1
                ledger.failedConnections.add(1, ordering: .relaxed)
                ledger.fail("a subscriber could not connect: \(reason)")
                connectMore()
            } else if !closing {
                record.pointee.closedEarly = true
                ledger.fail("subscriber \(connection.context.index) was closed (\(reason), code \(record.pointee.closeCode))")
            }
        case .publisher:
            guard !closing, let index = publishers.firstIndex(where: { $0.index == connection.context.index }) else { return }
            // A publisher done with its share is idle, and a server closes idle keep-alive connections.
            if publishers[index].inFlight == nil && publishers[index].next >= publishers[index].count { return }
            ledger.fail("publisher \(connection.context.index) was closed: \(reason)")
            publishers[index].connection = nil
            if let number = publishers[index].inFlight, number >= 0 {
                ledger.outcomes[connection.context.index * options.perPublisher + number] = .unknown
                ledger.answered.add(1, ordering: .relaxed)
            }
            // What it had left to send is never sent: counted as answered, not published.
            ledger.answered.add(publishers[index].count - publishers[index].next, ordering: .relaxed)
            publishers[index].next = publishers[index].count
        }
    }

    private var closing = false

    func closeAll() {
        closing = true
        // A publish still unanswered may have been published: its outcome is unknown.
        for publisher in publishers {
            if let number = publisher.inFlight, number >= 0 {
                ledger.outcomes[publisher.index * options.perPublisher + number] = .unknown
            }
        }
        connections.forEach { $0.close() }
    }
}
