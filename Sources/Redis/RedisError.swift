/// Why a command got no result.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not sent: Redis is down (or not connected yet). Thrown by the call
    /// itself, at once; the status says since when and why.
    case unavailable(RedisConnectionStatus)
    /// Sent, but the connection ended before the reply: the command may or
    /// may not have been applied.
    case connectionLost(reason: String)
    /// Redis answered with an error.
    case server(RedisServerError)
    /// The reply was not of the type the command answers with.
    case unexpectedReply(expected: String, got: RESPValue)
    /// Not sent: `maxPendingCommands` replies are already awaited.
    case tooManyPending(limit: Int)
    /// Not sent: this client does not take the command this way (see the message).
    case notAllowed(String)
    /// Not sent, or abandoned: the client was closed.
    case closed

    public var description: String {
        switch self {
        case .unavailable(let status):
            "Redis is unavailable (\(status)); the command was not sent"
        case .connectionLost(let reason):
            "the connection to Redis was lost before the reply (\(reason)); the command may or may not have been applied"
        case .server(let error):
            "Redis: \(error)"
        case .unexpectedReply(let expected, let got):
            "unexpected reply from Redis: expected \(expected), got \(got)"
        case .tooManyPending(let limit):
            "\(limit) commands already await a reply from Redis (maxPendingCommands); the command was not sent"
        case .notAllowed(let why):
            why
        case .closed:
            "the Redis client is closed"
        }
    }
}

/// An error reply: `WRONGTYPE Operation against a key holding the wrong kind of value`.
public struct RedisServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The first word: `ERR`, `WRONGTYPE`, `NOSCRIPT`, `NOAUTH`, `WRONGPASS`, `NOPERM`, …
    public let code: String
    public let message: String

    public init(_ text: String) {
        if let space = text.firstIndex(of: " ") {
            code = String(text[..<space])
            message = String(text[text.index(after: space)...])
        } else {
            code = text
            message = ""
        }
    }

    public var description: String { message.isEmpty ? code : "\(code) \(message)" }
}
