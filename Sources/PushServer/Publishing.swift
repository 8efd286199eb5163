import Broadcast
import Reactor
import WebSocketCodec

/// `POST /publish/ROOM[?event=NAME]`: the body is the message (text when it
/// is UTF-8 and the Content-Type is not application/octet-stream), published
/// to the room when `authorize` allows.
struct Publishing: HTTPEndpoint {
    let authorize: @Sendable (HTTPRequestHead) -> PublishAuthorization

    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        HTTPFrontDoor.finish(connection, call.head, publish(call.request, to: call.rest, on: connection), cors: call.cors)
    }

    private func publish(_ request: HTTPRequest, to rest: String, on connection: ServerConnection) -> HTTPReply {
        switch authorize(request.head) {
        case .allowed: break
        case .unauthenticated:
            return HTTPReply(status: 401, headers: [("WWW-Authenticate", "Bearer")], body: Array("an Authorization: Bearer token is required\n".utf8))
        case .forbidden:
            return HTTPReply(status: 403, body: Array("that token may not publish\n".utf8))
        }
        guard let room = URLComponent.roomName(rest) else { return .roomNameMissing }
        // Closing: a publish taken now might not reach the members before their 1001.
        guard !connection.loop.isShuttingDown else {
            return HTTPReply(status: 503, headers: [("Retry-After", "1")], body: Array("the server is shutting down; publish to another\n".utf8))
        }
        let binary = request.head.header("Content-Type")?.lowercased().hasPrefix("application/octet-stream") ?? false
        if !binary && String(validating: request.body, as: UTF8.self) == nil {
            return HTTPReply(status: 400, body: Array("the body is not UTF-8; send binary as application/octet-stream\n".utf8))
        }
        let query = request.head.query
        let event = QueryString.value("event", in: query)
        let key = QueryString.value("key", in: query).flatMap { $0.isEmpty ? nil : $0 }
        let isVolatile = QueryString.value("volatile", in: query) == "1"
        let rooms = connection.connections.handler.rooms
        rooms.publish(BroadcastMessage(opcode: binary ? .binary : .text, payload: request.body, name: event, key: key, isVolatile: isVolatile),
                      to: room)
        rooms.forwardNow()  // sequenced before the 202 can lead the client to publish again
        return HTTPReply(status: 202, headers: [("Content-Type", "application/json")],
                         body: Array("{\"room\":".utf8) + JSONString.quoted(Array(room.utf8)) + Array(",\"accepted\":true}".utf8))
    }
}

extension PushServer {
    /// POST a message to the room named by the "*" of `pattern` (e.g. "/publish/*"), when `authorize` allows.
    public func publishing(_ pattern: PathPattern, authorize: @escaping @Sendable (HTTPRequestHead) -> PublishAuthorization) {
        add("POST", pattern, Publishing(authorize: authorize))
    }
}
