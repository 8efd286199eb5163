import Broadcast
import Reactor
import WebSocketCodec

/// `POST /publish/ROOM[?event=NAME]`: the body is the message (text when it
/// is UTF-8 and the Content-Type is not application/octet-stream), published
/// to the room when `authorize` allows. Numbered in this process, it is
/// answered at once; with a backend that numbers elsewhere (Redis), the
/// connection waits for the backend's answer (`PublishWait`), and requests
/// pipelined behind it wait with it.
struct Publishing: HTTPEndpoint {
    let authorize: @Sendable (HTTPRequestHead) -> PublishAuthorization
    let waiting: PublishWait

    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        switch authorize(call.head) {
        case .allowed: break
        case .unauthenticated:
            return HTTPFrontDoor.finish(connection, call.head, HTTPReply(status: 401, headers: [("WWW-Authenticate", "Bearer")],
                                                                         body: Array("an Authorization: Bearer token is required\n".utf8)), cors: call.cors)
        case .forbidden:
            return HTTPFrontDoor.finish(connection, call.head, HTTPReply(status: 403, body: Array("that token may not publish\n".utf8)), cors: call.cors)
        }
        let request = call.request
        guard let room = URLComponent.roomName(call.rest) else { return HTTPFrontDoor.finish(connection, call.head, .roomNameMissing, cors: call.cors) }
        // Closing: a publish taken now might not reach the members before their 1001.
        guard !connection.loop.isShuttingDown else {
            let reply = HTTPReply(status: 503, headers: [("Retry-After", "1")], body: Array("the server is shutting down; publish to another\n".utf8))
            return HTTPFrontDoor.finish(connection, call.head, reply, cors: call.cors)
        }
        let binary = request.head.header("Content-Type")?.lowercased().hasPrefix("application/octet-stream") ?? false
        if !binary && String(validating: request.body, as: UTF8.self) == nil {
            let reply = HTTPReply(status: 400, body: Array("the body is not UTF-8; send binary as application/octet-stream\n".utf8))
            return HTTPFrontDoor.finish(connection, call.head, reply, cors: call.cors)
        }
        let query = request.head.query
        let key = QueryString.value("key", in: query).flatMap { $0.isEmpty ? nil : $0 }
        let message = BroadcastMessage(opcode: binary ? .binary : .text, payload: request.body, name: QueryString.value("event", in: query),
                                       key: key, isVolatile: QueryString.value("volatile", in: query) == "1")
        let rooms = connection.connections.handler.rooms
        guard rooms.publishesAreNumberedHere else {
            return waiting.publish(message, to: room, on: connection, head: call.head, cors: call.cors)
        }
        rooms.publish(message, to: room)
        rooms.forwardNow()  // sequenced before the 202 can lead the client to publish again
        return HTTPFrontDoor.finish(connection, call.head, Self.accepted(room, sequence: nil), cors: call.cors)
    }

    /// `202 {"room":"R","accepted":true}`, with `"seq":N` when the backend said which.
    static func accepted(_ room: String, sequence: UInt64?) -> HTTPReply {
        var body = Array("{\"room\":".utf8) + JSONString.quoted(Array(room.utf8)) + Array(",\"accepted\":true".utf8)
        if let sequence { body += Array(",\"seq\":\(sequence)".utf8) }
        return HTTPReply(status: 202, headers: [("Content-Type", "application/json")], body: body + [UInt8(ascii: "}")])
    }

    /// 503 when nothing was published (try again), 504 when the backend was lost before it answered.
    static func failed(_ room: String, _ error: PublishError) -> HTTPReply {
        let status: Int, accepted: String
        var headers = [("Content-Type", "application/json")]
        switch error {
        case .unavailable, .refused:
            status = 503
            accepted = "false"
            headers.append(("Retry-After", "1"))
        case .outcomeUnknown:
            status = 504
            accepted = "null"
        }
        let body = Array("{\"room\":".utf8) + JSONString.quoted(Array(room.utf8)) + Array(",\"accepted\":\(accepted),\"error\":".utf8)
            + JSONString.quoted(Array(error.description.utf8)) + [UInt8(ascii: "}")]
        return HTTPReply(status: status, headers: headers, body: body)
    }
}

