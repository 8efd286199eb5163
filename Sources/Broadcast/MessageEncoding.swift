import Reactor
import WebSocketCodec

/// One format's encoding of a batch: the messages back to back in one
/// shared buffer, with each message's end offset.
final class Encoding: @unchecked Sendable {
    /// Grows (by copying) only while its batch is open; fixed once sealed.
    @exclusivity(unchecked) private(set) var buffer: SharedBuffer
    private(set) var ends: [Int] = []

    init(capacity: Int) { buffer = SharedBuffer(capacity: capacity) }

    /// Makes room for `additional` bytes. Batches start small, so a quiet
    /// room's history holds kilobytes, not a full batch capacity per message.
    func reserve(_ additional: Int) {
        guard buffer.freeCapacity < additional else { return }
        let larger = SharedBuffer(capacity: max(buffer.capacity * 2, buffer.count + additional))
        larger.append(buffer.bytes)
        buffer = larger
    }

    @inline(__always)
    func start(of index: Int) -> Int { index == 0 ? 0 : ends[index - 1] }

    /// Appends one encoded message.
    func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        buffer.append(bytes)
        ends.append(buffer.count)
    }

    /// Appends one message of at most `maximumSize` bytes, encoded in place by
    /// `encode`, which returns its size.
    func append(maximumSize: Int, encodingWith encode: (UnsafeMutableRawPointer) -> Int) {
        reserve(maximumSize)
        buffer.count += encode(buffer.base + buffer.count)
        precondition(buffer.count <= buffer.capacity, "the encoder wrote more than it said")
        ends.append(buffer.count)
    }
}

/// Encoders of the non-WebSocket formats. Text goes out as it is; binary
/// payloads as Base64 (with `"binary":true` in JSON, `event: binary` in SSE
/// unless the message has a name).
enum MessageEncoder {
    static func encode(_ format: WireFormat, sequence: UInt64, message: BroadcastMessage) -> [UInt8] {
        switch format {
        case .webSocket:
            return FrameEncoder.frame(opcode: message.opcode, payload: message.payload)
        case .eventStream:
            return chunked(eventStream(sequence: sequence, message: message))
        case .pollElement:
            return pollElement(sequence: sequence, message: message)
        case .scriptCall:
            return chunked(scriptCall(sequence: sequence, message: message))
        }
    }

    /// `id: N`, `event: NAME`, one `data:` line per line of the text, a blank line.
    static func eventStream(sequence: UInt64, message: BroadcastMessage) -> [UInt8] {
        var out = Array("id: \(sequence)\n".utf8)
        if let name = message.name {
            out += Array("event: \(name)\n".utf8)
        } else if message.opcode == .binary {
            out += Array("event: binary\n".utf8)
        }
        let text = message.opcode == .binary ? Array(Base64.encode(message.payload).utf8) : message.payload
        // Lines split at CRLF, LF or CR, as the EventSource parser splits them.
        var line: [UInt8] = []
        var index = 0
        func emit() {
            out += Array("data: ".utf8) + line + [0x0A]
            line.removeAll(keepingCapacity: true)
        }
        while index < text.count {
            let byte = text[index]
            if byte == 0x0D || byte == 0x0A {
                emit()
                if byte == 0x0D && index + 1 < text.count && text[index + 1] == 0x0A { index += 1 }
            } else {
                line.append(byte)
            }
            index += 1
        }
        emit()
        out.append(0x0A)
        return out
    }

    static func pollElement(sequence: UInt64, message: BroadcastMessage) -> [UInt8] {
        var out = Array(",{\"seq\":\(sequence)".utf8)
        if let name = message.name { out += Array(",\"event\":".utf8) + JSONString.quoted(Array(name.utf8)) }
        if message.opcode == .binary {
            out += Array(",\"binary\":true,\"data\":".utf8) + JSONString.quoted(Array(Base64.encode(message.payload).utf8))
        } else {
            out += Array(",\"data\":".utf8) + JSONString.quoted(message.payload)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A call the page's script defines: `parent.push(seq, "data", "event")`.
    /// The string is JSON-escaped and `<`, `>`, `&`, U+2028 and U+2029 are
    /// escaped too, so no message can close the script element.
    static func scriptCall(sequence: UInt64, message: BroadcastMessage) -> [UInt8] {
        let text = message.opcode == .binary ? Array(Base64.encode(message.payload).utf8) : message.payload
        var out = Array("<script>parent.push(\(sequence),".utf8) + JSONString.quoted(text, htmlSafe: true)
        if let name = message.name { out += [UInt8(ascii: ",")] + JSONString.quoted(Array(name.utf8), htmlSafe: true) }
        out += Array(");</script>\n".utf8)
        return out
    }

    /// An HTTP/1.1 chunk: hex length, CRLF, the bytes, CRLF.
    static func chunked(_ body: [UInt8]) -> [UInt8] {
        Array(String(body.count, radix: 16).utf8) + [0x0D, 0x0A] + body + [0x0D, 0x0A]
    }
}

/// JSON string literals.
public enum JSONString {
    /// `utf8` as a quoted JSON string; with `htmlSafe`, also safe inside a `<script>` element.
    public static func quoted(_ utf8: [UInt8], htmlSafe: Bool = false) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(utf8.count + 2)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            switch byte {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20: out += Array(unicodeEscape(UInt16(byte)).utf8)
            case UInt8(ascii: "<") where htmlSafe, UInt8(ascii: ">") where htmlSafe, UInt8(ascii: "&") where htmlSafe:
                out += Array(unicodeEscape(UInt16(byte)).utf8)
            case 0xE2 where htmlSafe && index + 2 < utf8.count && utf8[index + 1] == 0x80 && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
                // U+2028 / U+2029 end a line in older JavaScript.
                out += Array(unicodeEscape(utf8[index + 2] == 0xA8 ? 0x2028 : 0x2029).utf8)
                index += 2
            default: out.append(byte)
            }
            index += 1
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private static func unicodeEscape(_ value: UInt16) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
