import WebSocketCodec

/// A message to publish: its bytes are encoded once per wire format.
public struct BroadcastMessage: Sendable {
    /// `.text` (valid UTF-8) or `.binary`.
    public var opcode: Opcode
    public var payload: [UInt8]
    /// An event name (SSE's `event:` line, `"event"` in polling JSON); WebSocket frames do not carry it.
    public var name: String?
    /// What the message is an update of (a stock symbol, a field): for a
    /// member that is behind in a room or subscription that conflates, a
    /// newer message with the same key replaces this one if it is still waiting.
    public var key: String?
    /// Worth sending only now: a member that is behind does not get it (counted as `volatileDropped`).
    public var isVolatile: Bool

    public init(opcode: Opcode, payload: [UInt8], name: String? = nil, key: String? = nil, isVolatile: Bool = false) {
        precondition(opcode == .text || opcode == .binary, "only data messages are broadcast")
        self.opcode = opcode
        self.payload = payload
        self.name = name
        self.key = key
        self.isVolatile = isVolatile
    }

    public init(text: String, name: String? = nil, key: String? = nil, isVolatile: Bool = false) {
        self.init(opcode: .text, payload: Array(text.utf8), name: name, key: key, isVolatile: isVolatile)
    }

    public init(binary: [UInt8], name: String? = nil, key: String? = nil, isVolatile: Bool = false) {
        self.init(opcode: .binary, payload: binary, name: name, key: key, isVolatile: isVolatile)
    }
}

/// Who is left out of a message: its sender (for "to everyone but me"), and
/// members of other rooms (so a message to several rooms reaches each member once).
public struct Exclusion: Sendable, Equatable {
    public var subscriber: SubscriberID?
    public var membersOf: [String]

    public init(subscriber: SubscriberID? = nil, membersOf: [String] = []) {
        self.subscriber = subscriber
        self.membersOf = membersOf
    }

    public var isEmpty: Bool { subscriber == nil && membersOf.isEmpty }
}
