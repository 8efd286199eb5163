import Glibc
import Broadcast
import PushServer
import Reactor
import RedisRooms

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

var configuration = options.configuration
// With --redis, rooms span every node that uses the same Redis.
var cluster: RedisRoomBackend?
if let redisRooms = options.redisRooms {
    do {
        let backend = try RedisRoomBackend(configuration: redisRooms)
        configuration.broadcast.backend = backend
        cluster = backend
    } catch {
        StandardError.write("echo-server: --redis: \(error.message). Check the host name, or give an address.")
        exit(2)
    }
}
let clustered = cluster != nil

let server = PushServer(configuration: configuration)
// Rooms over the events protocol (socket.io's model) at /events. Mounted
// first: WebSocket routes match in the order they were added, and the echo
// route below takes every path (so /events/ws would echo instead).
_ = EventsMode.mount(on: server)
server.webSocket("/room/*") { behavior in
    behavior.upgrade = { request in
        guard RoomMode.roomName(from: request.path) != nil else {
            return .reject(status: 400, reason: "a room name is missing or malformed: /room/NAME")
        }
        guard RoomMode.Member(query: request.query) != nil else {
            return .reject(status: 400, reason: "bad query: rate=N (updates a second), keyAt=OFFSET:LENGTH (1-256 bytes)")
        }
        return .accept()
    }
    behavior.open = { socket, request in
        let member = RoomMode.Member(query: request.query)!
        if !member.isPlain { socket.userData = RoomMode.MemberOptions(member) }
        if let room = RoomMode.roomName(from: request.path) { socket.join(room, options: member.subscription) }
    }
    behavior.message = { socket, message in
        guard let room = socket.room else { return }
        let published: BroadcastMessage
        let includeSelf: Bool
        if let options = socket.userData as? RoomMode.MemberOptions {
            published = options.member.message(opcode: message.opcode, payload: message.bytes)
            includeSelf = options.member.includeSelf
        } else {
            published = BroadcastMessage(opcode: message.opcode, payload: message.bytes)
            includeSelf = true
        }
        guard clustered else { return socket.publish(published, to: room, includeSelf: includeSelf) }
        // A message Redis did not take is not dropped in silence: the client is told to try again (1013).
        let handle = LoopBound(socket, loop: socket.loop)
        socket.publish(published, to: room, includeSelf: includeSelf) { result in
            guard case .failure(let error) = result else { return }
            handle.value.close(code: .tryAgainLater, reason: RoomMode.closeReason(for: error))
        }
    }
}
server.webSocket("/*") { behavior in
    behavior.message = { socket, message in socket.send(message.payload, opcode: message.opcode) }
}
server.get("/") { _ in HTTPReply(contentType: "text/html; charset=utf-8", body: EchoPage.html) }
server.get("/stats") { _ in HTTPReply(contentType: "application/json", body: server.statisticsJSON()) }
server.get("/metrics") { _ in HTTPReply(contentType: PushServer.metricsContentType, body: server.metricsText()) }
if let cluster {
    let node = cluster.configuration.nodeID
    server.get("/cluster") { _ in HTTPReply(contentType: "application/json", body: RoomMode.clusterJSON(node: node, cluster.clusterPresence)) }
}
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
    print("echo-server listening on \(address) with \(server.group?.loops.count ?? 0) loop(s) on \(server.group?.backend ?? .epoll); \(ws)://\(address)/ echoes, \(http)://\(address)/ has a page to try it")
    for line in server.certificateSummary { print("echo-server: TLS certificate \(line)") }
    if let cluster {
        print("echo-server: node \(cluster.configuration.nodeID), rooms across nodes through \(cluster.configuration.redis.url)")
    }
    fflush(nil)
} catch .tls(let error) {
    StandardError.write("echo-server: TLS: \(error). Check --tls-cert and --tls-key.")
    exit(1)
} catch .listen(let error) {
    StandardError.write("echo-server: cannot listen on \(options.configuration.host):\(options.configuration.port): \(error). Pick another --port or --host.")
    exit(1)
} catch .configuration(let error) {
    StandardError.write("echo-server: \(error)")  // the options were checked: a limit of a route's own
    exit(2)
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
