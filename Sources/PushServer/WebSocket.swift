import Broadcast
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

    /// A small integer of the application's, for flags that need no allocation.
    public var tag: UInt32 {
        get { connection.context.tag }
        nonmutating set { connection.context.tag = newValue }
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

    // MARK: Rooms

    /// The broadcaster's part on this socket's loop.
    public var broadcaster: LoopBroadcaster { handler.rooms }

    /// Joins `room` (again a no-op). With `resumeAfter`, the room's messages
    /// after that sequence are sent first, from history; `resumed` says how it went.
    public func join(_ room: String, resumeAfter: UInt64? = nil,
                     resumed: (@Sendable (LoopBroadcaster.ResumeResult) -> Void)? = nil) {
        guard isOpen else { return }
        handler.join(connection, room, resumeAfter: resumeAfter, resumed: resumed)
    }

    public func leave(_ room: String) { handler.leave(connection, room) }

    /// The rooms this socket is in.
    public var rooms: [String] { handler.roomNames(of: connection) }

    /// The first room this socket joined (no allocation: for the one-room case).
    public var room: String? {
        let first = connection.context.firstRoom
        return first == .none ? nil : handler.rooms.roomName(at: first.room)
    }

    /// Who this socket is, for exclusions.
    public var subscriberID: SubscriberID { SubscriberID(loop: loop.index, connection: connection.id) }

    /// Publishes to a room (the sender need not be a member). With
    /// `includeSelf: false`, the sender does not get its own message.
    public func publish(_ message: BroadcastMessage, to room: String, includeSelf: Bool = true) {
        handler.rooms.publish(message, to: room, excluding: Exclusion(subscriber: includeSelf ? nil : subscriberID))
    }

    /// Publishes to several rooms: a member of more than one gets it once.
    public func publish(_ message: BroadcastMessage, to rooms: [String], includeSelf: Bool = true) {
        handler.rooms.publish(message, to: rooms, excluding: includeSelf ? nil : subscriberID)
    }

    /// Drops the connection at once, without a closing handshake.
    public func terminate() {
        handler.terminate(connection)
    }
}
