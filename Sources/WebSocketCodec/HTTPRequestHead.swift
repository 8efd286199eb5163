// A parsed HTTP/1.x request head: request line and header fields, no body.
//
// The head's bytes are kept in one allocation with where each part sits;
// names, values and the target become Strings only when asked for. A
// handshake storm parses one head per connection: a String per header would
// be some twenty allocations each (a browser sends a dozen headers, most
// longer than the 15 bytes a String holds inline), where this is one.

public struct HTTPRequestHead: Sendable {
    /// Where one header's name and value sit in the head (value trimmed of SP/HTAB).
    struct Field: Sendable {
        var nameStart: Int32
        var nameEnd: Int32
        var valueStart: Int32
        var valueEnd: Int32
    }

    /// Never written while a head holds it (ManagedBuffer cannot be declared Sendable).
    nonisolated(unsafe) private let storage: HTTPHeadStorage
    private let methodEnd: Int32
    private let targetStart: Int32
    private let targetEnd: Int32
    /// The first '?' of the target, or `targetEnd` when there is none.
    private let questionMark: Int32

    /// 0 or 1 (HTTP/1.0 or HTTP/1.1).
    public let versionMinor: Int

    /// From a head the parser checked (CRLF line ends only, ending in the empty line), its request
    /// line's parts as offsets; the header lines from `fieldsStart` are parsed here. Nil for a
    /// malformed header line.
    init?(parsed head: UnsafeRawBufferPointer, fieldsStart: Int, methodEnd: Int, target: Range<Int>, versionMinor: Int,
          reusing recycler: HTTPHeadRecycler? = nil) {
        // Parsed on the stack, then copied into storage of the exact size (or storage `recycler`
        // kept); a head with more lines than the scratch holds is counted first and parsed in place.
        let made = withUnsafeTemporaryAllocation(of: Field.self, capacity: Self.fieldsParsedOnStack) { scratch -> HTTPHeadStorage? in
            switch HTTPSyntax.parseFields(head, from: fieldsStart, into: scratch) {
            case .malformed:
                return nil
            case .parsed(let count):
                return HTTPHeadStorage.make(copying: head, fieldCount: count, reusing: recycler) { fields in
                    fields.baseAddress?.initialize(from: scratch.baseAddress!, count: count)
                    return true
                }
            case .moreThanFit:
                let count = HTTPSyntax.fieldLineCount(head, from: fieldsStart)
                return HTTPHeadStorage.make(copying: head, fieldCount: count, reusing: recycler) {
                    HTTPSyntax.parseFields(head, from: fieldsStart, into: $0) == .parsed(count)
                }
            }
        }
        guard let storage = made else { return nil }
        self.init(storage: storage, head: head, methodEnd: methodEnd, target: target, versionMinor: versionMinor)
    }

    /// Its storage, when nothing else holds it (for `HTTPHeadRecycler`).
    consuming func unsharedStorage() -> HTTPHeadStorage? {
        var storage = self.storage
        _ = consume self
        return isKnownUniquelyReferenced(&storage) ? storage : nil
    }

    /// 512 bytes of stack: a browser's upgrade has a dozen or so lines.
    private static let fieldsParsedOnStack = 32

    private init(storage: HTTPHeadStorage, head: UnsafeRawBufferPointer, methodEnd: Int, target: Range<Int>, versionMinor: Int) {
        self.storage = storage
        self.methodEnd = Int32(methodEnd)
        targetStart = Int32(target.lowerBound)
        targetEnd = Int32(target.upperBound)
        questionMark = Int32(head[target].firstIndex(of: UInt8(ascii: "?")) ?? target.upperBound)
        self.versionMinor = versionMinor
    }

    /// A head made of parts (tests, and the client's view of a response).
    public init(method: String, target: String, versionMinor: Int, headers: [(name: String, value: String)]) {
        var head: [UInt8] = Array(method.utf8) + [0x20] + Array(target.utf8) + Array(" HTTP/1.\(versionMinor)\r\n".utf8)
        var fields: [Field] = []
        for (name, value) in headers {
            let nameStart = head.count
            head += name.utf8
            let nameEnd = head.count
            head += [UInt8(ascii: ":"), 0x20]
            let valueStart = head.count
            head += value.utf8
            fields.append(Field(nameStart: Int32(nameStart), nameEnd: Int32(nameEnd), valueStart: Int32(valueStart), valueEnd: Int32(head.count)))
            head += [0x0D, 0x0A]
        }
        let methodEnd = method.utf8.count
        self = head.withUnsafeBytes { head in
            let storage = HTTPHeadStorage.make(copying: head, fieldCount: fields.count) { out in
                _ = out.initialize(from: fields)
                return true
            }!
            return HTTPRequestHead(storage: storage, head: head, methodEnd: methodEnd,
                                   target: methodEnd + 1..<methodEnd + 1 + target.utf8.count, versionMinor: versionMinor)
        }
    }

