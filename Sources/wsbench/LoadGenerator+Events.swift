import Reactor
import WebSocketCodec

// The events scenario's session opening. After the 101 the server sends
// `open`; wsbench answers `connect` for namespace "/", and the server's
// `connect` answer admits the socket (echo-server joins it to the room its
// query names then). Only that answer makes the connection established,
// so its handshake time runs to it and no message is sent before it. A few
// packets per connection: read with `WebSocketReader` and `EventPacket.scan`,
// not the fast path. After it, messages, pings and the session's end are
// the receive path's (`EventPacket` as its header format).
extension LoadGenerator {
    func receiveSessionOpening(_ connection: Connection<LoadGenerator>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        while true {
            let input = UnsafeMutableRawBufferPointer(rebasing: bytes[offset...])
            let (event, consumed) = if let shared = sharedInflater {
                connection.context.reader.read(input, role: .client, limits: limits, inflater: ownInflater(of: connection) ?? shared)
            } else {
                connection.context.reader.read(input, role: .client, limits: limits)
            }
            offset += consumed
            switch event {
            case .needMore:
                connection.context.readerBusy = !connection.context.reader.isIdle
                return offset
            case .message(let opcode, let payload):
                guard opcode == .text, let base = payload.baseAddress, let packet = EventPacket.scan(base, count: payload.count) else {
                    reject(connection, "the server's first messages are not events packets")
                    return bytes.count
                }
                switch packet.type {
                case .open:
                    writeFrame(connection, opcode: .text, payload: EventPacket.connect)
                case .ping:
                    writeFrame(connection, opcode: .text, payload: EventPacket.pong)
                case .connect:
                    connection.context.readerBusy = !connection.context.reader.isIdle
                    established(connection)
                    guard connection.isOpen else { return bytes.count }
                    return offset + receiveFrames(connection, UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]))
                case .connectError:
                    let reason = packet.reason.map { String(decoding: UnsafeRawBufferPointer(rebasing: payload[$0]), as: UTF8.self) }
                    reject(connection, "connect_error: \(reason ?? "no reason given")")
                    return bytes.count
                case .event, .close, .disconnect, .other:
                    reject(connection, "a \(packet.type.rawValue) packet before the answer to connect")
                    return bytes.count
                }
            case .ping(let payload):
                writeFrame(connection, opcode: .pong, payload: Array(payload))
            case .pong:
                break
            case .close(let code, _):
                statistics.pointee.closesByCode[code?.rawValue ?? 1005, default: 0] += 1
                reject(connection, "closed with \(code?.rawValue ?? 1005) before the answer to connect")
                return bytes.count
            case .failure(_, let reason):
                reject(connection, "protocol error from the server: \(reason)")
                return bytes.count
            }
        }
    }
}
