/// A path pattern: exact ("/chat"), or a prefix ending in "*" ("/room/*", "/*").
public struct PathPattern: Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let text: String
    private let prefix: Substring?

    public init(_ text: String) {
        self.text = text
        prefix = text.hasSuffix("*") ? text.dropLast() : nil
    }

    public init(stringLiteral value: String) { self.init(value) }

    public func matches(_ path: String) -> Bool {
        if let prefix { return path.hasPrefix(prefix) }
        return path == text
    }

    /// How specific the pattern is, for choosing among several that match:
    /// an exact path beats any prefix, a longer prefix a shorter one.
    var specificity: Int { prefix.map { $0.utf8.count } ?? Int.max }

    /// What the "*" matched ("/room/*" on "/room/lobby" gives "lobby").
    public func rest(of path: String) -> String {
        guard let prefix, path.hasPrefix(prefix) else { return "" }
        return String(path.dropFirst(prefix.count))
    }

    public var description: String { text }
}

/// A small complete HTTP response.
public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int = 200, contentType: String, body: String) {
        self.init(status: status, headers: [("Content-Type", contentType)], body: Array(body.utf8))
    }
}
