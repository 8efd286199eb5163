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

public struct UpgradeRequest: Sendable {
    public var key: String
    public var path: String
    public var query: String?
    public var origin: String?
    /// Sec-WebSocket-Protocol elements in the client's order of preference, case kept.
    public var protocols: [String]
    public var head: HTTPRequestHead

    public init(key: String, path: String, query: String?, origin: String?, protocols: [String], head: HTTPRequestHead) {
        self.key = key
        self.path = path
        self.query = query
        self.origin = origin
        self.protocols = protocols
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
        return key.withUTF8 { keyBytes in
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
        guard let key = head.header("Sec-WebSocket-Key"), Base64.decodedCount(key) == 16 else {
            return .failure(HandshakeRejection(status: 400, reason: "Sec-WebSocket-Key is not 16 bytes of base64"))
        }
        return .success(UpgradeRequest(
            key: key, path: head.path, query: head.query, origin: head.header("Origin"),
            protocols: head.headerList("Sec-WebSocket-Protocol"), head: head))
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
