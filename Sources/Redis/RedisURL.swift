/// Where Redis is and how to log in, as a URL:
///
///     redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
///     rediss://…                      (TLS: parsed, refused by the client for now)
///
/// Userinfo is percent-decoded (a password with `@`, `:` or `/` writes them
/// as `%40`, `%3A`, `%2F`); an IPv6 host goes in brackets. The port defaults
/// to 6379 and the database to 0. Query parameters are refused rather than
/// silently ignored. Errors and `description` never show the password.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var usesTLS: Bool
    public var host: String
    public var port: Int
    /// nil: log in as the default user (password only), or not at all.
    public var username: String?
    public var password: String?
    public var database: Int

    public static let defaultPort = 6379

    public init(host: String, port: Int = RedisURL.defaultPort, username: String? = nil, password: String? = nil, database: Int = 0, usesTLS: Bool = false) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.usesTLS = usesTLS
    }

    public init(_ text: String) throws(RedisConfigurationError) {
        var rest = Substring(text)
        if let scheme = rest.firstRange(of: "://") {
            switch rest[..<scheme.lowerBound].lowercased() {
            case "redis": usesTLS = false
            case "rediss": usesTLS = true
            case let other: throw Self.bad("the scheme must be redis:// or rediss://, not \(other)://")
            }
            rest = rest[scheme.upperBound...]
        } else {
            throw Self.bad("expected redis://HOST[:PORT][/DB] (or redis://USER:PASSWORD@HOST…)")
        }
        if rest.contains("#") { throw Self.bad("a fragment (#…) has no meaning in a redis:// URL") }
        if rest.contains("?") { throw Self.bad("query parameters (?…) are not supported; the URL takes [USER:PASSWORD@]HOST[:PORT][/DB]") }

        // Userinfo ends at the last '@', so an unescaped '@' in a password still parses.
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = userinfo.firstIndex(of: ":") else {
                throw Self.bad("the userinfo must be USER:PASSWORD or :PASSWORD (a password alone needs its colon)")
            }
            let user = try Self.percentDecoded(userinfo[..<colon], what: "user name")
            let secret = try Self.percentDecoded(userinfo[userinfo.index(after: colon)...], what: "password")
            guard !secret.isEmpty else { throw Self.bad("the password is empty") }
            username = user.isEmpty ? nil : user
            password = secret
        } else {
            username = nil
            password = nil
        }

        let authority: Substring
        let path: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = ""
        }

        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Self.bad("an IPv6 host needs its closing ]") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Self.bad("expected :PORT after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else {
            let colons = authority.filter { $0 == ":" }.count
            guard colons <= 1 else { throw Self.bad("an IPv6 host goes in brackets: redis://[::1]:6379") }
            if let colon = authority.firstIndex(of: ":") {
                host = String(authority[..<colon])
                portText = authority[authority.index(after: colon)...]
            } else {
                host = String(authority)
            }
        }
        guard !host.isEmpty else { throw Self.bad("the host is missing") }

        if let portText {
            guard let number = Self.decimal(portText), (1...65535).contains(number) else {
                throw Self.bad("the port must be a number from 1 to 65535, not '\(portText)'")
            }
            port = number
        } else {
            port = Self.defaultPort
        }

        if path.isEmpty {
            database = 0
        } else {
            guard let number = Self.decimal(path), number <= Int(Int32.max) else {
                throw Self.bad("the database must be a number (/0, /1, …), not '/\(path)'")
            }
            database = number
        }
    }

    /// The URL with the password masked.
    public var description: String {
        var text = usesTLS ? "rediss://" : "redis://"
        if password != nil { text += "\(username ?? ""):***@" }
        text += host.contains(":") ? "[\(host)]" : host
        text += ":\(port)"
        if database != 0 { text += "/\(database)" }
        return text
    }

    private static func bad(_ problem: String) -> RedisConfigurationError {
        RedisConfigurationError("bad URL: \(problem)")
    }

    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 10, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return Int(text)
    }

    private static func percentDecoded(_ text: Substring, what: String) throws(RedisConfigurationError) -> String {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.popFirst().flatMap(hexValue), let low = utf8.popFirst().flatMap(hexValue) else {
                throw Self.bad("the \(what) has a bad percent escape (% must be followed by two hex digits)")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A Redis URL or configuration that cannot be used, and why.
public struct RedisConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "Redis: \(message)" }
}
