// Frame encoding (RFC 6455 §5.2). Servers send unmasked frames, clients masked ones. Reserved
// bits are set only for a negotiated extension that owns them (RSV1: a permessage-deflate
// message's first frame).

public enum FrameEncoder {
    /// Header bytes for a payload: 2, 4 (16-bit length) or 10 (64-bit length), plus 4 for a mask key.
    @inlinable
    public static func headerSize(payloadLength: Int, masked: Bool) -> Int {
        let base = payloadLength < 126 ? 2 : (payloadLength <= 0xFFFF ? 4 : 10)
        return masked ? base &+ 4 : base
    }

    /// Writes only the header (including the mask key, if any); returns its size.
    /// For callers that place or share the payload themselves.
    @inlinable
    public static func writeHeader(
        opcode: Opcode, fin: Bool = true, reservedBits: ReservedBits = [], payloadLength: Int, maskKey: MaskKey?,
        into destination: UnsafeMutableRawPointer
    ) -> Int {
        precondition(payloadLength >= 0)
        destination.storeBytes(of: (fin ? 0x80 : 0) | reservedBits.rawValue | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var size: Int
        if payloadLength < 126 {
            destination.storeBytes(of: maskBit | UInt8(truncatingIfNeeded: payloadLength), toByteOffset: 1, as: UInt8.self)
            size = 2
        } else if payloadLength <= 0xFFFF {
            destination.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt16(truncatingIfNeeded: payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            size = 4
        } else {
            destination.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            destination.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            size = 10
        }
        if let maskKey {
            maskKey.store(to: destination + size)
            size &+= 4
        }
        return size
    }

    /// Writes header + payload (masked when `maskKey` is given) to `destination`, which must have
    /// room for `headerSize(payloadLength:masked:) + payload.count` bytes. Returns the bytes written.
    @inlinable
    public static func encode(
        opcode: Opcode, fin: Bool = true, reservedBits: ReservedBits = [], payload: UnsafeRawBufferPointer, maskKey: MaskKey?,
        into destination: UnsafeMutableRawPointer
    ) -> Int {
        let header = writeHeader(
            opcode: opcode, fin: fin, reservedBits: reservedBits, payloadLength: payload.count, maskKey: maskKey, into: destination)
        guard let source = payload.baseAddress, payload.count > 0 else { return header }
        if let maskKey {
            applyMask(from: source, to: destination + header, count: payload.count, key: maskKey, phase: 0)
        } else {
            (destination + header).copyMemory(from: source, byteCount: payload.count)
        }
        return header &+ payload.count
    }

    /// One whole frame as a new array.
    public static func frame(
        opcode: Opcode, fin: Bool = true, reservedBits: ReservedBits = [], payload: [UInt8], maskKey: MaskKey? = nil
    ) -> [UInt8] {
        let size = headerSize(payloadLength: payload.count, masked: maskKey != nil) + payload.count
        return [UInt8](unsafeUninitializedCapacity: size) { out, initialized in
            initialized = payload.withUnsafeBytes { bytes in
                encode(opcode: opcode, fin: fin, reservedBits: reservedBits, payload: bytes, maskKey: maskKey,
                       into: UnsafeMutableRawPointer(out.baseAddress!))
            }
        }
    }

    /// A close frame's payload: the code big-endian, then the reason, cut at a UTF-8 character
    /// boundary so the payload fits the 125-byte control frame limit.
    public static func closePayload(code: CloseCode, reason: String = "") -> [UInt8] {
        var payload: [UInt8] = [UInt8(truncatingIfNeeded: code.rawValue >> 8), UInt8(truncatingIfNeeded: code.rawValue)]
        var utf8 = Array(reason.utf8)
        if utf8.count > 123 {
            var cut = 123
            while cut > 0 && utf8[cut] & 0xC0 == 0x80 { cut -= 1 }  // utf8[cut] starts the first dropped character
            utf8.removeSubrange(cut...)
        }
        payload += utf8
        return payload
    }
}
