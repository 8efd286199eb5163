import Glibc

// Incremental RESP2/RESP3 reply reader: bytes in, one complete reply out per call.
//
// The reader consumes everything it is given. A reply that arrives whole is parsed where it lies;
// the parts of one that does not (a line cut before its CRLF, a bulk string still arriving, the
// open aggregates around them) are kept in the reader, so the caller never holds bytes back and a
// reply may be larger than any receive buffer. No recursion: open aggregates are an explicit
// stack, so any split point resumes exactly where it stopped.
//
// Bounded: a declared length or count over `RESPLimits`, nesting deeper than allowed, a line that
// never ends, or bytes that are not RESP fail with a `RESPProtocolError` before anything is
// allocated for them. Memory grows only with bytes actually received.

/// Bounds on what one reply may declare. The defaults suit Redis as a
/// message bus: far above any reply it sends there, far below harm.
public struct RESPLimits: Sendable, Equatable {
    /// Longest bulk string, blob error or verbatim string (Redis's own cap
    /// on a value is 512 MiB; this side has no use for such a reply).
    public var maxBulkLength: Int = 64 * 1024 * 1024
    /// Most elements one array, set or push may declare (a map: entries).
    public var maxAggregateLength: Int = 16 * 1024 * 1024
    /// Deepest nesting of aggregates (XREAD's reply is four deep).
    public var maxDepth: Int = 32
    /// Longest header or simple line (simple strings, errors, numbers).
    public var maxLineLength: Int = 64 * 1024

    public init() {}
}

/// The peer sent bytes that are not RESP, or more than the limits allow.
/// The connection cannot be trusted afterwards.
public struct RESPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { "RESP protocol error: \(reason)" }
}

public struct RESPReader {
    public var limits: RESPLimits

    /// Attributes (RESP3 `|`) sent before the reply `read` last returned,
    /// or nil when it had none. Attributes nested inside an aggregate are
    /// skipped, as the protocol allows a client to.
    public private(set) var attributes: [RESPPair]?

    /// An aggregate whose elements are still arriving.
    private struct Open {
        enum Kind { case array, map, set, push, attribute }
        let kind: Kind
        /// Elements still expected (a map or attribute counts keys and values).
        var remaining: Int
        var elements: [RESPValue]
    }

    /// A bulk string, blob error or verbatim string arriving over several reads.
    private struct Blob {
        enum Kind { case string, error, verbatim }
        let kind: Kind
        var remaining: Int
        var bytes: [UInt8]
        /// How many bytes of the closing CRLF have been seen.
        var terminator = 0
    }

    private var stack: [Open] = []
    private var blob: Blob?
    /// A line cut before its LF: what arrived of it.
    private var line: [UInt8] = []
    private var pendingAttributes: [RESPPair]?
    private var failure: RESPProtocolError?

    public init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    /// True between replies: nothing partial is held.
    public var isIdle: Bool { stack.isEmpty && blob == nil && line.isEmpty && pendingAttributes == nil }

    private static var cr: UInt8 { 13 }
    private static var lf: UInt8 { 10 }

