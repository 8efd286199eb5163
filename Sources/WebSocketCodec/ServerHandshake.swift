// The server side of the opening handshake (RFC 6455 §4.2).
//
// Rejections, checked in this order:
//   method not GET                           → 405, Allow: GET
//   HTTP/1.0                                 → 400 (an upgrade needs HTTP/1.1)
//   no Host                                  → 400
//   Upgrade lacks the token "websocket"      → 426, Upgrade: websocket (a plain GET on a WebSocket
//                                              route is told what to speak; RFC 9110 §15.5.22)
//   Connection lacks the token "upgrade"     → 400 (it asked to upgrade, but malformed)
//   Sec-WebSocket-Version is not 13          → 426, Sec-WebSocket-Version: 13 (RFC 6455 §4.4)
//   Sec-WebSocket-Key not 16 bytes of base64 → 400

/// A valid upgrade request. Its parts are read from the head when asked (a String each time),
/// so a handshake that asks for none of them allocates nothing beyond the head.
public struct UpgradeRequest: Sendable {
    public let head: HTTPRequestHead

    /// Sec-WebSocket-Key, checked to be 16 bytes of base64.
    public var key: String { head.header("Sec-WebSocket-Key") ?? "" }
    public var path: String { head.path }
    public var query: String? { head.query }
    public var origin: String? { head.header("Origin") }
    /// Sec-WebSocket-Protocol elements in the client's order of preference, case kept.
    public var protocols: [String] { head.headerList("Sec-WebSocket-Protocol") }

    /// A head `ServerHandshake.validate` accepted.
    init(validated head: HTTPRequestHead) {
        self.head = head
    }
}

public struct HandshakeRejection: Error, Sendable {
    public var status: Int
    public var reason: String
    /// Headers the rejection response must carry (e.g. Allow, Sec-WebSocket-Version).
    public var extraHeaders: [(String, String)]

    public init(status: Int, reason: String, extraHeaders: [(String, String)] = []) {
        self.status = status
        self.reason = reason
        self.extraHeaders = extraHeaders
    }

    /// The complete HTTP response for this rejection, with the reason as a text body; closes the connection.
    public var response: [UInt8] {
        HTTPResponse.make(status: status, headers: extraHeaders, body: Array((reason + "\n").utf8), close: true)
    }
}

public enum ServerHandshake {
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// base64(sha1(key + guid)), the Sec-WebSocket-Accept value for a Sec-WebSocket-Key. One
    /// allocation, the result's.
    public static func acceptValue(forKey key: String) -> String {
        String(unsafeUninitializedCapacity: acceptCount) { writeAcceptValue(forKey: key, into: UnsafeMutableRawBufferPointer($0)) }
    }

    /// The length of a Sec-WebSocket-Accept value (20 bytes of SHA-1 in Base64).
    public static var acceptCount: Int { Base64.encodedCount(20) }

    /// Writes the Sec-WebSocket-Accept value for `key` into `out` (at least `acceptCount` bytes);
    /// returns the count. Key and GUID are hashed from the stack: nothing is allocated (a
    /// handshake storm runs this once per connection).
    public static func writeAcceptValue(forKey key: String, into out: UnsafeMutableRawBufferPointer) -> Int {
        var key = key
        return key.withUTF8 { writeAcceptValue(forKey: UnsafeRawBufferPointer($0), into: out) }
    }

