import Broadcast
import Reactor
import WebSocketCodec

/// `GET /iframe/ROOM`: iframe streaming, an HTML document that never ends,
/// one `<script>parent.push(seq, "data"[, "event"])</script>` per message.
final class ScriptStreamTransport: RoomStreamTransport, HTTPEndpoint {
    let index: UInt8
    let label = "iframe"
    let format: WireFormat
    let keepAlive = Array("<!-- keep-alive -->\n".utf8)

    init(index: UInt8, format: WireFormat) {
        self.index = index
        self.format = format
    }

    func serve(_ call: RouteCall, on connection: ServerConnection) -> RequestOutcome {
        guard let room = URLComponent.roomName(call.rest) else {
            return HTTPFrontDoor.finish(connection, call.head, .roomNameMissing, cors: call.cors)
        }
        if call.head.method == "HEAD" {
            return HTTPFrontDoor.answerHead(connection, call.head, contentType: "text/html; charset=utf-8", chunked: true, cors: call.cors)
        }
        guard let options = SubscriptionOptions(query: call.head.query) else {
            return HTTPFrontDoor.finish(connection, call.head, .badSubscriptionQuery, cors: call.cors)
        }
        // Browsers render a streamed document only after its first kilobyte or so.
        // The room name comes from the URL: escaped, or /iframe/%3Cscript%3E... would run in our origin.
        let prelude = "<!doctype html><meta charset=\"utf-8\"><title>\(Self.htmlEscaped(room))</title>\n<!--"
            + String(repeating: " ", count: 1024) + "-->\n"
        ChunkedStream.writeHead(connection, contentType: "text/html; charset=utf-8", cors: call.cors, first: Array(prelude.utf8))
        open(connection, room: room, format: format, options: options)
        return .done
    }

    /// Text safe between HTML tags and in attribute values.
    static func htmlEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

}

/// A message as a call the page's script defines, in one chunk:
/// `parent.push(seq, "data", "event")`. The string is JSON-escaped and `<`,
/// `>`, `&`, U+2028 and U+2029 are escaped too, so no message can close the
/// script element. Binary messages go as their Base64 text.
struct ScriptCallEncoder: WireEncoder {
    func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8]) {
        let text = message.opcode == .binary ? Array(Base64.encode(message.payload).utf8) : message.payload
        var call = Array("<script>parent.push(\(sequence),".utf8) + JSONString.quoted(text, htmlSafe: true)
        if let name = message.name { call += [UInt8(ascii: ",")] + JSONString.quoted(Array(name.utf8), htmlSafe: true) }
        call += Array(");</script>\n".utf8)
        ChunkedStream.appendChunk(call, to: &output)
    }

    func maximumSize(of message: BroadcastMessage) -> Int {
        // Every byte escaped as \u00XX.
        (message.payload.count + (message.name?.utf8.count ?? 0)) * 6 + 64 + ChunkedStream.framingSize
    }
}

extension PushServer {
    /// iframe streaming of the room named by the "*" of `pattern` (e.g. "/iframe/*").
    public func scriptStreams(_ pattern: PathPattern) {
        let transport = transport(ScriptStreamTransport.self) { index, formats in
            ScriptStreamTransport(index: index, format: formats.register(ScriptCallEncoder()))
        }
        add("GET", pattern, transport)
    }
}
