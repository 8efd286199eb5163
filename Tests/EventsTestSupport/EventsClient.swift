import Events
import Glibc
import PushServer
import Reactor
import TestSupport
import WebSocketCodec

/// A server on a free port with an events layer that `configure` sets up.
public func makeEventServer(threads: Int = 2, server adjustServer: (inout ServerConfiguration) -> Void = { _ in },
                     _ adjust: (inout EventServerConfiguration) -> Void = { _ in },
                     configure: (EventServer) -> Void = { _ in }) throws -> (PushServer, EventServer, Int) {
    var configuration = ServerConfiguration()
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configuration.threads = threads
    configuration.timerTick = .milliseconds(50)
    configuration.statisticsInterval = .milliseconds(20)
    adjustServer(&configuration)
    let server = PushServer(configuration: configuration)
    var events = EventServerConfiguration()
    adjust(&events)
    let io = EventServer(server: server, configuration: events)
    configure(io)
    let address = try server.start()
    return (server, io, address.port)
}

/// An events-protocol client over one transport, driven by hand: packets
/// out, packets in (pings answered on the way).
public final class EventsClient {
    public enum Transport: CaseIterable, Sendable { case webSocket, eventStream, polling }

    public let transport: Transport
    public let port: Int
    private var webSocket: TestClient?
    private var stream: HTTPTestClient?
    private var poster: HTTPTestClient?
    private var polls: HTTPTestClient?
    private var received: [JSON] = []
    /// The session's token and public id, from its `open` packet.
    public private(set) var sid = ""
    public private(set) var id = ""
    public private(set) var open: JSON = .null

    /// `deflate`: offered on the WebSocket transport.
    public init(port: Int, transport: Transport, query: String = "", deflate: PerMessageDeflate.ClientOffer? = nil) throws {
        self.port = port
        self.transport = transport
        let suffix = query.isEmpty ? "" : "?" + query
        switch transport {
        case .webSocket:
            webSocket = try TestClient(port: port, path: "/events/ws" + suffix, deflate: deflate)
        case .eventStream:
            let stream = try HTTPTestClient(port: port)
            stream.send("GET", "/events/sse" + suffix)
            guard let head = stream.readHead(), head.status == 200 else { throw Failure("the SSE stream did not open") }
            self.stream = stream
        case .polling:
            let polls = try HTTPTestClient(port: port)
            guard let answer = polls.request("GET", "/events/poll" + suffix), answer.status == 200 else { throw Failure("no polling session") }
            received = try Self.lines(answer.body)
            self.polls = polls
        }
        open = try next()
        guard open["type"] == "open", let sid = open["sid"]?.string, let id = open["id"]?.string else { throw Failure("no open packet: \(open)") }
        self.sid = sid
        self.id = id
    }

    /// permessage-deflate as the WebSocket transport agreed it, if it did.
    public var deflate: PerMessageDeflate.Parameters? { webSocket?.deflate }
    /// Whether the last packet received over WebSocket arrived compressed.
    public var lastPacketWasCompressed: Bool { webSocket?.lastMessageWasCompressed ?? false }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    private static func lines(_ body: [UInt8]) throws -> [JSON] {
        try body.split(separator: 0x0A).map { try JSON(parsing: Array($0)) }
    }

    /// Sends one packet (over POST for SSE and polling: a status other than 204 throws).
    public func send(_ packet: JSON) throws {
        switch transport {
        case .webSocket:
            webSocket!.sendFrame(.text, packet.serialized())
        case .eventStream, .polling:
            if poster == nil { poster = try HTTPTestClient(port: port) }
            let answer = poster!.request("POST", "/events/send?sid=\(sid)", headers: [("Content-Type", "text/plain")], body: packet.serialized())
            guard answer?.status == 204 else { throw Failure("POST answered \(answer?.status ?? 0): \(answer?.text ?? "")") }
        }
    }

    /// The next packet from the server, pings answered and skipped.
    public func next() throws -> JSON {
        while true {
            let packet = try nextPacket()
            if packet["type"] == "ping" {
                try send(["type": "pong"])
                continue
            }
            return packet
        }
    }

    /// The next packet, pings included and not answered.
    public func nextPacket() throws -> JSON {
        if !received.isEmpty { return received.removeFirst() }
        switch transport {
        case .webSocket:
            switch webSocket!.receiveFrame() {
            case .text(let text): return try JSON(parsing: text)
            case let other: throw Failure("expected a text frame, got \(other)")
            }
        case .eventStream:
            guard let data = stream!.readEvent() else { throw Failure("the SSE stream ended") }
            return try JSON(parsing: data)
        case .polling:
            while received.isEmpty {
                guard let answer = polls!.request("GET", "/events/poll?sid=\(sid)") else { throw Failure("the poll got no answer") }
                guard answer.status == 200 else { throw Failure("the poll answered \(answer.status): \(answer.text)") }
                received = try Self.lines(answer.body)
            }
            return received.removeFirst()
        }
    }

    /// The next packet that is not a `seq`-less ping, of type `type`.
    public func next(_ type: String) throws -> JSON {
        let packet = try next()
        guard packet["type"]?.string == type else { throw Failure("expected \(type), got \(packet)") }
        return packet
    }

    /// The next packet of type `type`, others skipped.
    public func skip(to type: String) throws -> JSON {
        while true {
            let packet = try next()
            if packet["type"]?.string == type { return packet }
        }
    }

    /// Connects to a namespace; returns the server's answer (`connect` or `connect_error`).
    @discardableResult
    public func connect(_ namespace: String = "/", auth: JSON? = nil, resume: JSON? = nil) throws -> JSON {
        var packet: [(String, JSON)] = [("type", "connect"), ("ns", .string(namespace))]
        if let auth { packet.append(("auth", auth)) }
        if let resume { packet.append(("resume", resume)) }
        try send(.object(packet))
        return try next()
    }

    public func emit(_ event: String, _ arguments: [JSON] = [], namespace: String = "/", ack: Int? = nil) throws {
        var packet: [(String, JSON)] = [("type", "event"), ("ns", .string(namespace)), ("event", .string(event)), ("args", .array(arguments))]
        if let ack { packet.append(("ack", JSON(ack))) }
        try send(.object(packet))
    }

    /// Drops the transport with RST, as a vanished client.
    public func vanish() {
        webSocket?.reset()
        stream?.reset()
        polls?.reset()
        poster?.reset()
    }
}

extension EventsClient {
    /// The `event` packets named `name` until one carries `last` as its first
    /// argument (included), other packets skipped: what a client was sent.
    public func events(named name: String, until last: JSON) throws -> [JSON] {
        var seen: [JSON] = []
        while true {
            let packet = try next()
            guard packet["type"] == "event", packet["event"]?.string == name else { continue }
            seen.append(packet)
            if packet["args"]?[0] == last { return seen }
        }
    }
}
