import Events
import Glibc
import PushServer
import Reactor
import Synchronization

// events-testbed: the events server with the handlers Tests/Events/run.sh
// drives client.js against (its contract is in Tests/Events/README-section.md).
//
//   events-testbed --port N [--host H] [--no-websocket] [--no-sse]
//                  [--ping-interval-ms MS] [--ping-timeout-ms MS] [--cors ORIGINS]

TerminationSignals.block()
/// The command line, or a message and exit 2.
func parseOptions(_ arguments: [String]) -> (ServerConfiguration, EventServerConfiguration) {
    var configuration = ServerConfiguration()
    configuration.host = "127.0.0.1"
    configuration.port = 0
    var events = EventServerConfiguration()
    var rest = arguments[...]
    func refuse(_ message: String) -> Never {
        StandardError.write("events-testbed: \(message)")
        exit(2)
    }
    func value(of flag: String) -> String {
        guard let next = rest.popFirst() else { refuse("\(flag) needs a value") }
        return next
    }
    func milliseconds(of flag: String) -> Duration {
        guard let count = Int(value(of: flag)), count > 0 else { refuse("\(flag) takes a positive number of milliseconds") }
        return .milliseconds(count)
    }
    while let flag = rest.popFirst() {
        switch flag {
        case "--port":
            guard let port = Int(value(of: flag)), (0...65535).contains(port) else { refuse("--port takes 0-65535") }
            configuration.port = port
        case "--host": configuration.host = value(of: flag)
        case "--no-websocket": events.sessions.transports.remove(.webSocket)
        case "--no-sse": events.sessions.transports.remove(.eventStream)
        case "--ping-interval-ms": events.sessions.pingInterval = milliseconds(of: flag)
        case "--ping-timeout-ms": events.sessions.pingTimeout = milliseconds(of: flag)
        case "--cors": configuration.corsOrigins = value(of: flag).split(separator: ",").map(String.init)
        default: refuse("unknown flag \(flag)")
        }
    }
    return (configuration, events)
}

let (configuration, events) = parseOptions(Array(CommandLine.arguments.dropFirst()))
let server = PushServer(configuration: configuration)
let io = EventServer(server: server, configuration: events)

io.onConnection { socket in
    socket.on("echo") { arguments, ack in ack.reply(arguments) }
    socket.on("ask-async") { arguments, ack async in
        try? await Task.sleep(nanoseconds: 100_000_000)
        ack.reply(arguments)
    }
    socket.on("join") { arguments, ack in
        if let room = arguments.first?.string { socket.join(room) }
        ack(true)
    }
    socket.on("leave") { arguments, ack in
        if let room = arguments.first?.string { socket.leave(room) }
        ack(true)
    }
    socket.on("rooms") { _, ack in ack.reply([.array(socket.rooms.sorted().map(JSON.string))]) }
    socket.on("to-room") { arguments, _ in
        guard let room = arguments.first?.string else { return }
        io.to(room).emit("msg", arguments.count > 1 ? arguments[1] : .null)
    }
    socket.on("to-room-but-me") { arguments, _ in
        guard let room = arguments.first?.string else { return }
        socket.to(room).emit("msg", arguments.count > 1 ? arguments[1] : .null)
    }
    socket.on("to-all-but-me") { arguments, _ in socket.broadcast.emit("msg", arguments.first ?? .null) }
    socket.on("to-all") { arguments, _ in io.emit("msg", arguments.first ?? .null) }
    socket.on("drop") { _, _ in socket.session.drop() }
    socket.on("ask") { arguments, _ in
        let payload = arguments.first ?? .null
        let timeout = Duration.milliseconds(arguments.count > 1 ? arguments[1].int ?? 5000 : 5000)
        socket.emit("question", payload, timeout: timeout) { result in
            switch result {
            case .success(let reply): socket.emit("answer", arguments: reply)
            case .failure(.timedOut): socket.emit("answer-timeout", payload)
            case .failure(.disconnected): break
            }
        }
    }
}

// /feed: every socket is in "ticks"; while one is connected, {"n": N} goes to it every 10 ms.
let feed = io.namespace("/feed")
let listeners = Atomic<Int>(0)
feed.onConnection { socket in
    socket.join("ticks")
    listeners.add(1, ordering: .relaxed)
    socket.onDisconnect { _ in listeners.subtract(1, ordering: .relaxed) }
}

// /private: only with auth.token "secret".
let secure = io.namespace("/private")
secure.use { socket in
    guard socket.auth["token"] == "secret" else { throw ConnectionRefused("not authorized", data: ["code": 401]) }
}

do {
    let address = try server.start()
    print("events-testbed listening on \(address)")
    fflush(nil)
} catch {
    StandardError.write("events-testbed: cannot listen on \(configuration.host):\(configuration.port): \(error)")
    exit(1)
}
if let loop = server.group?.loops.first {
    loop.execute {
        var next = 0
        loop.scheduleRepeating(every: 10_000_000) {
            guard listeners.load(ordering: .relaxed) > 0 else { return }
            next += 1
            feed.to("ticks").emit("tick", ["n": JSON(next)])
        }
    }
}
_ = TerminationSignals.wait()
server.shutdown()
