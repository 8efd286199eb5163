import Broadcast
import WebSocketCodec

/// A plain HTTP request: its head and (Content-Length) body.
public struct HTTPRequest: Sendable {
    public let head: HTTPRequestHead
    public let body: [UInt8]
}

/// What answers requests on an HTTP route: a response, files, a publish,
/// or the start of a transport that keeps the connection (a stream, a poll).
protocol HTTPEndpoint: Sendable {
    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome
    /// Whether the request is served while the server is past its memory
    /// budget, when new work gets 503: only for one answered at once that
    /// adds nothing held (or frees some). Default: no.
    func isServedOverBudget(_ head: HTTPRequestHead) -> Bool
}

extension HTTPEndpoint {
    func isServedOverBudget(_ head: HTTPRequestHead) -> Bool { false }
}

/// One request as a route sees it.
struct RouteCall {
    let request: HTTPRequest
    /// What the route pattern's "*" matched.
    let rest: String
    /// The CORS headers its response must carry; nil when the origin is not allowed (or sent none).
    let cors: [(String, String)]?
    /// The request's bytes and whatever is pipelined after them, valid during
    /// the call: what an endpoint hands over when it moves the connection to
    /// another loop.
    let input: UnsafeRawBufferPointer

    var head: HTTPRequestHead { request.head }
}

/// The server's routes, fixed once it starts; shared read-only by all loops.
final class RouteTable: Sendable {
    /// A class, not a struct: read on every message, and a copy of its
    /// behavior's five closures cost ten reference counts each time.
    final class WebSocketRoute: Sendable {
        let pattern: PathPattern
        let behavior: WebSocketBehavior
        /// What the frame reader enforces on this route.
        let limits: WebSocketLimits

        init(pattern: PathPattern, behavior: WebSocketBehavior, limits: WebSocketLimits = WebSocketLimits()) {
            self.pattern = pattern
            self.behavior = behavior
            self.limits = limits
        }
    }

    struct HTTPRoute: Sendable {
        let method: String
        let pattern: PathPattern
        let endpoint: any HTTPEndpoint
    }

    let webSockets: [WebSocketRoute]
    let http: [HTTPRoute]

    /// Routes are kept most specific first (see `PathPattern.specificity`),
    /// in the order they were added among equals, so the first match is the best.
    init(webSockets: [WebSocketRoute], http: [HTTPRoute]) {
        self.webSockets = Self.mostSpecificFirst(webSockets, \.pattern)
        self.http = Self.mostSpecificFirst(http, \.pattern)
    }

    private static func mostSpecificFirst<Route>(_ routes: [Route], _ pattern: (Route) -> PathPattern) -> [Route] {
        routes.enumerated().sorted { a, b in
            let (left, right) = (pattern(a.element).specificity, pattern(b.element).specificity)
            return left != right ? left > right : a.offset < b.offset
        }.map(\.element)
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

/// A route answered by the application's closure.
struct Responder: HTTPEndpoint {
    let respond: @Sendable (HTTPRequest) -> HTTPReply

    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        HTTPFrontDoor.finish(connection, call.head, respond(call.request), cors: call.cors)
    }

    /// GET and HEAD of the application's own routes (/stats and /metrics
    /// among them) are answered past the budget, so it can be watched.
    func isServedOverBudget(_ head: HTTPRequestHead) -> Bool { head.method == "GET" || head.method == "HEAD" }
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
