import Broadcast
import Reactor
import WebSocketCodec

/// The HTTP side of a connection: request heads (and small bodies), the
/// upgrade to WebSocket, plain responses with keep-alive, and the start of
/// the push transports.
extension ServerHandler {
    func receiveHTTP(_ connection: Connection<ServerHandler>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count && connection.context.phase == .http && connection.isOpen {
            // Empty lines before a request line are ignored (RFC 9112 §2.2): some clients end a body with CRLF.
            while offset < bytes.count && (bytes[offset] == 0x0D || bytes[offset] == 0x0A) { offset += 1 }
            guard offset < bytes.count else { break }
            if pausedForBackpressure(connection) { return offset }
            // A head arrives whole almost always; when it does not, it is
            // scanned again from its start (at most maxHeadSize bytes), which
            // keeps every connection's state free of a parser.
            let pending = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            var parser = HTTPHeadParser(maxHeadSize: configuration.maxHeadSize)
            switch parser.parse(pending) {
            case .needMore:
                connection.context.betweenRequests = false  // a head has begun
                return offset
            case .invalid(let status, let reason):
                respondAndClose(connection, status: status, reason: reason)
                return bytes.count
            case .complete(let head, let length):
                if head.hasToken("websocket", in: "Upgrade"), let route = routes.webSocketRoute(for: head.path) {
                    offset += length
                    guard upgrade(connection, head: head, route: route) else { return bytes.count }
                    return offset + receiveFrames(connection, UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]))
                }
                guard head.header("Transfer-Encoding") == nil else {
                    respondAndClose(connection, status: 411, reason: "send the body with Content-Length, not chunked")
                    return bytes.count
                }
                guard let bodyLength = head.declaredContentLength else {
                    let declared = head.headerList("Content-Length").joined(separator: ", ")
                    respondAndClose(connection, status: 400, reason: "bad Content-Length: \(declared) (one run of digits, or equal copies)")
                    return bytes.count
                }
                guard bodyLength <= configuration.maxBodySize else {
                    respondAndClose(connection, status: 413, reason: "request body over \(configuration.maxBodySize) bytes")
                    return bytes.count
                }
                guard pending.count >= length + bodyLength else {  // the body is still arriving
                    connection.context.betweenRequests = false
                    return offset
                }
                let body = Array(pending[length..<(length + bodyLength)])
                offset += length + bodyLength
                guard handle(connection, HTTPRequest(head: head, body: body)) else {
                    // Requests pipelined behind a held poll wait for its answer; after anything else there are none.
                    return connection.context.phase == .polling ? offset : bytes.count
                }
            }
        }
        return offset
    }

    /// Answers one request; false when the connection takes no more requests
    /// now (it closes, it became a stream, or a poll is held).
    private func handle(_ connection: Connection<ServerHandler>, _ request: HTTPRequest) -> Bool {
        let head = request.head
        let cors = corsHeaders(for: head)
        if head.method == "OPTIONS", head.header("Access-Control-Request-Method") != nil {
            guard cors != nil else {
                return finish(connection, head, HTTPReply(status: 403, body: Array("origin not allowed\n".utf8)), cors: nil)
            }
            let preflight = [("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                             ("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID"),
                             ("Access-Control-Max-Age", "600")]
            return finish(connection, head, HTTPReply(status: 204, headers: preflight), cors: cors)
        }
        switch routes.httpRoute(method: head.method, path: head.path) {
        case .found(let route):
            let rest = route.pattern.rest(of: head.path)
            switch route.action {
            case .respond(let respond):
                return finish(connection, head, respond(request), cors: cors)
            case .files(let files):
                return finish(connection, head, files.reply(relativePath: rest, head: head), cors: cors)
            case .publish(let authorize):
                return finish(connection, head, publish(request, to: rest, authorize: authorize, from: connection), cors: cors)
            case .eventStream, .scriptStream, .poll:
                guard let room = URLComponent.roomName(rest) else {
                    return finish(connection, head, HTTPReply(status: 400, body: Array("a room name is missing or malformed\n".utf8)), cors: cors)
                }
                if head.method == "HEAD" { return answerHead(connection, head, of: route.action, cors: cors) }
                switch route.action {
                case .eventStream: startEventStream(connection, room: room, head: head, cors: cors)
                case .scriptStream: startScriptStream(connection, room: room, head: head, cors: cors)
                default: return startPoll(connection, room: room, head: head, cors: cors)
                }
                return false
            }
        case .methodNotAllowed(let allowed):
            let reply = HTTPReply(status: 405, headers: [("Allow", allowed.joined(separator: ", "))], body: Array("method not allowed\n".utf8))
            return finish(connection, head, reply, cors: cors)
        case .notFound:
            if routes.webSocketRoute(for: head.path) != nil, case .failure(let rejection) = ServerHandshake.validate(head) {
                // A plain request on a WebSocket route: the handshake's own rejection says what is missing.
                connection.write(rejection.response)
                closeWhenFlushed(connection)
                return false
            }
            return finish(connection, head, HTTPReply(status: 404, body: Array("no route for \(head.path)\n".utf8)), cors: cors)
        }
    }

    /// Writes a complete response; keeps the connection for the next request
    /// unless the client (or HTTP/1.0) asked to close.
    func finish(_ connection: Connection<ServerHandler>, _ head: HTTPRequestHead, _ reply: HTTPReply, cors: [(String, String)]?) -> Bool {
        let keepAlive = head.versionMinor >= 1 && !head.hasToken("close", in: "Connection")
        var headers = reply.headers + (cors ?? [])
        if !keepAlive { headers.append(("Connection", "close")) }
        var response = HTTPResponse.make(status: reply.status, headers: headers, body: reply.body)
        if head.method == "HEAD" { response.removeLast(reply.body.count) }
        connection.write(response)
        statistics.httpResponses += 1
        return responseEnded(connection, keepAlive: keepAlive)
    }

    /// After a whole response: wait for the next request, or close. Returns keepAlive.
    func responseEnded(_ connection: Connection<ServerHandler>, keepAlive: Bool) -> Bool {
        guard keepAlive else {
            closeWhenFlushed(connection)
            return false
        }
        connection.context.betweenRequests = true
        connection.setTimeout(nanoseconds: handshakeTimeout)
        return true
    }

    func respondAndClose(_ connection: Connection<ServerHandler>, status: Int, reason: String) {
        connection.write(HTTPResponse.make(status: status, body: Array((reason + "\n").utf8), close: true))
        statistics.httpResponses += 1
        closeWhenFlushed(connection)
    }

    /// CORS response headers when the request's Origin is allowed; nil otherwise.
    func corsHeaders(for head: HTTPRequestHead) -> [(String, String)]? {
        guard let origin = head.header("Origin"), !configuration.corsOrigins.isEmpty else { return nil }
        if configuration.corsOrigins.contains("*") { return [("Access-Control-Allow-Origin", "*")] }
        guard configuration.corsOrigins.contains(origin) else { return nil }
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    }

    /// POST /publish/ROOM: the body is the message (text when it is UTF-8 and
    /// the Content-Type is not application/octet-stream), `?event=NAME` names it.
    private func publish(_ request: HTTPRequest, to rest: String, authorize: @Sendable (HTTPRequestHead) -> PublishAuthorization,
                         from connection: Connection<ServerHandler>) -> HTTPReply {
        switch authorize(request.head) {
        case .allowed: break
        case .unauthenticated:
            return HTTPReply(status: 401, headers: [("WWW-Authenticate", "Bearer")], body: Array("an Authorization: Bearer token is required\n".utf8))
        case .forbidden:
            return HTTPReply(status: 403, body: Array("that token may not publish\n".utf8))
        }
        guard let room = URLComponent.roomName(rest) else { return HTTPReply(status: 400, body: Array("a room name is missing or malformed\n".utf8)) }
        let binary = request.head.header("Content-Type")?.lowercased().hasPrefix("application/octet-stream") ?? false
        if !binary && String(validating: request.body, as: UTF8.self) == nil {
            return HTTPReply(status: 400, body: Array("the body is not UTF-8; send binary as application/octet-stream\n".utf8))
        }
        let event = queryValue("event", in: request.head.query)
        rooms.publish(BroadcastMessage(opcode: binary ? .binary : .text, payload: request.body, name: event), to: room)
        rooms.forwardNow()  // sequenced before the 202 can lead the client to publish again
        return HTTPReply(status: 202, headers: [("Content-Type", "application/json")],
                         body: Array("{\"room\":".utf8) + JSONString.quoted(Array(room.utf8)) + Array(",\"accepted\":true}".utf8))
    }
}

/// The value of `name` in a query string (`a=1&b=2`), percent-decoded; "" when present without a value.
func queryValue(_ name: String, in query: String?) -> String? {
    guard let query else { return nil }
    for pair in query.split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        if parts[0] == name { return parts.count > 1 ? URLComponent.decoded(String(parts[1])) ?? "" : "" }
    }
    return nil
}
