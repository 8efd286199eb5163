import Broadcast
import Glibc
import PushServer
import Reactor

// push-demo: the documents' clock, pushed five ways. Room "clock" gets the
// time every second; GET / shows it fed by polling, long-polling, iframe
// streaming, Server-Sent Events and a WebSocket, side by side.
var configuration = ServerConfiguration()
configuration.port = 8080
let usage = """
    usage: push-demo [--host ADDRESS] [--port N] [--tls-cert FILE --tls-key FILE]...   (default 0.0.0.0:8080, plain HTTP)
      --tls-cert/--tls-key: serve https:// and wss:// with this PEM chain and key; repeat the pair for
      more certificates (SNI: the first listing a client's host name serves it; the first pair serves
      everyone else). SIGHUP reloads them.

    """
func refuse(_ problem: String) -> Never {
    StandardError.write("push-demo: \(problem)\n\(usage)")
    exit(2)
}
var arguments = Array(CommandLine.arguments.dropFirst())[...]
var chains: [String] = []
var keys: [String] = []
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
    case "--tls-cert", "--tls-key":
        guard let path = arguments.popFirst(), !path.isEmpty else { refuse("\(argument) needs a file") }
        if argument == "--tls-cert" { chains.append(path) } else { keys.append(path) }
    case "-h", "--help":
        print(usage, terminator: "")
        exit(0)
    default:
        refuse("unknown option \(argument)")
    }
}
if !chains.isEmpty || !keys.isEmpty {
    do {
        configuration.tls = try TLSConfiguration(chainPaths: chains, keyPaths: keys)
    } catch {
        refuse("--tls-cert/--tls-key: \(error)")
    }
}
// Before any thread starts. With TLS, SIGHUP reloads the certificates.
let reloads = configuration.tls != nil
TerminationSignals.block(includingHangUp: reloads)

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
} catch .tls(let error) {
    StandardError.write("push-demo: TLS: \(error). Check --tls-cert and --tls-key.")
    exit(1)
} catch .listen(let error) {
    StandardError.write("push-demo: cannot listen on \(configuration.host):\(configuration.port): \(error)")
    exit(1)
} catch .configuration(let error) {
    StandardError.write("push-demo: \(error)")
    exit(2)
}
if let group = server.group, let broadcaster = server.broadcaster {
    let loop = group.loops[0]
    loop.execute {
        loop.scheduleRepeating(every: 1_000_000_000) {
            broadcaster.part(on: loop).publish(BroadcastMessage(text: ClockPage.now(), name: "tick"), to: "clock")
        }
    }
}
print("push-demo listening on \(address): open \(reloads ? "https" : "http")://\(address)/ to see the clock pushed five ways")
fflush(nil)
while TerminationSignals.wait(includingHangUp: reloads) == SIGHUP {
    do {
        let loaded = try server.reloadCertificates()
        StandardError.write("push-demo: SIGHUP: certificates reloaded: \(loaded.joined(separator: "; "))")
    } catch {
        StandardError.write("push-demo: SIGHUP: certificates not reloaded, the old ones stay in use: \(error)")
    }
}
server.shutdown()
