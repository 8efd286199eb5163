import Events
import PushServer
import Synchronization
@testable import wsbench

/// echo-server's events mode on an in-process PushServer: a session opened
/// at `/events/ws?room=NAME[&self=0]` joins room NAME, and its event
/// `publish` reaches the room as event `message` with the same argument
/// (not back to the sender with `self=0`). It can misbehave on purpose: a
/// fault with one message of publisher 0 (so every member sees it once),
/// frequent pings, middleware that refuses every socket, or the end of every
/// session but the publishers' at one message.
enum EventsRoomServer {
    struct Settings {
        var fault = PushRoomServer.Fault.none
        var threads = 1
        var pingInterval: Duration = .seconds(25)
        var pingTimeout: Duration = .seconds(20)
        /// Middleware refuses every socket with this message.
        var refusal: String?
        /// When publisher 0 publishes this sequence, the server ends every other session instead.
        var endSessionsAt: UInt64?
    }

    /// Serves on 127.0.0.1 and a free port; returns the server with the port.
    static func start(_ settings: Settings = Settings()) throws -> (PushServer, Int) {
        var configuration = ServerConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.threads = settings.threads
        configuration.timerTick = .milliseconds(50)
        configuration.drainTimeout = .milliseconds(500)
        let server = PushServer(configuration: configuration)
        var events = EventServerConfiguration()
        events.sessions.pingInterval = settings.pingInterval
        events.sessions.pingTimeout = settings.pingTimeout
        let io = EventServer(server: server, configuration: events)
        if let refusal = settings.refusal { io.use { _ in throw ConnectionRefused(refusal) } }
        let fault = settings.fault
        let heldBack = PushRoomServer.HeldBack()
        let sockets = Mutex<[Socket]>([])
        io.onConnection { socket in
            sockets.withLock { $0.append(socket) }
            let room = socket.handshake.queryValue("room").flatMap { $0.isEmpty ? nil : $0 }
            let includeSelf = socket.handshake.queryValue("self") != "0"
            if let room { socket.join(room) }
            socket.on("publish") { arguments, _ in
                guard let room, let text = arguments.first?.string else { return }
                let fields = Array(text.utf8).withUnsafeBytes { TextMessageHeader.read($0.baseAddress!, count: $0.count) }
                if let end = settings.endSessionsAt, fields?.sender == 0, fields?.sequence == end {
                    for other in sockets.withLock({ $0 }) where other != socket { other.disconnect(close: true) }
                    return
                }
                for message in PushRoomServer.apply(fault, to: Array(text.utf8), heldBack: heldBack) {
                    (includeSelf ? io.to(room) : socket.to(room)).emit("message", .string(String(decoding: message, as: UTF8.self)))
                }
            }
        }
        let address = try server.start()
        return (server, address.port)
    }
}
