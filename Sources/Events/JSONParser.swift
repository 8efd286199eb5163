import WebSocketCodec

/// Why some bytes are not one JSON value.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// Where in the input the problem was found.
    public let offset: Int

    public var description: String { "\(message) at byte \(offset)" }
}

extension JSON {
    /// Parses exactly one JSON value (RFC 8259), surrounded by nothing but
    /// whitespace. Nesting deeper than `maxDepth` is an error, so hostile
    /// input costs its length and no more. Objects of the single member
    /// `$binary` with a Base64 string become `.binary`.
    public init(parsing bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) throws(JSONError) {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        self = try parser.parseDocument()
    }

    public init(parsing bytes: [UInt8], maxDepth: Int = 64) throws(JSONError) {
        var result: Result<JSON, JSONError> = .success(.null)
        bytes.withUnsafeBytes { buffer in
            do throws(JSONError) { result = .success(try JSON(parsing: buffer, maxDepth: maxDepth)) } catch { result = .failure(error) }
        }
        self = try result.get()
    }

    public init(parsing text: String, maxDepth: Int = 64) throws(JSONError) {
        try self.init(parsing: Array(text.utf8), maxDepth: maxDepth)
    }
}

/// A recursive-descent parser over bytes; one per document.
struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var offset = 0
    var depth = 0

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSON {
        guard UTF8Validator.isValid(bytes) else { throw fail("not UTF-8") }
        let value = try parseValue()
        skipWhitespace()
        guard offset == bytes.count else { throw fail("unexpected text after the value") }
        return value
    }

    private func fail(_ message: String) -> JSONError { JSONError(message: message, offset: offset) }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONError) -> JSON {
        skipWhitespace()
        guard offset < bytes.count else { throw fail("a value is missing") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character")
        }
    }

    private mutating func expect(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw fail("unexpected end") }
        for index in 0..<count where bytes[offset + index] != word.utf8Start[index] {
            throw fail("unexpected character")
        }
        offset += count
    }

    private mutating func enter() throws(JSONError) {
        depth += 1
        guard depth <= maxDepth else { throw fail("nested deeper than \(maxDepth)") }
    }

    private mutating func parseArray() throws(JSONError) -> JSON {
        try enter()
        offset += 1
        var values: [JSON] = []
        skipWhitespace()
        if offset < bytes.count && bytes[offset] == UInt8(ascii: "]") {
            offset += 1
            depth -= 1
            return .array(values)
        }
        while true {
            values.append(try parseValue())
            skipWhitespace()
            guard offset < bytes.count else { throw fail("an array is not closed") }
            let byte = bytes[offset]
            offset += 1
            if byte == UInt8(ascii: "]") { break }
            guard byte == UInt8(ascii: ",") else { offset -= 1; throw fail("expected , or ]") }
        }
        depth -= 1
        return .array(values)
    }

    private mutating func parseObject() throws(JSONError) -> JSON {
        try enter()
        offset += 1
        var members: [(String, JSON)] = []
        skipWhitespace()
        if offset < bytes.count && bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw fail("expected :") }
            offset += 1
            members.append((key, try parseValue()))
            skipWhitespace()
            guard offset < bytes.count else { throw fail("an object is not closed") }
            let byte = bytes[offset]
            offset += 1
            if byte == UInt8(ascii: "}") { break }
            guard byte == UInt8(ascii: ",") else { offset -= 1; throw fail("expected , or }") }
        }
        depth -= 1
        if members.count == 1, members[0].0 == "$binary", case .string(let text) = members[0].1, let decoded = Base64.decode(text) {
            return .binary(decoded)
        }
        return .object(members)
    }

    private mutating func parseString() throws(JSONError) -> String {
        offset += 1  // the opening quote
        var out: [UInt8] = []
        var runStart = offset
        while true {
            guard offset < bytes.count else { throw fail("a string is not closed") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                out += bytes[runStart..<offset]
                offset += 1
                return String(decoding: out, as: UTF8.self)
            }
            if byte < 0x20 { throw fail("a control character in a string") }
            guard byte == UInt8(ascii: "\\") else {
                offset += 1
                continue
            }
            out += bytes[runStart..<offset]
            offset += 1
            guard offset < bytes.count else { throw fail("a string is not closed") }
            let escaped = bytes[offset]
            offset += 1
            switch escaped {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"): appendScalar(try parseEscapedScalar(), to: &out)
            default: offset -= 1; throw fail("an unknown escape")
            }
            runStart = offset
        }
    }

    /// `\uXXXX`, or a surrogate pair of two; a lone surrogate becomes U+FFFD, as JavaScript's decoders do.
    private mutating func parseEscapedScalar() throws(JSONError) -> Unicode.Scalar {
        let high = try parseHex4()
        guard (0xD800...0xDBFF).contains(high) else {
            return Unicode.Scalar(high) ?? "\u{FFFD}"
        }
        guard offset + 6 <= bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else { return "\u{FFFD}" }
        let saved = offset
        offset += 2
        let low = try parseHex4()
        guard (0xDC00...0xDFFF).contains(low) else {
            offset = saved
            return "\u{FFFD}"
        }
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}"
    }

    private mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw fail("a \\u escape is cut short") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    private func appendScalar(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        for unit in UTF8.encode(scalar)! { out.append(unit) }
    }

    private mutating func parseNumber() throws(JSONError) -> Double {
        let start = offset
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard offset < bytes.count, isDigit(bytes[offset]) else { throw fail("a number needs a digit") }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else {
            while offset < bytes.count && isDigit(bytes[offset]) { offset += 1 }
        }
        if offset < bytes.count && bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard offset < bytes.count, isDigit(bytes[offset]) else { throw fail("a fraction needs a digit") }
            while offset < bytes.count && isDigit(bytes[offset]) { offset += 1 }
        }
        if offset < bytes.count && (bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E")) {
            offset += 1
            if offset < bytes.count && (bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-")) { offset += 1 }
            guard offset < bytes.count, isDigit(bytes[offset]) else { throw fail("an exponent needs a digit") }
            while offset < bytes.count && isDigit(bytes[offset]) { offset += 1 }
        }
        let text = String(decoding: bytes[start..<offset], as: UTF8.self)
        guard let value = Double(text) else { throw JSONError(message: "not a number", offset: start) }
        return value
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
