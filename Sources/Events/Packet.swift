import PushServer

/// The event packets of the wire format (README, "The events protocol"):
/// JSON objects with a `type`, written here as bytes the session layer sends
/// as they are, and read from what clients send.
enum Packet {
    // MARK: Writing

    /// `{"type":"event","ns":NS[,"room":ROOM],"event":NAME,"args":[...][,"ack":ID]}`
    static func event(namespace: String, room: String?, name: String, arguments: [JSON], ack: Int?, key: String? = nil,
                      id: String? = nil) -> [UInt8] {
        var out = Array("{\"type\":\"event\",\"ns\":".utf8)
        JSON.writeString(namespace, to: &out)
        if let room {
            out += Array(",\"room\":".utf8)
            JSON.writeString(room, to: &out)
        }
        if let key {
            out += Array(",\"key\":".utf8)
            JSON.writeString(key, to: &out)
        }
        if let id { out += Array(",\"mid\":\"\(id)\"".utf8) }
        out += Array(",\"event\":".utf8)
        JSON.writeString(name, to: &out)
        out += Array(",\"args\":".utf8)
        JSON.array(arguments).write(to: &out)
        if let ack { out += Array(",\"ack\":\(ack)".utf8) }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `{"type":"ack","ns":NS,"ack":ID,"args":[...]}`
    static func ack(namespace: String, id: Int, arguments: [JSON]) -> [UInt8] {
        var out = Array("{\"type\":\"ack\",\"ns\":".utf8)
        JSON.writeString(namespace, to: &out)
        out += Array(",\"ack\":\(id),\"args\":".utf8)
        JSON.array(arguments).write(to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    static func connected(namespace: String, socketID: String) -> [UInt8] {
        JSON.object([("type", "connect"), ("ns", .string(namespace)), ("id", .string(socketID))]).serialized()
    }

    static func connectError(namespace: String, message: String, data: JSON?) -> [UInt8] {
        var members: [(String, JSON)] = [("type", "connect_error"), ("ns", .string(namespace)), ("message", .string(message))]
        if let data { members.append(("data", data)) }
        return JSON.object(members).serialized()
    }

    static func disconnect(namespace: String, reason: String) -> [UInt8] {
        JSON.object([("type", "disconnect"), ("ns", .string(namespace)), ("reason", .string(reason))]).serialized()
    }

    static func gap(namespace: String, room: String, oldest: UInt64?, last: UInt64) -> [UInt8] {
        JSON.object([("type", "gap"), ("ns", .string(namespace)), ("room", .string(room)),
                     ("oldest", oldest.map { JSON($0) } ?? .null), ("last", JSON(last))]).serialized()
    }

    // MARK: Reading

    /// A packet from a client.
    struct Incoming {
        enum Kind {
            case connect(auth: JSON?, resume: Resume?)
            case disconnect
            case event(name: String, arguments: [JSON], ack: Int?)
            case ack(id: Int, arguments: [JSON])
            case pong
            case close
            /// A type this server does not know: ignored, for clients newer than it.
            case unknown(String)
        }

        let namespace: String
        let kind: Kind
    }

    /// What a reconnecting client says it saw before.
    struct Resume {
        /// Its socket id then: the session it was, whose own broadcasts it must not be sent again.
        let formerly: SessionID?
        /// The last sequence it got per room of the namespace ("" is the namespace itself).
        let rooms: [String: UInt64]
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(PacketError) -> Incoming {
        let json: JSON
        do { json = try JSON(parsing: bytes, maxDepth: 32) } catch { throw PacketError("not JSON: \(error)") }
        guard case .object = json else { throw PacketError("a packet is a JSON object") }
        guard let type = json["type"]?.string else { throw PacketError("a packet needs a string \"type\"") }
        var namespace = "/"
        if let value = json["ns"] {
            guard let name = value.string, name.hasPrefix("/") else { throw PacketError("\"ns\" must be a string starting with /") }
            namespace = name
        }
        switch type {
        case "connect":
            return Incoming(namespace: namespace, kind: .connect(auth: json["auth"], resume: try resume(json["resume"])))
        case "disconnect":
            return Incoming(namespace: namespace, kind: .disconnect)
        case "event":
            guard let name = json["event"]?.string else { throw PacketError("an event packet needs a string \"event\"") }
            return Incoming(namespace: namespace, kind: .event(name: name, arguments: try arguments(json), ack: try ackID(json["ack"], required: false)))
        case "ack":
            return Incoming(namespace: namespace, kind: .ack(id: try ackID(json["ack"], required: true)!, arguments: try arguments(json)))
        case "pong":
            return Incoming(namespace: namespace, kind: .pong)
        case "close":
            return Incoming(namespace: namespace, kind: .close)
        default:
            return Incoming(namespace: namespace, kind: .unknown(type))
        }
    }

    private static func arguments(_ json: JSON) throws(PacketError) -> [JSON] {
        guard let value = json["args"] else { return [] }
        guard let arguments = value.array else { throw PacketError("\"args\" must be an array") }
        return arguments
    }

    private static func ackID(_ value: JSON?, required: Bool) throws(PacketError) -> Int? {
        guard let value, !value.isNull else {
            if required { throw PacketError("an ack packet needs an integer \"ack\"") }
            return nil
        }
        guard let id = value.int, id >= 0 else { throw PacketError("\"ack\" must be a non-negative integer") }
        return id
    }

    private static func resume(_ value: JSON?) throws(PacketError) -> Resume? {
        guard let value, !value.isNull else { return nil }
        guard case .object = value else { throw PacketError("\"resume\" must be an object") }
        var rooms: [String: UInt64] = [:]
        if case .object(let members)? = value["rooms"] {
            for (room, sequence) in members {
                guard let number = sequence.int, number >= 0 else { throw PacketError("resume sequences must be non-negative integers") }
                rooms[room] = UInt64(number)
            }
        }
        return Resume(formerly: value["id"]?.string.flatMap { SessionID($0) }, rooms: rooms)
    }
}

/// Why a client's packet was refused: the session is closed with this reason.
struct PacketError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
