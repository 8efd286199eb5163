// SHA-1 (FIPS 180-4), needed only for the handshake's Sec-WebSocket-Accept.
// SHA-1 is broken for collision resistance; RFC 6455 uses it as a checksum, not for security.

public enum SHA1 {
    /// The 20-byte SHA-1 digest of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 20) { out, count in
            digest(bytes, into: UnsafeMutableRawPointer(out.baseAddress!))
            count = 20
        }
    }

    /// Writes the 20-byte SHA-1 digest of `bytes` to `destination`; allocates nothing.
    public static func digest(_ bytes: UnsafeRawBufferPointer, into destination: UnsafeMutableRawPointer) {
        var state = State()
        let count = bytes.count
        var offset = 0
        if let base = bytes.baseAddress {
            while count - offset >= 64 {
                state.compress(base + offset)
                offset += 64
            }
        }
        // Padding: 0x80, zeros, then the bit length big-endian, filling one or two final blocks.
        return withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { tail in
            tail.initializeMemory(as: UInt8.self, repeating: 0)
            let rest = count - offset
            if rest > 0, let base = bytes.baseAddress {
                tail.baseAddress!.copyMemory(from: base + offset, byteCount: rest)
            }
            tail[rest] = 0x80
            let blocks = rest < 56 ? 1 : 2
            let bitLength = UInt64(count) &* 8
            for i in 0..<8 {
                tail[blocks * 64 - 1 - i] = UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))
            }
            for block in 0..<blocks {
                state.compress(UnsafeRawPointer(tail.baseAddress! + block * 64))
            }
            state.write(to: destination)
        }
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0) }
    }

    private struct State {
        var h0: UInt32 = 0x6745_2301
        var h1: UInt32 = 0xEFCD_AB89
        var h2: UInt32 = 0x98BA_DCFE
        var h3: UInt32 = 0x1032_5476
        var h4: UInt32 = 0xC3D2_E1F0

        /// The digest, big-endian words, 20 bytes.
        func write(to destination: UnsafeMutableRawPointer) {
            destination.storeBytes(of: h0.bigEndian, toByteOffset: 0, as: UInt32.self)
            destination.storeBytes(of: h1.bigEndian, toByteOffset: 4, as: UInt32.self)
            destination.storeBytes(of: h2.bigEndian, toByteOffset: 8, as: UInt32.self)
            destination.storeBytes(of: h3.bigEndian, toByteOffset: 12, as: UInt32.self)
            destination.storeBytes(of: h4.bigEndian, toByteOffset: 16, as: UInt32.self)
        }

        @inline(__always)
        private static func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 {
            (x << n) | (x >> (32 - n))
        }

        /// One 64-byte block. The schedule is a 16-word ring (w[t] depends only on the last 16 words).
        mutating func compress(_ block: UnsafeRawPointer) {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { w in
                for t in 0..<16 {
                    w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self))
                }
                var a = h0, b = h1, c = h2, d = h3, e = h4
                for t in 0..<80 {
                    let s = t & 15
                    if t >= 16 {
                        w[s] = Self.rotl(w[(s + 13) & 15] ^ w[(s + 8) & 15] ^ w[(s + 2) & 15] ^ w[s], 1)
                    }
                    let f: UInt32
                    let k: UInt32
                    switch t {
                    case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                    case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                    case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                    default: f = b ^ c ^ d; k = 0xCA62_C1D6
                    }
                    let temp = Self.rotl(a, 5) &+ f &+ e &+ k &+ w[s]
                    e = d
                    d = c
                    c = Self.rotl(b, 30)
                    b = a
                    a = temp
                }
                h0 &+= a
                h1 &+= b
                h2 &+= c
                h3 &+= d
                h4 &+= e
            }
        }
    }
}
