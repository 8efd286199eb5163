/// The header of the text messages publishers send in the sse, longpoll and
/// events scenarios. SSE and JSON carry text, and echo-server would Base64 a binary
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

    /// A whole message of `size` bytes (at least `Self.size`): the header, then 'x' padding.
    @inline(__always)
    static func writeMessage(_ fields: MessageHeader.Fields, size: Int, to destination: UnsafeMutableRawPointer) {
        write(fields, to: destination)
        (destination + Self.size).initializeMemory(as: UInt8.self, repeating: padding, count: size - Self.size)
    }

    /// The fields, or nil when `payload` is too short or is not one of ours.
    @inline(__always)
    static func read(_ payload: UnsafeRawPointer, count: Int) -> MessageHeader.Fields? {
        guard count >= size, UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == magic else { return nil }
        // Five words of hex, checked together: one branch, not one per word.
        var invalid: UInt64 = 0
        let sender = hex8(payload + 4, invalid: &invalid)
        let sequence = UInt64(hex8(payload + 12, invalid: &invalid)) << 32 | UInt64(hex8(payload + 20, invalid: &invalid))
        let intendedTime = UInt64(hex8(payload + 28, invalid: &invalid)) << 32 | UInt64(hex8(payload + 36, invalid: &invalid))
        guard invalid == 0 else { return nil }
        return MessageHeader.Fields(sender: sender, sequence: sequence, intendedTime: intendedTime)
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

    /// Eight lowercase hex digits, a machine word at a time, with no branch
    /// per digit (measured: a third of the events receive path digit by
    /// digit). Anything but lowercase hex sets bits in `invalid`.
    @inline(__always)
    private static func hex8(_ source: UnsafeRawPointer, invalid: inout UInt64) -> UInt32 {
        let word = UInt64(littleEndian: source.loadUnaligned(as: UInt64.self))
        let ones: UInt64 = 0x0101_0101_0101_0101
        let tops: UInt64 = 0x8080_8080_8080_8080
        let seven = word & ~tops
        // A byte below 0x80 plus 0x80 - k carries into its top bit when it is at least k, never into the next byte.
        @inline(__always) func atLeast(_ k: UInt64) -> UInt64 { (seven &+ ones &* (0x80 &- k)) & tops }
        let digits = atLeast(0x30) & ~atLeast(0x3A)
        let letters = atLeast(0x61) & ~atLeast(0x67)
        invalid |= (word & tops) | ((digits | letters) ^ tops)
        // '0'-'9' keep their low nibble; 'a'-'f' (bit 6 set) add 9 to theirs. Then nibbles pair up: the first byte is the top digit.
        var value = (word & 0x0F0F_0F0F_0F0F_0F0F) &+ (word >> 6 & ones) &* 9
        value = (value & 0x000F_000F_000F_000F) << 4 | (value >> 8 & 0x000F_000F_000F_000F)
        value = (value & 0x0000_00FF_0000_00FF) << 8 | (value >> 16 & 0x0000_00FF_0000_00FF)
        value = (value & 0xFFFF) << 16 | (value >> 32 & 0xFFFF)
        return UInt32(truncatingIfNeeded: value)
    }
}
