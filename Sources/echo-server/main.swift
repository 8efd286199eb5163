import Glibc
import Broadcast
import PushServer
import Reactor

// echo-server: echoes every WebSocket message with its opcode; rooms under /room/NAME.
let options: EchoServerOptions
do {
    guard let parsed = try EchoServerOptions.parse(Array(CommandLine.arguments.dropFirst())) else {
        print(EchoServerOptions.usage)
        exit(0)
    }
    options = parsed
} catch {
    StandardError.write("echo-server: \(error.message)\n\n\(EchoServerOptions.usage)")
    exit(2)
}
// Before any thread starts. With TLS, SIGHUP reloads the certificates.
let reloads = options.configuration.tls != nil
TerminationSignals.block(includingHangUp: reloads)

let server = PushServer(configuration: options.configuration)
server.webSocket("/room/*") { behavior in
    behavior.upgrade = { request in
        RoomMode.roomName(from: request.path) == nil ? .reject(status: 400, reason: "a room name is missing or malformed: /room/NAME") : .accept()
    }
    behavior.open = { socket, request in
        if RoomMode.excludesSelf(request.query) { socket.tag = RoomMode.excludeSelfTag }
        if let room = RoomMode.roomName(from: request.path) { socket.join(room) }
    }
    behavior.message = { socket, message in
        guard let room = socket.room else { return }
        let includeSelf = socket.tag & RoomMode.excludeSelfTag == 0
        socket.publish(BroadcastMessage(opcode: message.opcode, payload: message.bytes), to: room, includeSelf: includeSelf)
    }
}
server.webSocket("/*") { behavior in
    behavior.message = { socket, message in socket.send(message.payload, opcode: message.opcode) }
}
server.get("/") { _ in HTTPReply(contentType: "text/html; charset=utf-8", body: EchoPage.html) }
server.get("/stats") { _ in HTTPReply(contentType: "application/json", body: server.statisticsJSON()) }
// The same rooms over the other push techniques, and publishing over HTTP.
server.eventStreams("/sse/*")
server.polling("/poll/*")
server.scriptStreams("/iframe/*")
server.publishing("/publish/*", authorize: PublishAuthorization.bearerToken(options.publishToken))
if let directory = options.staticDirectory {
    do {
        try server.files("/static/*", directory: directory)
    } catch {
        StandardError.write("echo-server: --static \(directory): \(error)")
        exit(2)
    }
}

do {
    let address = try server.start()
    let (ws, http) = reloads ? ("wss", "https") : ("ws", "http")
    print("echo-server listening on \(address) with \(server.group?.loops.count ?? 0) loop(s); \(ws)://\(address)/ echoes, \(http)://\(address)/ has a page to try it")
    for line in server.certificateSummary { print("echo-server: TLS certificate \(line)") }
    fflush(nil)
} catch .tls(let error) {
    StandardError.write("echo-server: TLS: \(error). Check --tls-cert and --tls-key.")
    exit(1)
} catch .listen(let error) {
    StandardError.write("echo-server: cannot listen on \(options.configuration.host):\(options.configuration.port): \(error). Pick another --port or --host.")
    exit(1)
}
var signal = TerminationSignals.wait(includingHangUp: reloads)
while signal == SIGHUP {
    do {
        let loaded = try server.reloadCertificates()
        StandardError.write("echo-server: SIGHUP: certificates reloaded: \(loaded.joined(separator: "; "))")
    } catch {
        StandardError.write("echo-server: SIGHUP: certificates not reloaded, the old ones stay in use: \(error)")
    }
    signal = TerminationSignals.wait(includingHangUp: reloads)
}
StandardError.write("echo-server: signal \(signal), closing connections (1001) and draining")
server.shutdown()
