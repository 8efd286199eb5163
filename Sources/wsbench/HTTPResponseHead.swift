import Glibc

/// What wsbench needs of an HTTP/1.x response head (SSE stream, poll
/// response): the status, the body's framing and whether the server closes
/// after it. Parsed in place; nothing is allocated unless the head is refused.
struct HTTPResponseHead: Equatable {
    var status: Int
    /// Bytes of the head, the blank line included: the body starts here.
    var length: Int
    var contentLength: Int?
    var isChunked: Bool
    /// `Connection: close`, or HTTP/1.0 without keep-alive: the server ends the connection after this response.
    var closes: Bool

    enum Parse: Equatable {
        case needMore
        case invalid(String)
        case complete(HTTPResponseHead)
    }

    static let maximumSize = 8192

    /// Parses the head at the start of `bytes` (the same prefix each call, growing).
    /// Lines end in CRLF; a bare LF is taken too, as clients commonly do.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Parse {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return .needMore }
        let limit = min(bytes.count, maximumSize)
        var head = HTTPResponseHead(status: 0, length: 0, contentLength: nil, isChunked: false, closes: false)
        var keepAlive = false
        var versionMinor = 1
        var lineStart = 0
        var isStatusLine = true
        while true {
            guard let found = memchr(base + lineStart, 0x0A, limit - lineStart) else {
                return bytes.count >= maximumSize ? .invalid("response head larger than \(maximumSize) bytes") : .needMore
            }
            let lineFeed = UnsafeRawPointer(found) - base
            var lineEnd = lineFeed
            if lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<lineEnd])
            lineStart = lineFeed + 1
            if isStatusLine {
                // HTTP/1.x SP 3DIGIT [SP reason]
                guard line.count >= 12, startsWith(line, "HTTP/1."), line[8] == 0x20,
                      (line.count == 12 || line[12] == 0x20),
                      let status = decimal(UnsafeRawBufferPointer(rebasing: line[9..<12])) else {
                    return .invalid("malformed status line")
                }
                versionMinor = Int(line[7]) - 48
                head.status = status
                isStatusLine = false
                continue
            }
            if line.isEmpty {
                head.length = lineStart
                head.closes = head.closes || (versionMinor == 0 && !keepAlive)
                return .complete(head)
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
                return .invalid("malformed header line")
            }
            let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
            let value = trimmed(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
            if equalsIgnoringCase(name, "content-length") {
                guard let length = decimal(value) else { return .invalid("bad Content-Length") }
                head.contentLength = length
            } else if equalsIgnoringCase(name, "transfer-encoding") {
                // The last coding is the one that frames the body.
                head.isChunked = value.count >= 7 && equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: value[(value.count - 7)...]), "chunked")
            } else if equalsIgnoringCase(name, "connection") {
                forEachToken(value) { token in
                    if equalsIgnoringCase(token, "close") { head.closes = true }
                    if equalsIgnoringCase(token, "keep-alive") { keepAlive = true }
                }
            }
        }
    }

    private static func startsWith(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        return memcmp(bytes.baseAddress!, prefix.utf8Start, prefix.utf8CodeUnitCount) == 0
    }

    /// `lowercase` must be lowercase ASCII.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for index in 0..<bytes.count {
            let byte = bytes[index]
            let folded = byte >= 65 && byte <= 90 ? byte | 0x20 : byte
            if folded != expected[index] { return false }
        }
        return true
    }

    private static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var start = 0
        var end = bytes.count
        while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
        while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    }

    private static func forEachToken(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        for index in 0...value.count where index == value.count || value[index] == UInt8(ascii: ",") {
            body(trimmed(UnsafeRawBufferPointer(rebasing: value[start..<index])))
            start = index + 1
        }
    }

    /// 1 to 18 ASCII digits.
    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }
}
