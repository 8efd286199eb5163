import Events
import PushServer

/// echo-server's room mode over the events protocol (`/events/...`, any
/// transport, the client at `/events/client.js`). A socket of namespace "/"
/// whose session was opened with `?room=NAME` joins room NAME; its event
/// `publish` reaches that room as event `message` with the same arguments
/// (not back to the sender when the query also has `self=0`), and is
/// acknowledged once the room took it (with `{"error":…}` when it did not). `echo` is
/// acknowledged with its arguments; `join` and `leave` take a room name.
enum EventsMode {
    static func mount(on server: PushServer) -> EventServer {
        let io = EventServer(server: server)
        io.onConnection { socket in
            let room = socket.handshake.queryValue("room").flatMap { $0.isEmpty ? nil : $0 }
            let includeSelf = socket.handshake.queryValue("self") != "0"
            if let room { socket.join(room) }
            socket.on("publish") { arguments, ack in
                guard let room else { return ack("no room: open the session with ?room=NAME") }
                // Acknowledged once the room took it; with Redis gone, the acknowledgement carries the error.
                (includeSelf ? io.to(room) : socket.to(room)).emit("message", arguments: arguments) { result in
                    switch result {
                    case .success: ack()
                    case .failure(let error): ack(["error": .string("\(error)")])
                    }
                }
            }
            socket.on("echo") { arguments, ack in ack.reply(arguments) }
            socket.on("join") { arguments, ack in
                if let name = arguments.first?.string { socket.join(name) }
                ack(true)
            }
            socket.on("leave") { arguments, ack in
                if let name = arguments.first?.string { socket.leave(name) }
                ack(true)
            }
        }
        return io
    }
}