/// A connection whose publish waits for the room backend's answer. It reads
/// nothing meanwhile (requests pipelined behind it wait), and goes back to the
/// front door with the answer: 202, or 503/504 (`Publishing.failed`). The
/// backend answers within its own timeouts; `publishTimeout` is the bound
/// should it not.
final class PublishWait: ConnectionTransport {
    let index: UInt8
    let label = "publish_wait"

    init(index: UInt8) { self.index = index }

    /// What the answer needs; also tells this publish's answer from a later one's on the same connection.
    final class PendingPublish {
        let room: String
        let head: HTTPRequestHead
        let cors: [(String, String)]?

        init(room: String, head: HTTPRequestHead, cors: [(String, String)]?) {
            self.room = room
            self.head = head
            self.cors = cors
        }
    }

    func publish(_ message: BroadcastMessage, to room: String, on connection: ServerConnection, head: HTTPRequestHead,
                 cors: [(String, String)]?) -> RequestOutcome {
        let handler = handler(of: connection)
        let pending = PendingPublish(room: room, head: head, cors: cors)
        connection.context.transport = index
        connection.context.transportState = pending
        connection.setTimeout(nanoseconds: handler.configuration.publishTimeout.nanoseconds)
        let connections = LoopBound(connection.connections, loop: connection.loop)
        let id = connection.id
        let token = LoopBound(pending, loop: connection.loop)
        handler.rooms.publish(message, to: room) { [self] result in
            // On this loop. The connection may have gone, or timed out and moved on to another request.
            guard let connection = connections.value.connection(id), connection.context.transportState === token.value else { return }
            switch result {
            case .success(let sequence): answer(connection, Publishing.accepted(room, sequence: sequence))
            case .failure(let error): answer(connection, Publishing.failed(room, error))
            }
        }
        return .hold
    }

    private func answer(_ connection: ServerConnection, _ reply: HTTPReply) {
        guard let pending = connection.context.transportState as? PendingPublish else { return }
        // During a graceful shutdown the answer is the connection's last, and says so.
        let keepAlive = HTTPFrontDoor.wantsKeepAlive(pending.head) && !connection.loop.isShuttingDown
        var headers = reply.headers + (pending.cors ?? [])
        if !keepAlive { headers.append(("Connection", "close")) }
        connection.write(HTTPResponse.make(status: reply.status, headers: headers, body: reply.body))
        guard connection.isOpen else { return }
        let handler = handler(of: connection)
        handler.statistics.httpResponses += 1
        handler.returnToFrontDoor(connection, keepAlive: keepAlive)
    }

    // MARK: ConnectionTransport

    func received(_ connection: ServerConnection, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        0  // pipelined requests wait for the answer
    }

    /// The backend never answered: the outcome is not known.
    func timedOut(_ connection: ServerConnection) {
        guard let pending = connection.context.transportState as? PendingPublish else { return connection.close(reason: .timedOut) }
        answer(connection, Publishing.failed(pending.room, .outcomeUnknown("no answer from the room backend in time")))
    }

    /// A graceful shutdown: the publish is in the backend's hands, and the backend answers what
    /// is in flight before it closes (Redis replies before its connection goes); that answer is
    /// the connection's last. The drain timeout bounds the wait, like any connection's.
    func shuttingDown(_ connection: ServerConnection) {}

    /// A client that half-closed after its request still gets the answer.
    func readEnded(_ connection: ServerConnection) {
        connection.context.peerFinished = true
    }
}

extension PushServer {
    /// POST a message to the room named by the "*" of `pattern` (e.g. "/publish/*"), when `authorize` allows.
    public func publishing(_ pattern: PathPattern, authorize: @escaping @Sendable (HTTPRequestHead) -> PublishAuthorization) {
        let waiting = transport(PublishWait.self) { index, _ in PublishWait(index: index) }
        add("POST", pattern, Publishing(authorize: authorize, waiting: waiting))
    }
}
