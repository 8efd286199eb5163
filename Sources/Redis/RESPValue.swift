/// One reply from Redis, in any RESP2 or RESP3 type.
///
/// RESP2's two nulls (`$-1`, `*-1`) and RESP3's `_` are all `.null`. A blob
/// error (`!`) is an `.error` like a simple one. Attributes (`|`) are not
/// values: the reader keeps those of a top-level reply aside (see
/// `RESPReader.attributes`).
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    /// "CODE message", as Redis sent it (`ERR`, `WRONGTYPE`, `NOSCRIPT`…).
    case error(String)
    case integer(Int64)
    case bulkString([UInt8])
    case null
    case double(Double)
    case boolean(Bool)
    /// Digits, with a leading `-` when negative.
    case bigNumber(String)
    /// `format` is three characters (`txt`, `mkd`).
    case verbatimString(format: String, text: [UInt8])
    case array([RESPValue])
    case map([RESPPair])
    case set([RESPValue])
    /// Out of band (RESP3): pub/sub messages, subscription confirmations,
    /// client-side caching invalidations. Never the reply to a command.
    case push([RESPValue])
}

/// One entry of a RESP3 map (or attribute), in the order Redis sent it.
public struct RESPPair: Sendable, Hashable {
    public var key: RESPValue
    public var value: RESPValue

    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The text of a simple, bulk or verbatim string (bulk bytes decoded as UTF-8).
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        case .verbatimString(_, let text): String(decoding: text, as: UTF8.self)
        default: nil
        }
    }

    /// The bytes of a bulk, simple or verbatim string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        case .verbatimString(_, let text): text
        default: nil
        }
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements of an array, set or push.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let elements), .set(let elements), .push(let elements): elements
        default: nil
        }
    }

    /// A RESP3 map's entries, or a RESP2 array of alternating keys and
    /// values (how RESP2 answers HGETALL, HELLO, XREAD), as pairs.
    public var pairs: [RESPPair]? {
        switch self {
        case .map(let pairs):
            return pairs
        case .array(let flat) where flat.count % 2 == 0:
            return stride(from: 0, to: flat.count, by: 2).map { RESPPair(flat[$0], flat[$0 + 1]) }
        default:
            return nil
        }
    }

    public var isNull: Bool { self == .null }

    /// The error's text, when this is an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

extension RESPValue: CustomStringConvertible {
    /// Short and readable, for logs and test failures: strings quoted,
    /// binary bytes escaped.
    public var description: String {
        switch self {
        case .simpleString(let text): text
        case .error(let message): "(error) \(message)"
        case .integer(let value): "(integer) \(value)"
        case .bulkString(let bytes): Self.quoted(bytes)
        case .null: "(nil)"
        case .double(let value): "(double) \(value)"
        case .boolean(let value): "(boolean) \(value)"
        case .bigNumber(let digits): "(big number) \(digits)"
        case .verbatimString(let format, let text): "(\(format)) \(Self.quoted(text))"
        case .array(let elements): "[\(elements.map(\.description).joined(separator: ", "))]"
        case .set(let elements): "(set) [\(elements.map(\.description).joined(separator: ", "))]"
        case .push(let elements): "(push) [\(elements.map(\.description).joined(separator: ", "))]"
        case .map(let pairs): "{\(pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}"
        }
    }

    private static func quoted(_ bytes: [UInt8]) -> String {
        var text = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): text += "\\" + String(UnicodeScalar(byte))
            case 0x20..<0x7F: text.unicodeScalars.append(UnicodeScalar(byte))
            default: text += "\\x" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
            }
        }
        return text + "\""
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
