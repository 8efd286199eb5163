import Broadcast
import WebSocketCodec

/// A plain HTTP request: its head and (Content-Length) body.
public struct HTTPRequest: Sendable {
    public let head: HTTPRequestHead
    public let body: [UInt8]
}

/// The server's routes, fixed once it starts; shared read-only by all loops.
final class RouteTable: Sendable {
    struct WebSocketRoute: Sendable {
        let pattern: PathPattern
        let behavior: WebSocketBehavior
    }

    /// What a plain HTTP route does.
    enum Action: Sendable {
        case respond(@Sendable (HTTPRequest) -> HTTPReply)
        /// Server-Sent Events for the room named by the rest of the path.
        case eventStream
        /// Polling and long-polling (`?since=SEQ&wait=SECONDS`).
        case poll
        /// iframe streaming: script calls to `parent.push`.
        case scriptStream
        /// POST a message to the room, if `authorize` says so.
        case publish(authorize: @Sendable (HTTPRequestHead) -> PublishAuthorization)
        case files(StaticFiles)
    }

    struct HTTPRoute: Sendable {
        let method: String
        let pattern: PathPattern
        let action: Action
    }

    let webSockets: [WebSocketRoute]
    let http: [HTTPRoute]

    init(webSockets: [WebSocketRoute], http: [HTTPRoute]) {
        self.webSockets = webSockets
        self.http = http
    }

    func webSocketRoute(for path: String) -> Int? {
        webSockets.firstIndex { $0.pattern.matches(path) }
    }

    enum HTTPMatch {
        case found(HTTPRoute)
        /// The path exists, for other methods.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    func httpRoute(method: String, path: String) -> HTTPMatch {
        let matching = http.filter { $0.pattern.matches(path) }
        if let route = matching.first(where: { $0.method == method || ($0.method == "GET" && method == "HEAD") }) {
            return .found(route)
        }
        return matching.isEmpty ? .notFound : .methodNotAllowed(allowed: matching.map(\.method))
    }
}

/// What a publish authorization hook answers.
public enum PublishAuthorization: Sendable {
    case allowed
    /// 401 with `WWW-Authenticate: Bearer`: no or malformed credentials.
    case unauthenticated
    /// 403: credentials, but not good ones.
    case forbidden

    /// A hook that allows `Authorization: Bearer TOKEN` with this token only
    /// (and nothing at all when `token` is nil).
    public static func bearerToken(_ token: String?) -> @Sendable (HTTPRequestHead) -> PublishAuthorization {
        { head in
            guard let token else { return .forbidden }
            guard let value = head.header("Authorization"), value.lowercased().hasPrefix("bearer ") else { return .unauthenticated }
            return constantTimeEqual(Array(value.utf8.dropFirst(7)), Array(token.utf8)) ? .allowed : .forbidden
        }
    }
}

/// Compares without stopping at the first difference, so response timing
/// does not reveal how much of a guessed token was right.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<a.count { difference |= a[index] ^ b[index] }
    return difference == 0
}
