// Base64 (RFC 4648 §4), standard alphabet with padding. Used for Sec-WebSocket-Key/Accept.

public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Sextet value of each byte, 0xFF for bytes outside the alphabet ('=' included: it is handled apart).
    private static let sextets: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in alphabet.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }()

    public static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    /// The encoding of `bytes`: one allocation, the string's.
    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: encodedCount(bytes.count)) { encode(bytes, into: UnsafeMutableRawBufferPointer($0)) }
    }

    /// The length of the encoding of `count` bytes.
    public static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Encodes `bytes` into `out` (at least `encodedCount(bytes.count)` bytes); returns the count written.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        precondition(out.count >= encodedCount(bytes.count), "Base64: the output is too small")
        return alphabet.withUnsafeBufferPointer { abc in
            var o = 0
            var i = 0
            while i + 3 <= bytes.count {
                let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                out[o] = abc[Int(v >> 18)]
                out[o + 1] = abc[Int(v >> 12 & 63)]
                out[o + 2] = abc[Int(v >> 6 & 63)]
                out[o + 3] = abc[Int(v & 63)]
                i += 3
                o += 4
            }
            let rest = bytes.count - i
            if rest > 0 {
                let v = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
                out[o] = abc[Int(v >> 18)]
                out[o + 1] = abc[Int(v >> 12 & 63)]
                out[o + 2] = rest == 2 ? abc[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                out[o + 3] = UInt8(ascii: "=")
                o += 4
            }
            return o
        }
    }

    /// Strict decoding: length a multiple of 4, only alphabet characters, '=' only as the last one
    /// or two characters, and the unused bits before the padding zero (the canonical encoding).
    /// Whitespace is not skipped. Returns nil on any violation.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    /// Decodes ASCII bytes with the same rules as `decode(_: String)`.
    public static func decode(_ ascii: UnsafeRawBufferPointer) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(ascii.count / 4 * 3)
        return decode(ascii, into: { out.append($0) }) ? out : nil
    }

    /// How many bytes `ascii` decodes to under the rules of `decode(_: String)`, nil if it breaks
    /// them; nothing is allocated (an upgrade's Sec-WebSocket-Key is checked this way).
    public static func decodedCount(_ text: String) -> Int? {
        var text = text
        return text.withUTF8 { decodedCount(UnsafeRawBufferPointer($0)) }
    }

    /// `decodedCount(_:)` of text given as its ASCII bytes.
    public static func decodedCount(_ ascii: UnsafeRawBufferPointer) -> Int? {
        var count = 0
        return decode(ascii, into: { _ in count += 1 }) ? count : nil
    }

    /// Gives each decoded byte to `output`; false on any violation (bytes given so far are then void).
    private static func decode(_ ascii: UnsafeRawBufferPointer, into output: (UInt8) -> Void) -> Bool {
        let count = ascii.count
        guard count % 4 == 0 else { return false }
        if count == 0 { return true }
        let equals = UInt8(ascii: "=")
        let padding = ascii[count - 1] == equals ? (ascii[count - 2] == equals ? 2 : 1) : 0
        return sextets.withUnsafeBufferPointer { table -> Bool in
            var i = 0
            while i < count {
                let isLast = i + 4 == count
                let usable = isLast ? 4 - padding : 4
                var v: UInt32 = 0
                for j in 0..<4 {
                    if j < usable {
                        let s = table[Int(ascii[i + j])]
                        if s == 0xFF { return false }
                        v = v << 6 | UInt32(s)
                    } else {
                        v <<= 6
                    }
                }
                output(UInt8(truncatingIfNeeded: v >> 16))
                if usable == 4 {
                    output(UInt8(truncatingIfNeeded: v >> 8))
                    output(UInt8(truncatingIfNeeded: v))
                } else if usable == 3 {
                    guard v & 0xFF == 0 else { return false }
                    output(UInt8(truncatingIfNeeded: v >> 8))
                } else {
                    guard v & 0xFFFF == 0 else { return false }
                }
                i += 4
            }
            return true
        }
    }
}
