// Incremental parser of an HTTP/1.x request head, fed the whole accumulated bytes on every call.
//
// Decisions: lines must end in CRLF (a bare LF is a 400); HTTP/1.0 and 1.1 are accepted, another
// HTTP/1.x minor is accepted as is, another major version is a 505; obs-fold is a 400.

public enum HTTPHeadParseResult: Sendable {
    case needMore
    /// The head is the first `headLength` bytes; what follows belongs to the body or the next protocol.
    case complete(HTTPRequestHead, headLength: Int)
    /// Answer with this status and close.
    case invalid(status: Int, reason: String)
}

public struct HTTPHeadParser: Sendable {
    public var maxHeadSize: Int
    private var scanner = HTTPHeadScanner()

    public init(maxHeadSize: Int = 8192) {
        self.maxHeadSize = maxHeadSize
    }

    /// Parses `accumulated`, the bytes received so far for this head (the same prefix each call,
    /// longer each time). Only bytes not seen before are scanned for the end of the head.
    /// After `.complete` or `.invalid` the parser starts over, ready for the next head.
    /// The head is stored in storage `recycler` kept, when it has some (see `HTTPHeadRecycler`).
    public mutating func parse(_ accumulated: UnsafeRawBufferPointer, reusing recycler: HTTPHeadRecycler? = nil) -> HTTPHeadParseResult {
        let limited = UnsafeRawBufferPointer(rebasing: accumulated[..<Swift.min(accumulated.count, maxHeadSize)])
        switch scanner.scan(limited) {
        case .needMore:
            if accumulated.count >= maxHeadSize {  // the limit is reached without the end of the head
                return reset(.invalid(status: 431, reason: "request head larger than \(maxHeadSize) bytes"))
            }
            return .needMore
        case .bareLF:
            return reset(.invalid(status: 400, reason: "line ending without CR"))
        case .complete(let length):
            return reset(Self.parseHead(UnsafeRawBufferPointer(rebasing: accumulated[..<length]), reusing: recycler))
        }
    }

    /// Forgets the scan position (for a new accumulation).
    public mutating func reset() {
        scanner = HTTPHeadScanner()
    }

    private mutating func reset(_ result: HTTPHeadParseResult) -> HTTPHeadParseResult {
        reset()
        return result
    }

    /// `head` ends with CRLFCRLF and has only CRLF line ends.
    static func parseHead(_ head: UnsafeRawBufferPointer, reusing recycler: HTTPHeadRecycler?) -> HTTPHeadParseResult {
        let lineEnd = HTTPSyntax.lineEnd(head, from: 0)
        // request-line = method SP request-target SP HTTP-version
        var i = 0
        while i < lineEnd && HTTPSyntax.isTokenByte(head[i]) { i += 1 }
        let methodEnd = i
        guard methodEnd > 0, i < lineEnd, head[i] == 0x20 else {
            return .invalid(status: 400, reason: "malformed request line")
        }
        i += 1
        let targetStart = i
        while i < lineEnd && head[i] > 0x20 && head[i] < 0x7F { i += 1 }
        let targetEnd = i
        guard targetEnd > targetStart, i < lineEnd, head[i] == 0x20 else {
            return .invalid(status: 400, reason: "malformed request target")
        }
        i += 1
        guard let (major, minor) = version(head, i..<lineEnd) else {
            return .invalid(status: 400, reason: "malformed HTTP version")
        }
        guard major == 1 else { return .invalid(status: 505, reason: "HTTP version \(major).\(minor) not supported") }
        guard let request = HTTPRequestHead(parsed: head, fieldsStart: lineEnd + 2, methodEnd: methodEnd,
                                            target: targetStart..<targetEnd, versionMinor: minor, reusing: recycler) else {
            return .invalid(status: 400, reason: "malformed header line")
        }
        return .complete(request, headLength: head.count)
    }

    /// "HTTP/" DIGIT "." DIGIT filling exactly `range`.
    static func version(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> (major: Int, minor: Int)? {
        guard range.count == 8 else { return nil }
        let s = range.lowerBound
        for (k, expected) in "HTTP/".utf8.enumerated() where bytes[s + k] != expected { return nil }
        let major = bytes[s + 5], dot = bytes[s + 6], minor = bytes[s + 7]
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard digits.contains(major), dot == UInt8(ascii: "."), digits.contains(minor) else { return nil }
        return (Int(major - UInt8(ascii: "0")), Int(minor - UInt8(ascii: "0")))
    }
}
