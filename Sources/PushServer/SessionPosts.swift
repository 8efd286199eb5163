import Reactor
import WebSocketCodec

/// `POST PATH/send?sid=TOKEN`: packets from the client of an SSE or polling
/// session, one per line, handed to the delegate in order; `204`.
struct SessionPosts: HTTPEndpoint {
    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        let record: SessionRecord
        switch SessionLocator.locate(call, on: connection) {
        case .moved: return .done
        case .refused(let reply): return HTTPFrontDoor.finish(connection, call.head, reply, cors: call.cors)
        case .found(let found): record = found
        }
        let sessions = connection.connections.handler.sessions!
        let body = call.request.body
        guard body.count <= sessions.service.configuration.maxPayload else {
            return HTTPFrontDoor.finish(connection, call.head, .sessionError(413, "the packets are over maxPayload bytes"), cors: call.cors)
        }
        guard String(validating: body, as: UTF8.self) != nil else {
            return HTTPFrontDoor.finish(connection, call.head, .sessionError(400, "the body is not UTF-8"), cors: call.cors)
        }
        sessions.heard(from: record)
        body.withUnsafeBytes { bytes in
            var start = 0
            for index in 0...bytes.count where index == bytes.count || bytes[index] == 0x0A {
                var end = index
                if end > start && bytes[end - 1] == 0x0D { end -= 1 }
                // A packet the delegate answered by closing the session ends the batch.
                if end > start && sessions.record(record.id) === record {
                    sessions.received(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), from: record)
                }
                start = index + 1
            }
        }
        return HTTPFrontDoor.finish(connection, call.head, HTTPReply(status: 204), cors: call.cors)
    }
}

/// Finds the session a request names by its `sid`, handing the request to
/// the session's loop when it arrived on another.
enum SessionLocator {
    enum Lookup {
        case found(SessionRecord)
        /// The connection went to the session's loop, which serves the request again there.
        case moved
        case refused(HTTPReply)
    }

    static func locate(_ call: RouteCall, on connection: ServerConnection) -> Lookup {
        let handler = connection.connections.handler
        guard let token = QueryString.value("sid", in: call.head.query), !token.isEmpty else {
            return .refused(.sessionError(400, "a sid is required"))
        }
        guard let dot = token.firstIndex(of: "."), let id = SessionID(token[..<dot]), id.boot == handler.rooms.broadcaster.bootID,
              id.loop < handler.loops.count else {
            return .refused(.sessionError(400, "unknown session"))
        }
        if id.loop != connection.loop.index {
            guard let moving = connection.detach(unconsumedInput: call.input) else { return .moved }  // it closed instead
            handler.statistics.movedRequests += 1
            handler.loops.run(on: id.loop) { $0.connections.adopt(moving) }
            return .moved
        }
        guard let record = handler.sessions.record(token: token) else {
            return .refused(.sessionError(400, "unknown session"))
        }
        return .found(record)
    }
}

extension HTTPReply {
    /// A session request refused: `{"error":"..."}`.
    static func sessionError(_ status: Int, _ message: String) -> HTTPReply {
        HTTPReply(status: status, headers: [("Content-Type", "application/json")],
                  body: Array("{\"error\":".utf8) + JSONString.quoted(Array(message.utf8)) + [UInt8(ascii: "}")])
    }
}
