// Payload masking (RFC 6455 §5.3): byte i is XORed with key[(i + phase) % 4].
// Done a machine word at a time: the 4-byte key rotated to the phase and doubled fills a UInt64,
// so an 8-byte word needs one XOR and the phase is unchanged after it.

/// The 4-byte masking key, in wire order.
public struct MaskKey: Hashable, Sendable {
    /// The key bytes as read little-endian from the wire: byte 0 in the low 8 bits.
    public var wireValue: UInt32

    @inlinable
    public init(wireValue: UInt32) {
        self.wireValue = wireValue
    }

    @inlinable
    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        wireValue = UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16 | UInt32(b3) << 24
    }

    @inlinable
    public init(_ bytes: (UInt8, UInt8, UInt8, UInt8)) {
        self.init(bytes.0, bytes.1, bytes.2, bytes.3)
    }

    /// Reads the 4 key bytes at `pointer` (any alignment).
    @inlinable
    public init(loadingFrom pointer: UnsafeRawPointer) {
        wireValue = UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self))
    }

    public var bytes: (UInt8, UInt8, UInt8, UInt8) {
        (UInt8(truncatingIfNeeded: wireValue), UInt8(truncatingIfNeeded: wireValue >> 8),
         UInt8(truncatingIfNeeded: wireValue >> 16), UInt8(truncatingIfNeeded: wireValue >> 24))
    }

    /// Stores the 4 key bytes at `pointer` (any alignment).
    @inlinable
    public func store(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: wireValue.littleEndian, as: UInt32.self)
    }

    /// Eight key bytes starting at key byte `phase`, as a native word to XOR with memory loads.
    @inlinable
    func word(phase: Int) -> UInt64 {
        let shift = UInt32(truncatingIfNeeded: phase & 3) &* 8
        let rotated = wireValue &>> shift | wireValue &<< (32 &- shift)  // shift 0: both terms are the key
        return (UInt64(rotated) | UInt64(rotated) << 32).littleEndian
    }
}

/// XORs `buffer` with `key` in place, starting at key byte `phase` (0...3).
/// Returns the phase after the last byte, to continue a payload that arrives in pieces.
@discardableResult
public func applyMask(_ buffer: UnsafeMutableRawBufferPointer, key: MaskKey, phase: Int) -> Int {
    guard let base = buffer.baseAddress else { return phase & 3 }
    return applyMask(from: UnsafeRawPointer(base), to: base, count: buffer.count, key: key, phase: phase)
}

/// Tuple-key spelling of `applyMask(_:key:phase:)`.
@discardableResult
public func applyMask(_ buffer: UnsafeMutableRawBufferPointer, key: (UInt8, UInt8, UInt8, UInt8), phase: Int) -> Int {
    applyMask(buffer, key: MaskKey(key), phase: phase)
}

/// Writes `source` XOR mask to `destination` (`count` bytes; the two may be the same memory, not
/// otherwise overlapping). One pass for copy and unmask together. Returns the phase after the last byte.
@discardableResult
public func applyMask(
    from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int, key: MaskKey, phase: Int
) -> Int {
    let mask = key.word(phase: phase)
    var i = 0
    // 32 bytes per iteration: independent words let the CPU (or the vectorizer) overlap them.
    while count &- i >= 32 {
        let w0 = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        let w1 = source.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
        let w2 = source.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self)
        let w3 = source.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)
        destination.storeBytes(of: w0 ^ mask, toByteOffset: i, as: UInt64.self)
        destination.storeBytes(of: w1 ^ mask, toByteOffset: i &+ 8, as: UInt64.self)
        destination.storeBytes(of: w2 ^ mask, toByteOffset: i &+ 16, as: UInt64.self)
        destination.storeBytes(of: w3 ^ mask, toByteOffset: i &+ 24, as: UInt64.self)
        i &+= 32
    }
    while count &- i >= 8 {
        let w = source.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        destination.storeBytes(of: w ^ mask, toByteOffset: i, as: UInt64.self)
        i &+= 8
    }
    // Tail: i is a multiple of 8, so the phase here is the starting phase; walk the mask word's bytes.
    var tailMask = UInt64(littleEndian: mask)
    while i < count {
        let byte = source.load(fromByteOffset: i, as: UInt8.self)
        destination.storeBytes(of: byte ^ UInt8(truncatingIfNeeded: tailMask), toByteOffset: i, as: UInt8.self)
        tailMask &>>= 8
        i &+= 1
    }
    return (phase &+ count) & 3
}