    public var method: String { string(0, methodEnd) }
    /// The request target as sent, e.g. "/chat?room=7".
    public var target: String { string(targetStart, targetEnd) }
    /// The target before the first '?'.
    public var path: String { string(targetStart, questionMark) }
    /// The target after the first '?', nil when there is no '?'.
    public var query: String? { questionMark < targetEnd ? string(questionMark + 1, targetEnd) : nil }

    /// Every header in arrival order, names as sent (made on each call: prefer `header(_:)`).
    public var headers: [(name: String, value: String)] {
        storage.read { bytes, fields in
            fields.map { (Self.string(bytes, $0.nameStart, $0.nameEnd), Self.string(bytes, $0.valueStart, $0.valueEnd)) }
        }
    }

    /// The first value of header `name` (case-insensitive), nil if absent.
    public func header(_ name: String) -> String? {
        withFirstValue(named: name) { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether the head has a header `name` (case-insensitive), without making a String.
    public func hasHeader(_ name: String) -> Bool {
        withFirstValue(named: name) { _ in true } ?? false
    }

    /// `body` of the first value of header `name` (case-insensitive) as bytes valid during the
    /// call, without making a String; nil if absent.
    public func withFirstValue<Result>(named name: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        storage.read { bytes, fields in
            for field in fields where HTTPSyntax.equalsIgnoringASCIICase(Self.slice(bytes, field.nameStart, field.nameEnd), name) {
                return body(Self.slice(bytes, field.valueStart, field.valueEnd))
            }
            return nil
        }
    }

    /// Every header `name` (case-insensitive), in arrival order: nothing is allocated when there is none.
    public func headers(named name: String) -> [(name: String, value: String)] {
        var found: [(name: String, value: String)] = []
        forEachValue(named: name) { found.append((name, String(decoding: $0, as: UTF8.self))) }
        return found
    }

    /// Every element of every `name` header: split on commas, trimmed, empty ones dropped,
    /// case kept. For lists whose case matters, e.g. Sec-WebSocket-Protocol.
    public func headerList(_ name: String) -> [String] {
        var elements: [String] = []
        forEachValue(named: name) { value in
            HTTPSyntax.forEachListElement(value) { elements.append(String(decoding: $0, as: UTF8.self)); return true }
        }
        return elements
    }

    /// `headerList(name)` ASCII-lowercased: for case-insensitive tokens such as Connection and Upgrade.
    public func headerTokens(_ name: String) -> [String] {
        headerList(name).map { element in String(decoding: element.utf8.map(HTTPSyntax.lowercased), as: UTF8.self) }
    }

    /// Whether some `name` header lists `token` (ASCII case-insensitive), without building arrays.
    /// E.g. `hasToken("upgrade", in: "Connection")`.
    public func hasToken(_ token: String, in name: String) -> Bool {
        var found = false
        forEachValue(named: name) { value in
            guard !found else { return }
            HTTPSyntax.forEachListElement(value) { element in
                found = HTTPSyntax.equalsIgnoringASCIICase(element, token)
                return !found
            }
        }
        return found
    }

    /// The body length the request declares: 0 without Content-Length, nil
    /// when the header is not one run of digits, or when several disagree
    /// (RFC 9110 §8.6; a proxy and this server could otherwise read
    /// different bodies, which is how requests get smuggled).
    public var declaredContentLength: Int? {
        let values = headerList("Content-Length")
        guard let first = values.first else { return hasHeader("Content-Length") ? nil : 0 }
        guard values.allSatisfy({ $0 == first }), first.utf8.count <= 18,
              first.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(first)
    }

    // MARK: Reading the buffer

    private func string(_ start: Int32, _ end: Int32) -> String {
        storage.read { bytes, _ in Self.string(bytes, start, end) }
    }

    private static func string(_ bytes: UnsafeRawBufferPointer, _ start: Int32, _ end: Int32) -> String {
        String(decoding: slice(bytes, start, end), as: UTF8.self)
    }

    /// Calls `body` with the value of each header `name`, in order, as bytes valid during the call.
    private func forEachValue(named name: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        storage.read { bytes, fields in
            for field in fields where HTTPSyntax.equalsIgnoringASCIICase(Self.slice(bytes, field.nameStart, field.nameEnd), name) {
                body(Self.slice(bytes, field.valueStart, field.valueEnd))
            }
        }
    }

    private static func slice(_ head: UnsafeRawBufferPointer, _ start: Int32, _ end: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: head[Int(start)..<Int(end)])
    }
}
