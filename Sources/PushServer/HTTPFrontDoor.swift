import Broadcast
import Reactor
import WebSocketCodec

/// The transport of a connection that is reading HTTP requests: request heads
/// (and small bodies), keep-alive and pipelining, the upgrade to WebSocket,
/// and the hand-over to whatever endpoint a route names.
final class HTTPFrontDoor: ConnectionTransport {
    let index: UInt8
    let label = "http"

    init(index: UInt8) { self.index = index }

    func received(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        // After a refusal that closes, what follows (the rest of a refused body) is dropped unread.
        if connection.context.closing { return bytes.count }
        let consumed = receiveRequests(connection, bytes)
        if connection.context.peerFinished && connection.context.transport == index && connection.isOpen
            && !connection.isReadingPaused {  // paused: requests are still kept; the drain goes on with them
            handler(of: connection).closeWhenFlushed(connection)  // the half-closed client's last requests are answered
        }
        return consumed
    }

    func drained(_ connection: ServerConnection) {
        let wasPaused = connection.isReadingPaused
        let moreInput = connection.resumeReading()  // if it was paused by backpressure
        if wasPaused && !moreInput && connection.context.peerFinished {
            handler(of: connection).closeWhenFlushed(connection)  // a half-closed client's last answer has been read
        }
    }

    func timedOut(_ connection: ServerConnection) {
        // An idle keep-alive connection just ends (a 408 there could be read as the answer to a
        // request the client is sending at that moment); a request left half-sent is told why.
        if !connection.context.betweenRequests {
            connection.write(HTTPResponse.make(status: 408, body: Array("request head not received in time\n".utf8), close: true))
        }
        handler(of: connection).closeWhenFlushed(connection)
    }

    /// The client half-closed: it will send nothing more, but it may still
    /// read. What it already asked for is answered, then the connection closes.
    func readEnded(_ connection: ServerConnection) {
        connection.context.peerFinished = true
        // Requests kept behind a poll that was just answered are read first, then it closes.
        if !connection.resumeInput() {
            handler(of: connection).closeWhenFlushed(connection)
        }
    }