    /// Parses from the start of `input`. Returns the first reply completed
    /// and how many bytes of `input` it took; call again with the rest. A nil
    /// value means every byte was consumed and the reply is not complete yet:
    /// the reader kept what it needs. After an error every call fails again.
    public mutating func read(_ input: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (value: RESPValue?, consumed: Int) {
        if let failure { throw failure }
        do {
            return try parse(input)
        } catch {
            failure = error
            stack = []
            blob = nil
            line = []
            throw error
        }
    }

    private mutating func parse(_ input: UnsafeRawBufferPointer) throws(RESPProtocolError) -> (value: RESPValue?, consumed: Int) {
        guard let base = input.baseAddress, !input.isEmpty else { return (nil, 0) }
        let total = input.count
        var offset = 0
        while offset < total {
            if blob != nil {
                let finished = try continueBlob(base, from: &offset, total: total)
                guard let value = finished else { return (nil, offset) }
                if let reply = finish(value) { return (reply, offset) }
                continue
            }
            // The next header line.
            let rest = UnsafeRawBufferPointer(start: base + offset, count: total - offset)
            guard let found = memchr(base + offset, Int32(Self.lf), total - offset) else {
                guard line.count + rest.count <= limits.maxLineLength else {
                    throw RESPProtocolError("a line longer than \(limits.maxLineLength) bytes")
                }
                line.append(contentsOf: rest)
                return (nil, total)
            }
            let newline = UnsafeRawPointer(found) - (base + offset)
            let value: RESPValue?
            if line.isEmpty {
                value = try header(UnsafeRawBufferPointer(rebasing: rest[0..<newline]), base, after: offset + newline + 1, total: total, offset: &offset)
            } else {
                guard line.count + newline <= limits.maxLineLength else {
                    throw RESPProtocolError("a line longer than \(limits.maxLineLength) bytes")
                }
                var joined = line
                line = []
                joined.append(contentsOf: rest[0..<newline])
                let lineEnd = offset + newline + 1
                let result = joined.withUnsafeBytes { joinedBytes -> Result<RESPValue?, RESPProtocolError> in
                    do throws(RESPProtocolError) {
                        return .success(try header(joinedBytes, base, after: lineEnd, total: total, offset: &offset))
                    } catch {
                        return .failure(error)
                    }
                }
                value = try result.get()
            }
            if let value, let reply = finish(value) { return (reply, offset) }
        }
        return (nil, offset)
    }

    /// Handles one header line (without its LF) and sets `offset` past what
    /// it used: the line, and a bulk body when the whole of it is at hand.
    /// Returns a value when the line (with its body) completes one.
    private mutating func header(
        _ rawLine: UnsafeRawBufferPointer, _ base: UnsafeRawPointer, after lineEnd: Int, total: Int, offset: inout Int
    ) throws(RESPProtocolError) -> RESPValue? {
        offset = lineEnd
        guard rawLine.last == Self.cr else { throw RESPProtocolError("a line that does not end in CRLF") }
        guard rawLine.count >= 2 else { throw RESPProtocolError("an empty line") }
        let type = rawLine[0]
        let text = UnsafeRawBufferPointer(rebasing: rawLine[1..<(rawLine.count - 1)])
        switch type {
        case UInt8(ascii: "+"):
            return .simpleString(String(decoding: text, as: UTF8.self))
        case UInt8(ascii: "-"):
            return .error(String(decoding: text, as: UTF8.self))
        case UInt8(ascii: ":"):
            return .integer(try Self.integer(text, what: "integer"))
        case UInt8(ascii: "_"):
            guard text.isEmpty else { throw RESPProtocolError("a null with content") }
            return .null
        case UInt8(ascii: "#"):
            guard text.count == 1, text[0] == UInt8(ascii: "t") || text[0] == UInt8(ascii: "f") else {
                throw RESPProtocolError("a boolean that is not t or f")
            }
            return .boolean(text[0] == UInt8(ascii: "t"))
        case UInt8(ascii: ","):
            guard !text.isEmpty, let value = Double(String(decoding: text, as: UTF8.self)) else {
                throw RESPProtocolError("a double that is not a number")
            }
            return .double(value)
        case UInt8(ascii: "("):
            let digits = text.first == UInt8(ascii: "-") ? UnsafeRawBufferPointer(rebasing: text[1...]) : text
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                throw RESPProtocolError("a big number that is not digits")
            }
            return .bigNumber(String(decoding: text, as: UTF8.self))
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            let kind: Blob.Kind = type == UInt8(ascii: "$") ? .string : type == UInt8(ascii: "!") ? .error : .verbatim
            let length = try self.length(text, allowsNull: kind == .string, limit: limits.maxBulkLength, what: "bulk")
            guard length >= 0 else { return .null }
            if kind == .verbatim && length < 4 { throw RESPProtocolError("a verbatim string shorter than its format") }
            if total - offset >= length + 2 {
                // The whole body is here: take it where it lies.
                guard base.load(fromByteOffset: offset + length, as: UInt8.self) == Self.cr,
                      base.load(fromByteOffset: offset + length + 1, as: UInt8.self) == Self.lf else {
                    throw RESPProtocolError("a bulk string not followed by CRLF")
                }
                let body = UnsafeRawBufferPointer(start: base + offset, count: length)
                offset += length + 2
                return try Self.blobValue(kind, Array(body))
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Swift.min(length, 64 * 1024))  // grows with what arrives, not with what is declared
            blob = Blob(kind: kind, remaining: length, bytes: bytes)
            return nil
        case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "|"):
            let kind: Open.Kind = switch type {
            case UInt8(ascii: "*"): .array
            case UInt8(ascii: "%"): .map
            case UInt8(ascii: "~"): .set
            case UInt8(ascii: ">"): .push
            default: .attribute
            }
            let count = try length(text, allowsNull: kind == .array, limit: limits.maxAggregateLength, what: "aggregate")
            guard count >= 0 else { return .null }
            let elements = kind == .map || kind == .attribute ? count * 2 : count
            if elements == 0 {
                if kind == .attribute { return nil }
                return Self.aggregateValue(kind, [])
            }
            guard stack.count < limits.maxDepth else {
                throw RESPProtocolError("aggregates nested deeper than \(limits.maxDepth)")
            }
            var open = Open(kind: kind, remaining: elements, elements: [])
            open.elements.reserveCapacity(Swift.min(elements, 1024))
            stack.append(open)
            return nil
        case UInt8(ascii: ";"), UInt8(ascii: "."):
            throw Self.streamed
        default:
            throw RESPProtocolError("unknown type byte 0x\(String(type, radix: 16))")
        }
    }

    /// Moves bytes into the blob being read; its value once complete.
    private mutating func continueBlob(_ base: UnsafeRawPointer, from offset: inout Int, total: Int) throws(RESPProtocolError) -> RESPValue? {
        guard var current = blob else { return nil }
        blob = nil  // modified as a local: the array is not copied
        let take = Swift.min(current.remaining, total - offset)
        if take > 0 {
            current.bytes.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: take))
            current.remaining -= take
            offset += take
        }
        while current.remaining == 0 && current.terminator < 2 && offset < total {
            let expected = current.terminator == 0 ? Self.cr : Self.lf
            guard base.load(fromByteOffset: offset, as: UInt8.self) == expected else {
                throw RESPProtocolError("a bulk string not followed by CRLF")
            }
            current.terminator += 1
            offset += 1
        }
        guard current.remaining == 0 && current.terminator == 2 else {
            blob = current
            return nil
        }
        return try Self.blobValue(current.kind, current.bytes)
    }

    /// Adds a completed value to the innermost open aggregate, closing every
    /// aggregate it completes. Returns the top-level reply once there is one.
    private mutating func finish(_ value: RESPValue) -> RESPValue? {
        // A top-level reply leaves before the loop below, whose uniqueness check on the (empty)
        // stack would otherwise allocate a fresh buffer for every reply.
        guard !stack.isEmpty else { return topLevel(value) }
        var value = value
        while !stack.isEmpty {
            let last = stack.count - 1
            stack[last].elements.append(value)
            stack[last].remaining -= 1
            if stack[last].remaining > 0 { return nil }
            let closed = stack.removeLast()
            if closed.kind == .attribute {
                // Not a value: it annotates the next one.
                if stack.isEmpty { pendingAttributes = Self.pairs(closed.elements) }
                return nil
            }
            value = Self.aggregateValue(closed.kind, closed.elements)
        }
        return topLevel(value)
    }

    private mutating func topLevel(_ value: RESPValue) -> RESPValue {
        if attributes != nil || pendingAttributes != nil {
            attributes = pendingAttributes
            pendingAttributes = nil
        }
        return value
    }

    private static func aggregateValue(_ kind: Open.Kind, _ elements: [RESPValue]) -> RESPValue {
        switch kind {
        case .array: .array(elements)
        case .set: .set(elements)
        case .push: .push(elements)
        case .map, .attribute: .map(pairs(elements))
        }
    }

    private static func pairs(_ flat: [RESPValue]) -> [RESPPair] {
        stride(from: 0, to: flat.count, by: 2).map { RESPPair(flat[$0], flat[$0 + 1]) }
    }

    private static func blobValue(_ kind: Blob.Kind, _ bytes: [UInt8]) throws(RESPProtocolError) -> RESPValue {
        switch kind {
        case .string:
            return .bulkString(bytes)
        case .error:
            return .error(String(decoding: bytes, as: UTF8.self))
        case .verbatim:
            guard bytes[3] == UInt8(ascii: ":") else { throw RESPProtocolError("a verbatim string without its format") }
            return .verbatimString(format: String(decoding: bytes[0..<3], as: UTF8.self), text: Array(bytes[4...]))
        }
    }

    /// A length or count: digits, or -1 (RESP2's null) where allowed.
    private func length(_ text: UnsafeRawBufferPointer, allowsNull: Bool, limit: Int, what: String) throws(RESPProtocolError) -> Int {
        if allowsNull && text.count == 2 && text[0] == UInt8(ascii: "-") && text[1] == UInt8(ascii: "1") { return -1 }
        if text.count == 1 && text[0] == UInt8(ascii: "?") { throw Self.streamed }
        guard !text.isEmpty else { throw RESPProtocolError("the \(what) length is not a count") }
        // Over 18 digits is over any limit; up to 18 cannot overflow, so the loop needs no checks
        // but the digits' (a longer run that wraps fails on its non-digit, or above).
        if text.count > 18 && text.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) {
            throw RESPProtocolError("the \(what) length is over the limit of \(limit)")
        }
        var value = 0
        for byte in text {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else {
                throw RESPProtocolError(byte == UInt8(ascii: "-") ? "the \(what) length is negative" : "the \(what) length is not a count")
            }
            value = value &* 10 &+ Int(digit)
        }
        guard value <= limit else { throw RESPProtocolError("the \(what) length is over the limit of \(limit)") }
        return value
    }

    private static var streamed: RESPProtocolError {
        RESPProtocolError("streamed strings and aggregates are not supported (Redis does not send them)")
    }

    private static func integer(_ text: UnsafeRawBufferPointer, what: String) throws(RESPProtocolError) -> Int64 {
        var index = 0
        let negative = text.first == UInt8(ascii: "-")
        if negative || text.first == UInt8(ascii: "+") { index = 1 }
        let digits = text.count - index
        guard digits > 0 else { throw RESPProtocolError("an \(what) without digits") }
        var magnitude: UInt64 = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw RESPProtocolError("an \(what) that is not digits") }
            if digits < 19 {
                magnitude = magnitude &* 10 &+ UInt64(digit)  // 18 digits cannot overflow
            } else {
                let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (next, overflow2) = shifted.addingReportingOverflow(UInt64(digit))
                guard !overflow1 && !overflow2 else { throw RESPProtocolError("an \(what) out of 64-bit range") }
                magnitude = next
            }
            index += 1
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw RESPProtocolError("an \(what) out of 64-bit range") }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw RESPProtocolError("an \(what) out of 64-bit range") }
        return Int64(magnitude)
    }
}
