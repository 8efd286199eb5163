import Glibc
import Reactor
import Synchronization
import WebSocketCodec

/// Everything the loops need to know about a run, fixed before it starts.
struct RunPlan: Sendable {
    var scenario: Scenario
    var server: SocketAddress
    /// wss://: the client side of TLS, shared by every loop.
    var tls: TLSContext?
    /// Source addresses to bind, round-robin by connection number; empty: the kernel's choice.
    var sources: [SocketAddress]
    /// The Host header: host, and the port unless it is the scheme's default (80, or 443 for TLS).
    var hostHeader: String
    /// Echo, subscribers and connect probes ask for this path.
    var path: String
    /// Broadcast publishers: the room path with `self=0`, so they do not hear themselves.
    var publisherPath: String
    var payloadSize: Int
    /// Room scenarios: connections 0..<publisherCount publish. 0 otherwise.
    var publisherCount: Int
    /// sse and longpoll: connections publisherCount..<publisherCount + this subscribe over WebSocket.
    var webSocketSubscriberCount: Int
    /// ticker: keys, and the connections publisherCount..<publisherCount + slowCount that read
    /// at `slowSpeed` × the publish rate.
    var keyCount = 0
    var slowCount = 0
    var slowSpeed = 0.0
    /// ticker: SO_RCVBUF of slow subscribers' sockets; 0: the kernel's.
    var slowReceiveBuffer = 0
    /// How publishers write a message and receivers find its header. Stored
    /// (the receive path asks once per read).
    var payloadFormat: PayloadFormat
    /// `--payload ticker`: messages are JSON quote feeds in text frames, made from this pool.
    var tickerPool: [[UInt8]] = []
    /// sse and longpoll: subscribers over SSE or polling too; receivers count per transport.
    var mixesTransports: Bool
    /// events: connections open a session after the upgrade, and join the room through it.
    var speaksEvents: Bool
    /// permessage-deflate, offered by every WebSocket (nil: not offered).
    var deflate: PerMessageDeflate.ClientOffer?
    /// sse: the stream's request. longpoll: the first poll (no `since`), and
    /// the next ones around their `since` value.
    var eventStreamRequest: [UInt8] = []
    var firstPollRequest: [UInt8] = []
    var pollRequestHead: [UInt8] = []
    var pollRequestTail: [UInt8] = []
    var loopCount: Int
    /// Limit for connecting plus the handshake, for a closing handshake, and
    /// for a closed-loop reply before the sender moves on.
    var timeout: UInt64
    /// Connects plus handshakes under way at once on one loop, so a burst of
    /// thousands does not overflow the server's accept backlog.
    var maxInFlightPerLoop: Int
    /// Closed-loop broadcast: each publisher's message in flight and its deliveries so far.
    var publisherProgress: [PublisherProgress]

    init(options: BenchOptions) throws(SystemError) {
        scenario = options.scenario
        server = try SocketAddress(host: options.host, port: Int(options.port))
        var sources: [SocketAddress] = []
        for address in options.sourceAddresses { sources.append(try SocketAddress(host: formatIPv4(address), port: 0)) }
        self.sources = sources
        let printableHost = options.host.contains(":") ? "[\(options.host)]" : options.host
        hostHeader = options.port == (options.secure ? 443 : 80) ? printableHost : "\(printableHost):\(options.port)"
        if options.secure {
            do {
                tls = try TLSContext.client(serverName: options.host, verifiesPeer: !options.insecure)
            } catch {
                throw SystemError("TLS: \(error)", errno: EPROTO)
            }
        }
        path = options.scenario == .broadcast || options.scenario == .ticker ? Self.roomPath(options.path) : options.path
        payloadFormat = options.scenario.speaksEvents ? .eventPacket : options.scenario.sendsText ? .text
            : options.scenario == .ticker ? .keyedUpdate : options.payload == .ticker ? .ticker : .binary
        mixesTransports = options.scenario.mixesTransports
        speaksEvents = options.scenario.speaksEvents
        if speaksEvents, let target = Self.eventsTarget(ofURLPath: options.path) { path = target }
        if mixesTransports, let room = Self.room(ofURLPath: options.path) {
            let query = room.query.map { "?" + $0 } ?? ""
            path = "/room/" + room.name + query
            let host = hostHeader
            func request(_ target: String) -> [UInt8] {
                Array("GET \(target) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: wsbench\r\n".utf8)
            }
            eventStreamRequest = request("/sse/" + room.name + query) + Array("Accept: text/event-stream\r\n\r\n".utf8)
            firstPollRequest = request("/poll/" + room.name + query) + [0x0D, 0x0A]
            pollRequestHead = Array("GET /poll/\(room.name)?\(room.query.map { $0 + "&" } ?? "")since=".utf8)
            pollRequestTail = Array("&wait=\(Self.pollWaitSeconds) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: wsbench\r\n\r\n".utf8)
        }
        publisherPath = path + (path.contains("?") ? "&" : "?") + "self=0"
        if options.scenario == .ticker {
            // Every member conflates; publishers say where the key of what they send is.
            let room = path
            path = room + (room.contains("?") ? "&" : "?") + "conflate=1"
            publisherPath = path + "&self=0&" + KeyedUpdate.keyAtQuery
            keyCount = options.keyCount
            slowCount = options.slowSubscribers
            slowSpeed = options.slowSpeed
            slowReceiveBuffer = options.slowReceiveBuffer
        }
        payloadSize = options.payloadSize
        if payloadFormat == .ticker { tickerPool = TickerPayload.pool(size: options.payloadSize) }
        deflate = options.deflate
        publisherCount = options.scenario.isRoom ? options.publishers : 0
        webSocketSubscriberCount = mixesTransports ? options.webSocketSubscribers : 0
        loopCount = options.threads
        timeout = options.timeoutNanoseconds
        maxInFlightPerLoop = max(1, (options.maxInFlight ?? 512) / options.threads)
        publisherProgress = (0..<publisherCount).map { _ in PublisherProgress() }
    }

