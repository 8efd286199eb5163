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

    /// base64(sha1(key + guid)), the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
    public static func acceptValue(forKey key: String) -> String {
        Base64.encode(SHA1.hash(Array((key + guid).utf8)))
    }

    public static func validate(_ head: HTTPRequestHead) -> Result<UpgradeRequest, HandshakeRejection> {
        guard head.method == "GET" else {
            return .failure(HandshakeRejection(status: 405, reason: "WebSocket upgrade needs GET", extraHeaders: [("Allow", "GET")]))
        }
        guard head.versionMinor >= 1 else {
            return .failure(HandshakeRejection(status: 400, reason: "WebSocket upgrade needs HTTP/1.1"))
        }
        guard head.header("Host") != nil else {
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
        guard let key = head.header("Sec-WebSocket-Key"), Base64.decode(key)?.count == 16 else {
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
}
