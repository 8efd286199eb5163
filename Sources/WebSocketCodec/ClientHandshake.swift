// The client side of the opening handshake (RFC 6455 §4.1), for the load generator.

public struct ClientHandshake: Sendable {
    /// The complete upgrade request to send.
    public var request: [UInt8]
    /// The Sec-WebSocket-Accept the server must answer with.
    public var expectedAccept: String
    public var maxHeadSize = 8192
    /// The extensions the request offers.
    public let offeredExtensions: [any ClientExtension]
    /// What the server accepted of them, once the response was `.accepted`.
    public private(set) var negotiated = NegotiatedExtensions.none
    private var scanner = HTTPHeadScanner()

    public enum Result: Sendable {
        case needMore
        /// The 101 head is the first `headLength` bytes; frames follow.
        case accepted(headLength: Int)
        case rejected(String)
    }

    /// `key16`: 16 random bytes from the caller's generator (RFC 6455 wants them unpredictable).
    /// `extensions` are offered in Sec-WebSocket-Extensions; the response may accept only those.
    public init(host: String, path: String, key16: [UInt8], extraHeaders: [(String, String)] = [],
                extensions: [any ClientExtension] = []) {
        precondition(key16.count == 16, "Sec-WebSocket-Key needs 16 bytes")
        let key = Base64.encode(key16)
        expectedAccept = ServerHandshake.acceptValue(forKey: key)
        offeredExtensions = extensions
        var headers: [(String, String)] = [
            ("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
        ]
        if let offers = ExtensionNegotiation.offerHeaderValue(extensions) { headers.append((ExtensionHeader.name, offers)) }
        headers += extraHeaders
        var out: [UInt8] = []
        out.reserveCapacity(192)
        HTTPSyntax.writeHead(into: &out, statusLine: "GET \(path) HTTP/1.1", headers: headers)
        out += [0x0D, 0x0A]
        request = out
    }

    /// Parses the accumulated response bytes (the same prefix each call, growing); only new bytes are
    /// scanned. Accepts status 101 with Upgrade: websocket, Connection: upgrade, the expected accept
    /// and no extension that was not offered or that its extension refuses (then in `negotiated`).
    public mutating func parseResponse(_ accumulated: UnsafeRawBufferPointer) -> Result {
        let limited = UnsafeRawBufferPointer(rebasing: accumulated[..<Swift.min(accumulated.count, maxHeadSize)])
        switch scanner.scan(limited) {
        case .needMore:
            return accumulated.count >= maxHeadSize ? .rejected("response head larger than \(maxHeadSize) bytes") : .needMore
        case .bareLF:
            return .rejected("response line ending without CR")
        case .complete(let length):
            return check(UnsafeRawBufferPointer(rebasing: accumulated[..<length]))
        }
    }

    private mutating func check(_ head: UnsafeRawBufferPointer) -> Result {
        let lineEnd = HTTPSyntax.lineEnd(head, from: 0)
        // status-line = HTTP-version SP 3DIGIT SP [reason-phrase]
        guard lineEnd >= 12, let (major, minor) = HTTPHeadParser.version(head, 0..<8), head[8] == 0x20 else {
            return .rejected("malformed status line")
        }
        // The upgrade was asked in HTTP/1.1; a 101 in another version is no answer to it (found by fuzzing).
        guard major == 1, minor >= 1 else { return .rejected("status line in HTTP/\(major).\(minor), not HTTP/1.1") }
        let statusText = HTTPSyntax.string(head, 9..<12)
        guard let status = Int(statusText), lineEnd == 12 || head[12] == 0x20 else {
            return .rejected("malformed status line")
        }
        guard status == 101 else {
            return .rejected("status \(status) \(HTTPSyntax.string(head, Swift.min(13, lineEnd)..<lineEnd))")
        }
        // Read as a request head whose request line is empty: only its headers are asked for.
        guard let response = HTTPRequestHead(parsed: head, fieldsStart: lineEnd + 2, methodEnd: 0, target: 0..<0, versionMinor: 1) else {
            return .rejected("malformed header line")
        }
        guard response.hasToken("websocket", in: "Upgrade") else { return .rejected("Upgrade is not websocket") }
        guard response.hasToken("upgrade", in: "Connection") else { return .rejected("Connection lacks upgrade") }
        guard let accept = response.header("Sec-WebSocket-Accept") else { return .rejected("no Sec-WebSocket-Accept") }
        guard accept == expectedAccept else { return .rejected("Sec-WebSocket-Accept \(accept) does not match") }
        switch ExtensionNegotiation.validate(response: response.headers(named: ExtensionHeader.name), offered: offeredExtensions) {
        case .failure(let error):
            return .rejected(error.reason)
        case .success(let accepted):
            negotiated = accepted
        }
        return .accepted(headLength: head.count)
    }
}
