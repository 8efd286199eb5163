import Glibc

/// Just enough JSON scanning to read poll responses in place: positions in,
/// positions out, nothing decoded that is not needed and nothing allocated.
/// Each scan of bytes `index..<end` returns the index after what it
/// scanned, or `incomplete` when more bytes could finish it (`complete`:
/// there are none), or `invalid`.
enum JSONScan {
    static let incomplete = -1
    static let invalid = -2

    @inline(__always)
    static func skipSpace(_ base: UnsafeRawPointer, _ index: Int, _ end: Int) -> Int {
        var index = index
        while index < end {
            switch base.load(fromByteOffset: index, as: UInt8.self) {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return index
            }
        }
        return index
    }

    /// A string whose opening quote is at `index`. `escaped` is set when it
    /// holds a backslash: its bytes are then not its value.
    @inline(__always)
    static func string(_ base: UnsafeRawPointer, _ index: Int, _ end: Int, escaped: inout Bool) -> Int {
        var from = index + 1
        while from < end {
            guard let quote = memchr(base + from, Int32(UInt8(ascii: "\"")), end - from) else { return incomplete }
            let quoteIndex = UnsafeRawPointer(quote) - base
            guard let backslash = memchr(base + from, Int32(UInt8(ascii: "\\")), quoteIndex - from) else { return quoteIndex + 1 }
            // The escaped character (perhaps a quote) is skipped.
            escaped = true
            from = UnsafeRawPointer(backslash) - base + 2
        }
        return incomplete
    }

    /// A non-negative integer of at most 19 digits at `index`.
    @inline(__always)
    static func unsigned(_ base: UnsafeRawPointer, _ index: Int, _ end: Int, complete: Bool) -> (value: UInt64, next: Int) {
        var value: UInt64 = 0
        var position = index
        while position < end {
            let digit = base.load(fromByteOffset: position, as: UInt8.self) &- 48
            guard digit < 10 else { break }
            value = value &* 10 &+ UInt64(digit)
            position += 1
        }
        if position == end && !complete { return (0, incomplete) }
        guard position > index, position - index <= 19 else { return (0, invalid) }
        return (value, position)
    }

    /// `word` (true, false, null) at `index`.
    static func literal(_ base: UnsafeRawPointer, _ index: Int, _ end: Int, _ word: StaticString) -> Int {
        let length = word.utf8CodeUnitCount
        let available = min(length, end - index)
        guard memcmp(base + index, word.utf8Start, available) == 0 else { return invalid }
        return available == length ? index + length : incomplete
    }

    /// Any value at `index`, nested ones included.
    static func skipValue(_ base: UnsafeRawPointer, _ index: Int, _ end: Int, complete: Bool) -> Int {
        guard index < end else { return incomplete }
        switch base.load(fromByteOffset: index, as: UInt8.self) {
        case UInt8(ascii: "\""):
            var escaped = false
            return string(base, index, end, escaped: &escaped)
        case UInt8(ascii: "t"): return literal(base, index, end, "true")
        case UInt8(ascii: "f"): return literal(base, index, end, "false")
        case UInt8(ascii: "n"): return literal(base, index, end, "null")
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var position = index
            while position < end {
                switch base.load(fromByteOffset: position, as: UInt8.self) {
                case UInt8(ascii: "\""):
                    var escaped = false
                    position = string(base, position, end, escaped: &escaped)
                    if position < 0 { return position }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    if depth > 64 { return invalid }
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return position + 1 }
                default:
                    break
                }
                position += 1
            }
            return incomplete
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            var position = index + 1
            while position < end {
                switch base.load(fromByteOffset: position, as: UInt8.self) {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                     UInt8(ascii: "+"), UInt8(ascii: "-"):
                    position += 1
                default:
                    return position
                }
            }
            return complete ? position : incomplete
        default:
            return invalid
        }
    }

    /// Whether the string whose quotes enclose `start..<end` spells `key`.
    @inline(__always)
    static func isKey(_ base: UnsafeRawPointer, _ start: Int, _ end: Int, _ key: StaticString) -> Bool {
        end - start == key.utf8CodeUnitCount && memcmp(base + start, key.utf8Start, end - start) == 0
    }
}
