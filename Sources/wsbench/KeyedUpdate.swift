/// The message of the ticker scenario: an update of one key. wsbench's
/// binary header, then the key and the key's value, so a server can conflate
/// by key (echo-server's room mode reads the key with `keyAt=24:8`). All
/// numbers little-endian; the rest of the payload, up to `-s` bytes, is zeros:
///
///     offset  size  field
///          0     4  magic "wsk1", so a ticker update is told from other messages
///          4     4  sender: the publisher's number
///          8     8  sequence number, from 0 for each publisher
///         16     8  intended send time, CLOCK_MONOTONIC nanoseconds
///         24     8  key: its number as 8 lowercase hex digits (text, as a server reads keys)
///         32     8  value: the key's updates sent so far, this one included (from 1)
///
/// Key k belongs to publisher k mod P (P publishers): each key's values
/// then rise in the room's order, whoever else publishes.
enum KeyedUpdate {
    static let size = 40
    static let magic: UInt32 = 0x316B_7377  // "wsk1" read as a little-endian word
    static let keyOffset = 24
    static let keyLength = 8
    static let valueOffset = 32
    /// What a publisher adds to the room URL's query, so the server knows where the key is.
    static let keyAtQuery = "keyAt=\(keyOffset):\(keyLength)"

    /// A whole update of `size` bytes (at least `Self.size`).
    @inline(__always)
    static func write(_ fields: MessageHeader.Fields, key: UInt32, value: UInt64, size: Int, to destination: UnsafeMutableRawPointer) {
        MessageHeader.write(fields, to: destination)
        destination.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        var remaining = key
        for index in stride(from: keyLength - 1, through: 0, by: -1) {
            let nibble = UInt8(truncatingIfNeeded: remaining & 0xF)
            destination.storeBytes(of: nibble < 10 ? nibble &+ 48 : nibble &+ 87, toByteOffset: keyOffset + index, as: UInt8.self)
            remaining >>= 4
        }
        destination.storeBytes(of: value.littleEndian, toByteOffset: valueOffset, as: UInt64.self)
        (destination + Self.size).initializeMemory(as: UInt8.self, repeating: 0, count: size - Self.size)
    }

    /// The key and value of an update `read` accepted; nil when the key is not lowercase hex.
    @inline(__always)
    static func keyAndValue(_ payload: UnsafeRawPointer) -> (key: UInt32, value: UInt64)? {
        var invalid: UInt64 = 0
        let key = TextMessageHeader.hex8(payload + keyOffset, invalid: &invalid)
        guard invalid == 0 else { return nil }
        return (key, UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: valueOffset, as: UInt64.self)))
    }
}

extension KeyedUpdate: HeaderFormat {
    static var isText: Bool { false }
    static var countsByTransport: Bool { false }
    static var isKeyed: Bool { true }

    /// The header fields, or nil when `payload` is too short or is not an update.
    @inline(__always)
    static func read(_ payload: UnsafeRawPointer, count: Int) -> MessageHeader.Fields? {
        count >= size ? MessageHeader.read(payload, count: count, magic: magic) : nil
    }
}
