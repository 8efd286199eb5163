import WebSocketCodec

/// The server's routes, fixed once it starts; shared read-only by all loops.
final class RouteTable: Sendable {
    struct WebSocketRoute: Sendable {
        let pattern: PathPattern
        let behavior: WebSocketBehavior
    }

    struct HTTPRoute: Sendable {
        let method: String
        let pattern: PathPattern
        let respond: @Sendable (HTTPRequestHead) -> HTTPReply
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