    private func receiveRequests(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        let handler = handler(of: connection)
        var offset = 0
        while offset < bytes.count && connection.context.transport == index && connection.isOpen {
            // Empty lines before a request line are ignored (RFC 9112 §2.2): some clients end a body with CRLF.
            while offset < bytes.count && (bytes[offset] == 0x0D || bytes[offset] == 0x0A) { offset += 1 }
            guard offset < bytes.count else { break }
            if handler.pausedForBackpressure(connection) { return offset }
            // A head arrives whole almost always; when it does not, it is
            // scanned again from its start (at most maxHeadSize bytes), which
            // keeps every connection's state free of a parser.
            let pending = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            var parser = HTTPHeadParser(maxHeadSize: handler.configuration.maxHeadSize)
            switch parser.parse(pending, reusing: handler.headRecycler) {
            case .needMore:
                connection.context.betweenRequests = false  // a head has begun
                // What has come of it is kept until the rest comes: only within the memory budget.
                if handler.wouldPassBudget(holding: pending.count) {
                    handler.refuseRequestForBudget(connection, .httpRequest)
                    return bytes.count
                }
                return offset
            case .invalid(let status, let reason):
                Self.respondAndClose(connection, status: status, reason: reason)
                return bytes.count
            case .complete(let head, let length):
                if head.hasToken("websocket", in: "Upgrade"), let route = handler.routes.webSocketRoute(for: head.path) {
                    offset += length
                    if handler.wouldPassBudget() {
                        handler.refuseRequestForBudget(connection, .websocketUpgrade)
                        return bytes.count
                    }
                    let webSocket = handler.transports[ServerTransports.webSocket] as! WebSocketTransport
                    let upgraded = webSocket.upgrade(connection, head: head, route: route)
                    handler.headRecycler.recycle(consume head)
                    guard upgraded else { return bytes.count }
                    return offset + webSocket.received(connection, UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]))
                }
                // Refusals of the body carry the CORS grant too, so a page elsewhere can read why.
                let cors = Self.corsHeaders(for: head, allowed: handler.configuration.corsOrigins) ?? []
                guard head.header("Transfer-Encoding") == nil else {
                    Self.respondAndClose(connection, status: 411, reason: "send the body with Content-Length, not chunked", headers: cors)
                    return bytes.count
                }
                guard let bodyLength = head.declaredContentLength else {
                    let declared = head.headerList("Content-Length").joined(separator: ", ")
                    Self.respondAndClose(connection, status: 400, reason: "bad Content-Length: \(declared) (one run of digits, or equal copies)",
                                         headers: cors)
                    return bytes.count
                }
                guard bodyLength <= handler.configuration.maxBodySize else {
                    Self.respondAndClose(connection, status: 413, reason: "request body over \(handler.configuration.maxBodySize) bytes",
                                         headers: cors)
                    return bytes.count
                }
                guard pending.count >= length + bodyLength else {  // the body is still arriving
                    connection.context.betweenRequests = false
                    if handler.wouldPassBudget(holding: pending.count) {
                        handler.refuseRequestForBudget(connection, .httpRequest, cors: cors)
                        return bytes.count
                    }
                    return offset
                }
                let request = HTTPRequest(head: head, body: Array(pending[length..<(length + bodyLength)]))
                switch route(request, input: pending, on: connection) {
                case .next: offset += length + bodyLength
                case .hold: return offset + length + bodyLength  // what is pipelined behind waits for resumeInput
                case .done: return bytes.count
                }
            }
        }
        return offset
    }

    /// Answers one request, or hands the connection to the endpoint's transport.
    private func route(_ request: HTTPRequest, input: UnsafeRawBufferPointer, on connection: ServerConnection) -> RequestOutcome {
        let handler = handler(of: connection)
        let head = request.head
        let cors = Self.corsHeaders(for: head, allowed: handler.configuration.corsOrigins)
        if head.method == "OPTIONS", head.header("Access-Control-Request-Method") != nil {
            guard cors != nil else {
                return Self.finish(connection, head, HTTPReply(status: 403, body: Array("origin not allowed\n".utf8)), cors: nil)
            }
            let preflight = [("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                             ("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID"),
                             ("Access-Control-Max-Age", "600")]
            return Self.finish(connection, head, HTTPReply(status: 204, headers: preflight), cors: cors)
        }
        switch handler.routes.httpRoute(method: head.method, path: head.path) {
        case .found(let route):
            if !route.endpoint.isServedOverBudget(head) && handler.wouldPassBudget() {
                handler.refuseRequestForBudget(connection, .httpRequest, cors: cors ?? [])
                return .done
            }
            let call = RouteCall(request: request, rest: route.pattern.rest(of: head.path), cors: cors, input: input)
            return route.endpoint.serve(call, on: connection)
        case .methodNotAllowed(let allowed):
            let reply = HTTPReply(status: 405, headers: [("Allow", allowed.joined(separator: ", "))], body: Array("method not allowed\n".utf8))
            return Self.finish(connection, head, reply, cors: cors)
        case .notFound:
            if handler.routes.webSocketRoute(for: head.path) != nil, case .failure(let rejection) = ServerHandshake.validate(head) {
                // A plain request on a WebSocket route: the handshake's own rejection says what is missing.
                connection.write(rejection.response)
                handler.closeWhenFlushed(connection)
                return .done
            }
            return Self.finish(connection, head, HTTPReply(status: 404, body: Array("no route for \(head.path)\n".utf8)), cors: cors)
        }
    }

    // MARK: Responses, for every endpoint

    /// Writes a complete response; keeps the connection for the next request
    /// unless the client (or HTTP/1.0) asked to close.
    static func finish(_ connection: ServerConnection, _ head: HTTPRequestHead, _ reply: HTTPReply, cors: [(String, String)]?) -> RequestOutcome {
        let keepAlive = wantsKeepAlive(head)
        var headers = reply.headers + (cors ?? [])
        if !keepAlive { headers.append(("Connection", "close")) }
        var response = HTTPResponse.make(status: reply.status, headers: headers, body: reply.body)
        if head.method == "HEAD" { response.removeLast(reply.body.count) }
        connection.write(response)
        connection.connections.handler.statistics.httpResponses += 1
        return responseEnded(connection, keepAlive: keepAlive) ? .next : .done
    }

    static func wantsKeepAlive(_ head: HTTPRequestHead) -> Bool {
        head.versionMinor >= 1 && !head.hasToken("close", in: "Connection")
    }

    /// After a whole response: wait for the next request, or close. Returns keepAlive.
    static func responseEnded(_ connection: ServerConnection, keepAlive: Bool) -> Bool {
        let handler = connection.connections.handler
        guard keepAlive else {
            handler.closeWhenFlushed(connection)
            return false
        }
        connection.context.betweenRequests = true
        connection.setTimeout(nanoseconds: handler.handshakeTimeout)
        return true
    }

    static func respondAndClose(_ connection: ServerConnection, status: Int, reason: String, headers: [(String, String)] = []) {
        connection.context.closing = true
        connection.write(HTTPResponse.make(status: status, headers: headers, body: Array((reason + "\n").utf8), close: true))
        connection.connections.handler.statistics.httpResponses += 1
        connection.connections.handler.closeWhenFlushed(connection)
    }

    /// HEAD on a route whose GET opens a stream or holds a poll: the head its
    /// GET would begin with, and nothing else (no stream opened, no length,
    /// since what the body would hold is not known without opening it).
    static func answerHead(_ connection: ServerConnection, _ head: HTTPRequestHead, contentType: String, chunked: Bool,
                           cors: [(String, String)]?) -> RequestOutcome {
        let keepAlive = wantsKeepAlive(head)
        var text = "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nContent-Type: \(contentType)\r\n"
        if chunked { text += "Transfer-Encoding: chunked\r\n" }
        for (name, value) in cors ?? [] { text += "\(name): \(value)\r\n" }
        if !keepAlive { text += "Connection: close\r\n" }
        connection.write(Array((text + "\r\n").utf8))
        connection.connections.handler.statistics.httpResponses += 1
        return responseEnded(connection, keepAlive: keepAlive) ? .next : .done
    }

    /// CORS response headers when the request's Origin is allowed; nil otherwise.
    static func corsHeaders(for head: HTTPRequestHead, allowed: [String]) -> [(String, String)]? {
        guard let origin = head.header("Origin"), !allowed.isEmpty else { return nil }
        if allowed.contains("*") { return [("Access-Control-Allow-Origin", "*")] }
        guard allowed.contains(origin) else { return nil }
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    }
}

/// What the front door does after an endpoint served a request.
enum RequestOutcome {
    /// Read the next request now.
    case next
    /// Keep what is pipelined behind it: the connection's transport hands it
    /// back to the front door later (a held poll).
    case hold
    /// Read nothing more: the connection closes, became a stream, or moved to another loop.
    case done
}

/// Query strings (`a=1&b=2`).
enum QueryString {
    /// The value of `name`, percent-decoded; "" when present without a value.
    static func value(_ name: String, in query: String?) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0] == name { return parts.count > 1 ? URLComponent.decoded(String(parts[1])) ?? "" : "" }
        }
        return nil
    }
}
