import Broadcast
import Reactor
import WebSocketCodec

/// Sessions over WebSocket (`GET PATH/ws`, upgraded): one packet per text
/// message, both ways. The WebSocket route does the framing, heartbeat and
/// closing handshake; this gives it the session's callbacks.
final class WebSocketSessions: ConnectionCarrier {
    let name = SessionTransportKind.webSocket.rawValue
    let format: WireFormat

    init(format: WireFormat) { self.format = format }

    /// The route's behavior: an upgrade opens a session, text messages are its packets.
    func behavior(configuration: SessionConfiguration) -> WebSocketBehavior {
        var behavior = WebSocketBehavior()
        let offered = configuration.transports.contains(.webSocket)
        behavior.maxMessageSize = configuration.maxPayload
        behavior.joinsEveryoneRoom = false  // its clients read packets, not raw room frames
        behavior.upgrade = { _ in offered ? .accept() : .reject(status: 403, reason: "this server does not offer WebSocket sessions") }
        behavior.open = { [self] socket, request in
            let handshake = SessionHandshake(transport: name, head: request.head, peerAddress: socket.peerAddress)
            socket.userData = socket.handler.sessions.open(carrier: self, connection: socket.connectionID, handshake: handshake)
        }
        behavior.message = { socket, message in
            guard let record = socket.userData as? SessionRecord else { return }
            guard message.opcode == .text else {
                socket.close(code: .unsupportedData, reason: "packets are JSON text")
                return
            }
            socket.handler.sessions.received(message.payload, from: record)
        }
        behavior.drain = { socket in
            guard let record = socket.userData as? SessionRecord else { return }
            socket.handler.sessions.drained(record)
        }
        behavior.close = { socket, code, _ in
            guard let record = socket.userData as? SessionRecord else { return }
            socket.handler.sessions.carrierEnded(record, reason: "websocket closed (\(code.rawValue))")
        }
        return behavior
    }

    func connection(of session: SessionRecord, on handler: ServerHandler) -> ServerConnection? {
        guard let id = session.connection, let connection = handler.connections.connection(id),
              connection.context.transport == ServerTransports.webSocket, !connection.context.closing else { return nil }
        return connection
    }

    func send(_ packet: UnsafeRawBufferPointer, to session: SessionRecord, on handler: ServerHandler) {
        guard let connection = connection(of: session, on: handler) else { return }
        WebSocketTransport.sendFrame(connection, opcode: .text, payload: packet)
    }

    func end(_ session: SessionRecord, on handler: ServerHandler) {
        guard let connection = connection(of: session, on: handler) else { return }
        WebSocketTransport.startClose(connection, code: .normalClosure, reason: "session closed")
    }
}

/// A room's packet as a WebSocket session gets it: one text frame.
struct SessionFrameEncoder: WireEncoder {
    func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8]) {
        var packet: [UInt8] = []
        SequencedPacket.append(message, sequence: sequence, to: &packet)
        output += FrameEncoder.frame(opcode: .text, payload: packet)
    }

    func maximumSize(of message: BroadcastMessage) -> Int { SequencedPacket.maximumSize(of: message) + 10 }
}
