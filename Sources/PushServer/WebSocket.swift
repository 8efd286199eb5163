import Broadcast
import Reactor
import WebSocketCodec

/// Names a WebSocket anywhere in the server: its loop and its slot there.
public struct WebSocketID: Hashable, Sendable, CustomStringConvertible {
    public let loop: Int
    public let connection: ConnectionID

    public var description: String { "\(loop).\(connection)" }
}

/// A handle to one WebSocket. Sends are corked: everything sent during one
/// callback leaves in one write. Use it on the socket's loop (carry it there
/// in a `LoopBound`). A handle kept after its socket closed is inert: it
/// names the connection with its slot's generation, so once the slot serves
/// another client, nothing sent through the old handle reaches that client.
public struct WebSocket {
    /// The loop's connections, which outlive the server's handles. Unmanaged and lent to each
    /// use, as `Connection` holds them: an `unowned(unsafe)` reference was retained and released
    /// around every call through it.
    private let owner: Unmanaged<Connections<ServerHandler>>
    let connectionID: ConnectionID

    init(_ connection: ServerConnection) {
        owner = Unmanaged.passUnretained(connection.connections)
        connectionID = connection.id
    }

    var connections: Connections<ServerHandler> { owner.takeUnretainedValue() }

    /// The connection, while this handle still names it (in its close callback too).
    private var connection: ServerConnection? { owner._withUnsafeGuaranteedRef { $0.connection(connectionID, orClosing: true) } }

    var handler: ServerHandler { connections.handler }

    public var id: WebSocketID { WebSocketID(loop: connections.loop.index, connection: connectionID) }
    /// The client's address (a system call each time).
    public var peerAddress: SocketAddress? { connection?.peerAddress }
    public var loop: EventLoop { connections.loop }

    /// False once closing began (a close frame was sent or received) or the connection is gone.
    public var isOpen: Bool {
        guard let connection = owner._withUnsafeGuaranteedRef({ $0.connection(connectionID) }) else { return false }
        return connection.context.transport == ServerTransports.webSocket && !connection.context.closing
    }

    /// The open connection this handle names; nil once closing began.
    private var openConnection: ServerConnection? { isOpen ? connection : nil }

    /// The application's data for this connection.
    public var userData: AnyObject? {
        get { connection?.context.userData }
        nonmutating set { connection?.context.userData = newValue }
    }

    /// A small integer of the application's, for flags that need no allocation.
    public var tag: UInt32 {
        get { connection?.context.tag ?? 0 }
        nonmutating set { connection?.context.tag = newValue }
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
        guard let connection = openConnection else { return }
        WebSocketTransport.sendFrame(connection, opcode: opcode, payload: payload)
    }

    /// Bytes written but not yet taken by the kernel (backpressure).
    public var bufferedAmount: Int { connection?.queuedBytes ?? 0 }

    /// Starts the closing handshake.
    public func close(code: CloseCode = .normalClosure, reason: String = "") {
        guard let connection else { return }
        WebSocketTransport.startClose(connection, code: code, reason: reason)
    }

    // MARK: Rooms

    /// The broadcaster's part on this socket's loop.
    public var broadcaster: LoopBroadcaster { handler.rooms }

    /// Joins `room` (again a no-op). With `resumeAfter`, the room's messages
    /// after that sequence are sent first, from history; `resumed` says how it went.
    public func join(_ room: String, options: SubscriptionOptions = SubscriptionOptions(), resumeAfter: UInt64? = nil,
                     resumed: (@Sendable (LoopBroadcaster.ResumeResult) -> Void)? = nil) {
        guard let connection = openConnection else { return }
        handler.join(connection, room, format: handler.webSocketFormat(of: connection), options: options, resumeAfter: resumeAfter,
                     resumed: resumed)
    }

    public func leave(_ room: String) {
        guard let connection else { return }
        handler.leave(connection, room)
    }

    /// The rooms this socket is in.
    public var rooms: [String] {
        guard let connection else { return [] }
        return handler.roomNames(of: connection)
    }

    /// The first room this socket joined (no allocation: for the one-room case).
    public var room: String? {
        guard let first = connection?.context.firstRoom, first != .none else { return nil }
        return handler.rooms.roomName(at: first.room)
    }

    /// Who this socket is, for exclusions.
    public var subscriberID: SubscriberID { SubscriberID(loop: loop.index, connection: connectionID) }

    /// Publishes to a room (the sender need not be a member). With
    /// `includeSelf: false`, the sender does not get its own message.
    /// `completion` (on this socket's loop) says how it went: with a room
    /// backend that spans processes a publish can fail.
    public func publish(_ message: BroadcastMessage, to room: String, includeSelf: Bool = true, completion: PublishCompletion? = nil) {
        handler.rooms.publish(message, to: room, excluding: Exclusion(subscriber: includeSelf ? nil : subscriberID), completion: completion)
    }

    /// Publishes to several rooms: a member of more than one gets it once.
    public func publish(_ message: BroadcastMessage, to rooms: [String], includeSelf: Bool = true) {
        handler.rooms.publish(message, to: rooms, excluding: includeSelf ? nil : subscriberID)
    }

    /// Drops the connection at once, without a closing handshake.
    public func terminate() {
        connection?.close(reason: .local)
    }
}
