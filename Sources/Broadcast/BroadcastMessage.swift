import WebSocketCodec

/// A message to publish: its bytes are encoded once per wire format.
public struct BroadcastMessage: Sendable {
    /// `.text` (valid UTF-8) or `.binary`.
    public var opcode: Opcode
    public var payload: [UInt8]
    /// An event name (SSE's `event:` line, `"event"` in polling JSON); WebSocket frames do not carry it.
    public var name: String?

    public init(opcode: Opcode, payload: [UInt8], name: String? = nil) {
        precondition(opcode == .text || opcode == .binary, "only data messages are broadcast")
        self.opcode = opcode
        self.payload = payload
        self.name = name
    }

    public init(text: String, name: String? = nil) { self.init(opcode: .text, payload: Array(text.utf8), name: name) }

    public init(binary: [UInt8], name: String? = nil) { self.init(opcode: .binary, payload: binary, name: name) }
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