    /// `writeAcceptValue(forKey:into:)` for a key given as its bytes (where it sits in the head).
    public static func writeAcceptValue(forKey keyBytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int {
        let length = keyBytes.count + guidBytes.count
        return withUnsafeTemporaryAllocation(byteCount: length + 20, alignment: 8) { scratch in
            let base = scratch.baseAddress!
            if let keyBase = keyBytes.baseAddress { base.copyMemory(from: keyBase, byteCount: keyBytes.count) }
            guidBytes.withUnsafeBytes { (base + keyBytes.count).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let digest = base + length
            SHA1.digest(UnsafeRawBufferPointer(start: base, count: length), into: digest)
            return Base64.encode(UnsafeRawBufferPointer(start: digest, count: 20), into: out)
        }
    }

    private static let guidBytes: [UInt8] = Array(guid.utf8)

    public static func validate(_ head: HTTPRequestHead) -> Result<UpgradeRequest, HandshakeRejection> {
        guard head.method == "GET" else {
            return .failure(HandshakeRejection(status: 405, reason: "WebSocket upgrade needs GET", extraHeaders: [("Allow", "GET")]))
        }
        guard head.versionMinor >= 1 else {
            return .failure(HandshakeRejection(status: 400, reason: "WebSocket upgrade needs HTTP/1.1"))
        }
        guard head.hasHeader("Host") else {
            return .failure(HandshakeRejection(status: 400, reason: "missing Host header"))
        }
        guard head.hasToken("websocket", in: "Upgrade") else {
            return .failure(HandshakeRejection(
                status: 426, reason: "this resource speaks WebSocket only",
                extraHeaders: [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")]))
        }
        guard head.hasToken("upgrade", in: "Connection") else {
            return .failure(HandshakeRejection(status: 400, reason: "Connection header lacks the upgrade token"))
        }
        guard head.header("Sec-WebSocket-Version") == "13" else {
            return .failure(HandshakeRejection(
                status: 426, reason: "unsupported WebSocket version", extraHeaders: [("Sec-WebSocket-Version", "13")]))
        }
        guard head.withFirstValue(named: "Sec-WebSocket-Key", { Base64.decodedCount($0) == 16 }) == true else {
            return .failure(HandshakeRejection(status: 400, reason: "Sec-WebSocket-Key is not 16 bytes of base64"))
        }
        return .success(UpgradeRequest(validated: head))
    }

    /// The 101 response. `subprotocol` must be one the client offered; `extensions` is what
    /// `ExtensionNegotiation.accept` agreed (no Sec-WebSocket-Extensions header when it is empty).
    public static func response(
        acceptKey: String, subprotocol: String?, extensions: NegotiatedExtensions = .none, extraHeaders: [(String, String)] = []
    ) -> [UInt8] {
        if subprotocol == nil && extensions.headerValue == nil && extraHeaders.isEmpty { return plainResponse(acceptKey: acceptKey) }
        var headers: [(String, String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptKey),
        ]
        if let subprotocol { headers.append(("Sec-WebSocket-Protocol", subprotocol)) }
        if let accepted = extensions.headerValue { headers.append((ExtensionHeader.name, accepted)) }
        headers += extraHeaders
        var out: [UInt8] = []
        out.reserveCapacity(160)
        HTTPSyntax.writeHead(into: &out, statusLine: "HTTP/1.1 101 Switching Protocols", headers: headers)
        out += [0x0D, 0x0A]
        return out
    }

    /// The usual 101, with no subprotocol, extension or extra header: one allocation.
    private static func plainResponse(acceptKey: String) -> [UInt8] {
        var key = acceptKey
        return key.withUTF8 { key in
            [UInt8](unsafeUninitializedCapacity: plainResponseHead.count + key.count + 4) { out, count in
                count = writePlainResponse(UnsafeMutableRawBufferPointer(out)) { $0.copyMemory(from: UnsafeRawBufferPointer(key)); return key.count }
            }
        }
    }

    /// The size of the usual 101 (no subprotocol, extension or extra header).
    public static var plainResponseCount: Int { plainResponseHead.count + acceptCount + 4 }

    /// Writes the usual 101 accepting `key` into `out` (at least `plainResponseCount` bytes);
    /// returns the count. Nothing is allocated: for `Connection.write(reserving:)`, which
    /// encodes it straight into the connection's write buffer.
    public static func writePlainResponse(acceptingKey key: String, into out: UnsafeMutableRawBufferPointer) -> Int {
        writePlainResponse(out) { writeAcceptValue(forKey: key, into: $0) }
    }

    /// `writePlainResponse(acceptingKey:into:)` with the key read where it sits in the request's
    /// head: the whole upgrade, from parse to 101, allocates only the head.
    public static func writePlainResponse(accepting request: UpgradeRequest, into out: UnsafeMutableRawBufferPointer) -> Int {
        writePlainResponse(out) { accept in
            request.head.withFirstValue(named: "Sec-WebSocket-Key") { writeAcceptValue(forKey: $0, into: accept) } ?? 0
        }
    }

    /// The head, the accept value `writeAccept` puts where it goes, and the two CRLFs that end the header and the head.
    private static func writePlainResponse(_ out: UnsafeMutableRawBufferPointer, _ writeAccept: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        precondition(out.count >= plainResponseHead.count + 4, "the 101 response does not fit")
        let headCount = plainResponseHead.count
        plainResponseHead.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: headCount) }
        let end = headCount + writeAccept(UnsafeMutableRawBufferPointer(rebasing: out[headCount...]))
        precondition(out.count >= end + 4, "the 101 response does not fit")
        out[end] = 0x0D
        out[end + 1] = 0x0A
        out[end + 2] = 0x0D
        out[end + 3] = 0x0A
        return end + 4
    }

    private static let plainResponseHead: [UInt8] = Array(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ".utf8)
}
