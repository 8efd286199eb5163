/// The header of the text messages publishers send in the sse and longpoll
/// scenarios. SSE and JSON carry text, and echo-server would Base64 a binary
/// message for them; a text message travels as it is, so every transport
/// (WebSocket text frame, SSE `data:` line, JSON `"data"` string) delivers
/// the same bytes, parsed in place. Fixed-width lowercase hex, no escaping
/// needed anywhere, 44 bytes:
///
///     offset  size  field
///          0     4  magic "wst1"
///          4     8  sender: the publisher's number
///         12    16  sequence number, from 0 for each publisher
///         28    16  intended send time, CLOCK_MONOTONIC nanoseconds
///
/// The rest of the payload, up to `-s` bytes, is 'x'.
enum TextMessageHeader {
    static let size = 44
    /// echo-server refuses bigger HTTP publishes, and wsbench holds a whole SSE line or JSON element in one read.
    static let maximumPayload = 65536
    static let padding = UInt8(ascii: "x")
    static let magic: UInt32 = 0x3174_7377  // "wst1" read as a little-endian word

    @inline(__always)
    static func write(_ fields: MessageHeader.Fields, to destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        writeHex(UInt64(fields.sender), digits: 8, to: destination + 4)
        writeHex(fields.sequence, digits: 16, to: destination + 12)
        writeHex(fields.intendedTime, digits: 16, to: destination + 28)
    }

    /// The fields, or nil when `payload` is too short or is not one of ours.
    @inline(__always)
    static func read(_ payload: UnsafeRawPointer, count: Int) -> MessageHeader.Fields? {
        guard count >= size,
              UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == magic,
              let sender = readHex(payload + 4, digits: 8),
              let sequence = readHex(payload + 12, digits: 16),
              let intendedTime = readHex(payload + 28, digits: 16) else { return nil }
        return MessageHeader.Fields(sender: UInt32(sender), sequence: sequence, intendedTime: intendedTime)
    }

    @inline(__always)
    private static func writeHex(_ value: UInt64, digits: Int, to destination: UnsafeMutableRawPointer) {
        var remaining = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            let nibble = UInt8(truncatingIfNeeded: remaining & 0xF)
            destination.storeBytes(of: nibble < 10 ? nibble &+ 48 : nibble &+ 87, toByteOffset: index, as: UInt8.self)
            remaining >>= 4
        }
    }

    /// Lowercase hex only: anything else is not ours.
    @inline(__always)
    private static func readHex(_ source: UnsafeRawPointer, digits: Int) -> UInt64? {
        var value: UInt64 = 0
        for index in 0..<digits {
            let byte = source.load(fromByteOffset: index, as: UInt8.self)
            let digit: UInt8
            if byte &- 48 < 10 {
                digit = byte &- 48
            } else if byte &- 97 < 6 {
                digit = byte &- 87
            } else {
                return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}
