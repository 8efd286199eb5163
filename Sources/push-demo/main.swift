import Broadcast
import Glibc
import PushServer
import Reactor

// push-demo: the documents' clock, pushed five ways. Room "clock" gets the
// time every second; GET / shows it fed by polling, long-polling, iframe
// streaming, Server-Sent Events and a WebSocket, side by side.
TerminationSignals.block()
var configuration = ServerConfiguration()
configuration.port = 8080
let usage = "usage: push-demo [--host ADDRESS] [--port N]   (default 0.0.0.0:8080)\n"
func refuse(_ problem: String) -> Never {
    StandardError.write("push-demo: \(problem)\n\(usage)")
    exit(2)
}
var arguments = Array(CommandLine.arguments.dropFirst())[...]
while let argument = arguments.popFirst() {
    switch argument {
    case "--host":
        guard let host = arguments.popFirst(), !host.isEmpty else { refuse("--host needs an address") }
        configuration.host = host
    case "--port":
        guard let text = arguments.popFirst(), let port = Int(text), (0...65535).contains(port) else {
            refuse("--port needs a number in 0...65535")
        }
        configuration.port = port
    case "-h", "--help":
        print(usage, terminator: "")
        exit(0)
    default:
        refuse("unknown option \(argument)")
    }
}

let server = PushServer(configuration: configuration)
server.webSocket("/room/*") { behavior in
    behavior.open = { socket, request in
        if let room = URLComponent.roomName(request.path.dropFirst("/room/".count)) { socket.join(room) }
    }
}
server.eventStreams("/sse/*")
server.polling("/poll/*")
server.scriptStreams("/iframe/*")
server.get("/") { _ in HTTPReply(contentType: "text/html; charset=utf-8", body: ClockPage.html) }

let address: SocketAddress
do {
    address = try server.start()
} catch {
    StandardError.write("push-demo: cannot listen on \(configuration.host):\(configuration.port): \(error)")
    exit(1)
}
if let group = server.group, let broadcaster = server.broadcaster {
    let loop = group.loops[0]
    loop.execute {
        loop.scheduleRepeating(every: 1_000_000_000) {
            broadcaster.part(on: loop).publish(BroadcastMessage(text: ClockPage.now(), name: "tick"), to: "clock")
        }
    }
}
print("push-demo listening on \(address): open http://\(address)/ to see the clock pushed five ways")
fflush(nil)
_ = TerminationSignals.wait()
server.shutdown()
