/// A path pattern: exact ("/chat"), or a prefix ending in "*" ("/room/*", "/*").
///
/// Paths are compared byte for byte, as HTTP compares them (a request's path
/// is ASCII: anything else comes percent-encoded), not by String's Unicode
/// equivalence, which walks Characters and cost ~1,000 instructions a route
/// on every upgrade.
public struct PathPattern: Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let text: String
    private let prefix: String?

    public init(_ text: String) {
        self.text = text
        prefix = text.hasSuffix("*") ? String(text.dropLast()) : nil
    }

    public init(stringLiteral value: String) { self.init(value) }

    public func matches(_ path: String) -> Bool {
        if let prefix { return path.utf8.starts(with: prefix.utf8) }
        return path.utf8.elementsEqual(text.utf8)
    }

    /// How specific the pattern is, for choosing among several that match:
    /// an exact path beats any prefix, a longer prefix a shorter one.
    var specificity: Int { prefix.map { $0.utf8.count } ?? Int.max }

    /// What the "*" matched ("/room/*" on "/room/lobby" gives "lobby").
    public func rest(of path: String) -> String {
        guard let prefix, path.utf8.starts(with: prefix.utf8) else { return "" }
        return String(decoding: path.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
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