    /// The broadcast scenario needs a room: a path without a room name
    /// ("/", "/room", "/room/", each with any query) gets /room/wsbench.
    static func roomPath(_ path: String) -> String {
        let route = path.prefix { $0 != "?" }
        guard route == "/" || route == "/room" || route == "/room/" else { return path }
        return "/room/wsbench" + path.dropFirst(route.count)
    }

    /// Long polls ask the server to hold them this long (echo-server's default).
    static let pollWaitSeconds = 25

    /// sse and longpoll: the room of a URL path /room/NAME, /sse/NAME or
    /// /poll/NAME (/, /room and /room/ name room wsbench), and its query;
    /// nil for any other path.
    static func room(ofURLPath path: String) -> (name: String, query: String?)? {
        let route = path.prefix { $0 != "?" }
        let query = route.endIndex < path.endIndex ? String(path[path.index(after: route.endIndex)...]) : nil
        if route == "/" || route == "/room" || route == "/room/" { return ("wsbench", query) }
        for prefix in ["/room/", "/sse/", "/poll/"] where route.hasPrefix(prefix) && route.count > prefix.count {
            return (String(route.dropFirst(prefix.count)), query)
        }
        return nil
    }

    /// events: the session URL for a room URL. /room/NAME (and /sse/NAME,
    /// /poll/NAME; / and /room mean room wsbench) becomes
    /// /events/ws?room=NAME, its query kept after; /events and /events/
    /// become /events/ws; a path ending in /ws is used as given. The query
    /// must then name the room (`room=NAME`); nil otherwise.
    static func eventsTarget(ofURLPath path: String) -> String? {
        if let room = room(ofURLPath: path) {
            return "/events/ws?room=" + room.name + (room.query.map { "&" + $0 } ?? "")
        }
        let route = path.prefix { $0 != "?" }
        guard route == "/events" || route == "/events/" || route.hasSuffix("/ws"), route.endIndex < path.endIndex else { return nil }
        let query = path[path.index(after: route.endIndex)...]
        guard query.split(separator: "&").contains(where: { $0.hasPrefix("room=") && $0.count > "room=".count }) else { return nil }
        return (route.hasSuffix("/ws") ? String(route) : "/events/ws") + "?" + query
    }

    /// The role of connection number `number` (numbers interleave the loops).
    func role(ofConnection number: Int) -> ConnectionRole {
        switch scenario {
        case .echo: .echo
        case .connect: .probe
        case .broadcast, .events: number < publisherCount ? .publisher : .subscriber
        case .ticker:
            number < publisherCount ? .publisher : number < publisherCount + slowCount ? .slowSubscriber : .subscriber
        case .sse, .longpoll:
            number < publisherCount ? .publisher
                : number < publisherCount + webSocketSubscriberCount ? .subscriber
                : scenario == .sse ? .eventStreamSubscriber : .pollingSubscriber
        }
    }
}

/// How a message travels, fixed for a run.
enum PayloadFormat: Sendable {
    /// Echo, broadcast: a masked binary frame, `MessageHeader` and zero padding.
    case binary
    /// sse, longpoll: a masked text frame, `TextMessageHeader` and 'x' padding.
    case text
    /// `--payload ticker` (echo, broadcast): a masked text frame, a JSON quote
    /// feed from the pool with `TextMessageHeader` inside (`TickerPayload`).
    case ticker
    /// events: the text message as the argument of an event packet (`EventPacket`).
    case eventPacket
    /// ticker: a masked binary frame, an update of one key (`KeyedUpdate`) and zero padding.
    case keyedUpdate
}

/// Closed-loop broadcast: the deliveries of one publisher's message in
/// flight, summed across loops. One word: the sequence number + 1 in the
/// high 40 bits, deliveries in the low 24.
final class PublisherProgress: Sendable {
    static let countBits: UInt64 = 24
    static let countMask: UInt64 = (1 << countBits) - 1
    let packed = Atomic<UInt64>(0)

    /// Adds `count` deliveries of `sequence`; true when this call completed
    /// `needed` (exactly one caller sees that). Counts for an older sequence are dropped.
    func add(_ count: UInt64, of sequence: UInt64, needed: UInt64) -> Bool {
        let tag = (sequence &+ 1) << Self.countBits
        var current = packed.load(ordering: .relaxed)
        while true {
            let currentTag = current & ~Self.countMask
            let before: UInt64
            if currentTag == tag {
                before = current & Self.countMask
            } else if currentTag < tag {
                before = 0
            } else {
                return false
            }
            let after = min(before + count, Self.countMask)
            let (exchanged, original) = packed.compareExchange(
                expected: current, desired: tag | after, ordering: .acquiringAndReleasing)
            if exchanged { return before < needed && after >= needed }
            current = original
        }
    }
}

/// A measuring window as the loops see it. Sending starts at `start`;
/// messages intended in `measureStart..<end` are measured; none is sent from `end`.
struct SendingWindow: Sendable {
    var start: UInt64
    var measureStart: UInt64
    var end: UInt64
    /// Total messages per second over all senders; 0: closed loop.
    var rate: Int
    /// Senders over all loops: open echo connections, or publishers.
    var senderCount: Int
    /// Broadcast: deliveries one message must reach (every receiver but its publisher).
    var receiversPerMessage: Int
    /// Broadcast: each publisher's next sequence number, where receivers new to this window start.
    var baseline: [UInt64]
}
