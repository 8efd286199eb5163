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
var arguments = Array(CommandLine.arguments.dropFirst())[...]
while let argument = arguments.popFirst() {
    switch argument {
    case "--host": configuration.host = arguments.popFirst() ?? configuration.host
    case "--port":
        guard let text = arguments.popFirst(), let port = Int(text), (0...65535).contains(port) else {
            StandardError.write("push-demo: --port needs a number in 0...65535\nusage: push-demo [--host ADDRESS] [--port N]")
            exit(2)
        }
        configuration.port = port
    case "-h", "--help":
        print("usage: push-demo [--host ADDRESS] [--port N]   (default 0.0.0.0:8080)")
        exit(0)
    default:
        StandardError.write("push-demo: unknown option \(argument)\nusage: push-demo [--host ADDRESS] [--port N]")
        exit(2)
    }
}

let server = PushServer(configuration: configuration)
server.webSocket("/room/*") { behavior in
    behavior.open = { socket, request in socket.join(String(request.path.dropFirst("/room/".count))) }
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
