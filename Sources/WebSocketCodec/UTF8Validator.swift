// Incremental UTF-8 validation (RFC 3629) for text messages that arrive in fragments and pieces.
//
// ASCII is skipped 16 bytes at a time. Everything else runs through a DFA in the "shift" form:
// each input byte maps to one UInt64 row holding, for every state, the next state's bit offset,
// so a step is `state = row[byte] >> state & 63` and the row load does not wait on the state.
// The states accept exactly the well-formed sequences of RFC 3629 §4 (no overlongs, no surrogates,
// nothing above U+10FFFF), and reject at the first byte that makes that impossible.

public struct UTF8Validator: Sendable {
    /// Bit offset of the current DFA state in a row; `accept` is 0.
    @usableFromInline var state: UInt8

    @inlinable
    public init() {
        state = 0
    }

    /// True when no code point is half-received (a complete message must end here) and nothing invalid was seen.
    @inlinable
    public var isAtBoundary: Bool { state == 0 }

    /// False once the input seen so far can no longer become valid UTF-8 (and from then on).
    @inlinable
    public var isValidSoFar: Bool { state != DFA.reject }

    /// Feeds more bytes; returns false as soon as the input can no longer become valid UTF-8.
    @inlinable
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return state != DFA.reject }
        let count = bytes.count
        var i = 0
        if state == 0 {
            i = Self.asciiPrefixLength(base, count)
            if i == count { return true }
        }
        return validateRest(base, from: i, count: count)
    }

    /// Length of the run of ASCII at the start, rounded down to 16 bytes, or `count` if all ASCII.
    @inlinable @inline(__always)
    static func asciiPrefixLength(_ base: UnsafeRawPointer, _ count: Int) -> Int {
        let high: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        while count &- i >= 16 {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                | base.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
            if w & high != 0 { return i }
            i &+= 16
        }
        if count &- i >= 8 {
            if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & high != 0 { return i }
            i &+= 8
        }
        while i < count {
            if base.load(fromByteOffset: i, as: UInt8.self) >= 0x80 { return i }
            i &+= 1
        }
        return count
    }

    @usableFromInline
    mutating func validateRest(_ base: UnsafeRawPointer, from start: Int, count: Int) -> Bool {
        var s = UInt64(state)
        var i = start
        DFA.rows.withUnsafeBufferPointer { rows in
            while i < count {
                if s == 0 {
                    i &+= Self.asciiPrefixLength(base + i, count &- i)
                    if i == count { break }
                }
                // Up to 16 bytes through the DFA, then look for ASCII again.
                let end = Swift.min(i &+ 16, count)
                while i < end {
                    s = rows[Int(base.load(fromByteOffset: i, as: UInt8.self))] &>> s & 63
                    i &+= 1
                }
                if s == UInt64(DFA.reject) { break }
            }
        }
        state = UInt8(truncatingIfNeeded: s)
        return state != DFA.reject
    }

    /// Whole-buffer check: valid UTF-8 that ends on a code point boundary.
    @inlinable
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isAtBoundary
    }
}

@usableFromInline
enum DFA {
    /// Bit offset of the reject state (index 1).
    @inlinable static var reject: UInt8 { 6 }

    // States, each stored as a bit offset (index * 6) so a row holds all nine 6-bit transitions.
    static let accept = 0       // between code points
    // index 1: reject, absorbing
    static let need1 = 2        // one continuation byte 80..BF to go
    static let need2 = 3        // two continuation bytes to go
    static let need2AfterE0 = 4 // next must be A0..BF (else overlong)
    static let need2AfterED = 5 // next must be 80..9F (else a surrogate)
    static let need3 = 6        // three continuation bytes to go
    static let need3AfterF0 = 7 // next must be 90..BF (else overlong)
    static let need3AfterF4 = 8 // next must be 80..8F (else above U+10FFFF)

    /// Next state index for (state index, byte); state index 1 is reject.
    static func next(_ state: Int, _ byte: Int) -> Int {
        let isContinuation = (0x80...0xBF).contains(byte)
        switch state {
        case 0:
            switch byte {
            case 0x00...0x7F: return 0
            case 0xC2...0xDF: return need1
            case 0xE0: return need2AfterE0
            case 0xE1...0xEC, 0xEE...0xEF: return need2
            case 0xED: return need2AfterED
            case 0xF0: return need3AfterF0
            case 0xF1...0xF3: return need3
            case 0xF4: return need3AfterF4
            default: return 1  // 80..BF lone continuation, C0/C1 overlong, F5..FF out of range
            }
        case need1: return isContinuation ? 0 : 1
        case need2: return isContinuation ? need1 : 1
        case need2AfterE0: return (0xA0...0xBF).contains(byte) ? need1 : 1
        case need2AfterED: return (0x80...0x9F).contains(byte) ? need1 : 1
        case need3: return isContinuation ? need2 : 1
        case need3AfterF0: return (0x90...0xBF).contains(byte) ? need2 : 1
        case need3AfterF4: return (0x80...0x8F).contains(byte) ? need2 : 1
        default: return 1
        }
    }

    @usableFromInline
    static let rows: [UInt64] = (0..<256).map { byte in
        var row: UInt64 = 0
        for state in 0..<9 {
            row |= UInt64(next(state, byte) * 6) << UInt64(state * 6)
        }
        return row
    }
}
