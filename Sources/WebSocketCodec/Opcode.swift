// Frame opcodes (RFC 6455 §5.2). 3-7 and 11-15 are reserved: the reader fails them with 1002.

public enum Opcode: UInt8, Sendable {
    case continuation = 0
    case text = 1
    case binary = 2
    case close = 8
    case ping = 9
    case pong = 10

    /// Close, ping and pong: at most 125 payload bytes, never fragmented, allowed between fragments.
    @inlinable
    public var isControl: Bool { rawValue & 0x08 != 0 }
}
