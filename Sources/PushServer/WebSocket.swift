import Reactor
import WebSocketCodec

/// Names a WebSocket anywhere in the server: its loop and its slot there.
public struct WebSocketID: Hashable, Sendable, CustomStringConvertible {
    public let loop: Int
    public let connection: ConnectionID

    public var description: String { "\(loop).\(connection)" }
}

/// A handle to one WebSocket, valid during the callback that received it.
/// Sends are corked: everything sent during one callback leaves in one write.
public struct WebSocket {
    let connection: Connection<ServerHandler>

    init(_ connection: Connection<ServerHandler>) { self.connection = connection }

    var handler: ServerHandler { connection.connections.handler }

    public var id: WebSocketID { WebSocketID(loop: connection.loop.index, connection: connection.id) }
    public var loop: EventLoop { connection.loop }
    /// False once closing began (a close frame was sent or received) or the connection is gone.
    public var isOpen: Bool { connection.isOpen && connection.context.phase == .webSocket }

    /// The application's data for this connection.
    public var userData: AnyObject? {
        get { connection.context.userData }
        nonmutating set { connection.context.userData = newValue }
    }

    public func send(text: String) {
        var text = text
        text.withUTF8 { send(UnsafeRawBufferPointer($0), opcode: .text) }
    }

    public func send(binary bytes: [UInt8]) {
        bytes.withUnsafeBytes { send($0, opcode: .binary) }
    }

    /// Sends one unfragmented message (.text payloads must be valid UTF-8).
    public func send(_ payload: UnsafeRawBufferPointer, opcode: Opcode) {
        guard isOpen else { return }
        handler.sendFrame(connection, opcode: opcode, payload: payload)
    }

    /// Bytes written but not yet taken by the kernel (backpressure).
    public var bufferedAmount: Int { connection.queuedBytes }

    /// Starts the closing handshake.
    public func close(code: CloseCode = .normalClosure, reason: String = "") {
        handler.startClose(connection, code: code, reason: reason)
    }

    /// Drops the connection at once, without a closing handshake.
    public func terminate() {
        handler.terminate(connection)
    }
}
