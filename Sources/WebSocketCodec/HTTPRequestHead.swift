// A parsed HTTP/1.x request head: request line and header fields, no body.

public struct HTTPRequestHead: Sendable {
    public var method: String
    /// The request target as sent, e.g. "/chat?room=7".
    public var target: String
    /// The target before the first '?'.
    public var path: String
    /// The target after the first '?', nil when there is no '?'.
    public var query: String?
    /// 0 or 1 (HTTP/1.0 or HTTP/1.1).
    public var versionMinor: Int
    /// In arrival order; names as sent.
    public var headers: [(name: String, value: String)]

    public init(method: String, target: String, versionMinor: Int, headers: [(name: String, value: String)]) {
        self.method = method
        self.target = target
        if let question = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = String(target[..<question])
            query = String(target[target.index(after: question)...])
        } else {
            path = target
            query = nil
        }
        self.versionMinor = versionMinor
        self.headers = headers
    }

    /// The first value of header `name` (case-insensitive), nil if absent.
    public func header(_ name: String) -> String? {
        headers.first { HTTPSyntax.equalsIgnoringASCIICase($0.name, name) }?.value
    }

    /// Every element of every `name` header: split on commas, trimmed, empty ones dropped,
    /// case kept. For lists whose case matters, e.g. Sec-WebSocket-Protocol.
    public func headerList(_ name: String) -> [String] {
        var elements: [String] = []
        for header in headers where HTTPSyntax.equalsIgnoringASCIICase(header.name, name) {
            elements += HTTPSyntax.listElements(header.value, lowercase: false)
        }
        return elements
    }

    /// `headerList(name)` ASCII-lowercased: for case-insensitive tokens such as Connection and Upgrade.
    public func headerTokens(_ name: String) -> [String] {
        var elements: [String] = []
        for header in headers where HTTPSyntax.equalsIgnoringASCIICase(header.name, name) {
            elements += HTTPSyntax.listElements(header.value, lowercase: true)
        }
        return elements
    }

    /// Whether some `name` header lists `token` (ASCII case-insensitive), without building arrays.
    /// E.g. `hasToken("upgrade", in: "Connection")`.
    public func hasToken(_ token: String, in name: String) -> Bool {
        for header in headers where HTTPSyntax.equalsIgnoringASCIICase(header.name, name) {
            var found = false
            HTTPSyntax.forEachListElement(header.value) { element in
                found = HTTPSyntax.equalsIgnoringASCIICase(element, token)
                return !found
            }
            if found { return true }
        }
        return false
    }

    /// The body length the request declares: 0 without Content-Length, nil
    /// when the header is not one run of digits, or when several disagree
    /// (RFC 9110 §8.6; a proxy and this server could otherwise read
    /// different bodies, which is how requests get smuggled).
    public var declaredContentLength: Int? {
        let values = headerList("Content-Length")
        guard let first = values.first else { return header("Content-Length") == nil ? 0 : nil }
        guard values.allSatisfy({ $0 == first }), first.utf8.count <= 18,
              first.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(first)
    }
}
