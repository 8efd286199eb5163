// HTTP/1.1 head syntax shared by the request parser and the client handshake (RFC 9112).
// Lines must end in CRLF: a bare LF is rejected rather than tolerated, because every WebSocket
// client sends CRLF and accepting both invites request-smuggling disagreements with proxies.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds the end of a head (the CRLFCRLF) in bytes that grow between calls, scanning each byte once.
struct HTTPHeadScanner: Sendable {
    /// Bytes already examined; every LF before this was preceded by CR and ended no empty line.
    var scanned = 0

    enum Outcome {
        case needMore
        /// The head is `0..<length`, ending with CRLFCRLF.
        case complete(length: Int)
        case bareLF
    }

    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        if bytes.count < scanned { scanned = 0 }  // not the same accumulation: start over
        guard let base = bytes.baseAddress else { return .needMore }
        let cr = UInt8(ascii: "\r")
        let lf = UInt8(ascii: "\n")
        while scanned < bytes.count {
            // memchr finds the next LF a vector at a time.
            guard let hit = memchr(base + scanned, Int32(lf), bytes.count - scanned) else {
                scanned = bytes.count
                return .needMore
            }
            let index = UnsafeRawPointer(hit) - base
            if index == 0 || bytes[index - 1] != cr { return .bareLF }
            scanned = index + 1
            if index >= 3 && bytes[index - 2] == lf { return .complete(length: index + 1) }
        }
        return .needMore
    }
}

enum HTTPSyntax {
    /// RFC 9110 tchar: the bytes allowed in a method or a header name.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Offset of the CR of the CRLF that ends the line starting at `start` (the head was scanned, so
    /// it exists and every LF follows a CR). Found by the LF: a lone CR stays inside the line, where
    /// the syntax checks reject it.
    static func lineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var i = start
        while bytes[i] != UInt8(ascii: "\n") { i += 1 }
        return i - 1
    }

    /// How many header lines a checked head (CRLF line ends only, ending in the empty line) has
    /// from `start`: one per LF, less the empty line's.
    static func fieldLineCount(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var lineFeeds = 0
        for i in start..<bytes.count where bytes[i] == UInt8(ascii: "\n") { lineFeeds += 1 }
        return lineFeeds - 1
    }

    enum FieldsParse: Equatable {
        /// This many header lines, up to the empty line.
        case parsed(Int)
        /// `fields` filled up before the empty line.
        case moreThanFit
        /// obs-fold (a line starting with SP/HTAB), an empty or non-token name, whitespace
        /// before the colon, or a control character in a value.
        case malformed
    }

    /// Parses the header lines of a checked head from `start` up to its empty line into
    /// `fields`: where each name and (trimmed) value sits.
    static func parseFields(_ bytes: UnsafeRawBufferPointer, from start: Int, into fields: UnsafeMutableBufferPointer<HTTPRequestHead.Field>) -> FieldsParse {
        var lineStart = start
        var count = 0
        while true {
            let end = lineEnd(bytes, from: lineStart)
            if end == lineStart { return .parsed(count) }  // the empty line
            guard count < fields.count else { return .moreThanFit }
            var colon = lineStart
            while colon < end && bytes[colon] != UInt8(ascii: ":") {
                guard isTokenByte(bytes[colon]) else { return .malformed }
                colon += 1
            }
            guard colon < end, colon > lineStart else { return .malformed }
            var valueStart = colon + 1
            var valueEnd = end
            while valueStart < valueEnd && (bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09) { valueStart += 1 }
            while valueEnd > valueStart && (bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09) { valueEnd -= 1 }
            for i in valueStart..<valueEnd {
                let byte = bytes[i]
                if (byte < 0x20 && byte != 0x09) || byte == 0x7F { return .malformed }
            }
            fields[count] = HTTPRequestHead.Field(nameStart: Int32(lineStart), nameEnd: Int32(colon),
                                                  valueStart: Int32(valueStart), valueEnd: Int32(valueEnd))
            count += 1
            lineStart = end + 2
        }
    }

    static func equalsIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        // Header names differ in length far more often than not: that test is O(1) for native strings.
        guard a.utf8.count == b.utf8.count else { return false }
        let contiguous = a.utf8.withContiguousStorageIfAvailable { left in
            b.utf8.withContiguousStorageIfAvailable { right in
                for i in 0..<left.count where lowercased(left[i]) != lowercased(right[i]) { return false }
                return true
            }
        }
        if let result = contiguous ?? nil { return result }
        return a.utf8.elementsEqual(b.utf8) { lowercased($0) == lowercased($1) }
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Calls `body` with each comma-separated list element of `value`, trimmed of SP/HTAB, empty
    /// elements skipped (RFC 9110 §5.6.1). Stops when `body` returns false.
    static func forEachListElement(_ value: String, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var value = value
        value.withUTF8 { forEachListElement(UnsafeRawBufferPointer($0), body) }
    }

    /// The same, of a value's bytes.
    static func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Bool) {
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: ",") {
            var s = start
            var e = i
            while s < e && (bytes[s] == 0x20 || bytes[s] == 0x09) { s += 1 }
            while e > s && (bytes[e - 1] == 0x20 || bytes[e - 1] == 0x09) { e -= 1 }
            start = i + 1
            if e > s && !body(UnsafeRawBufferPointer(rebasing: bytes[s..<e])) { return }
        }
    }

    /// The elements of a list, optionally ASCII-lowercased.
    static func listElements(_ value: String, lowercase: Bool) -> [String] {
        var elements: [String] = []
        forEachListElement(value) { element in
            if lowercase {
                elements.append(String(unsafeUninitializedCapacity: element.count) { out in
                    for (index, byte) in element.enumerated() { out[index] = lowercased(byte) }
                    return element.count
                })
            } else {
                elements.append(String(decoding: element, as: UTF8.self))
            }
            return true
        }
        return elements
    }

    /// Whether `element` equals `token`, ignoring ASCII case.
    static func equalsIgnoringASCIICase(_ element: UnsafeRawBufferPointer, _ token: String) -> Bool {
        guard element.count == token.utf8.count else { return false }
        return element.elementsEqual(token.utf8) { lowercased($0) == lowercased($1) }
    }

    /// A start line and header lines, each ending in CRLF (the blank line is left to the caller).
    static func writeHead(into out: inout [UInt8], statusLine: String, headers: [(String, String)]) {
        out += statusLine.utf8
        out += [0x0D, 0x0A]
        for (name, value) in headers {
            out += name.utf8
            out += [UInt8(ascii: ":"), 0x20]
            out += value.utf8
            out += [0x0D, 0x0A]
        }
    }
}
