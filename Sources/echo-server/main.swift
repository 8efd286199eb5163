import Glibc
import Broadcast
import PushServer
import Reactor
import RedisRooms

// echo-server: echoes every WebSocket message with its opcode; rooms under /room/NAME.
TerminationSignals.block()
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
        let published = BroadcastMessage(opcode: message.opcode, payload: message.bytes)
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
if let cluster {
    let node = cluster.configuration.nodeID
    server.get("/cluster") { _ in HTTPReply(contentType: "application/json", body: RoomMode.clusterJSON(node: node, cluster.clusterPresence)) }
}
// Rooms over the events protocol (socket.io's model) at /events.
_ = EventsMode.mount(on: server)
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
    print("echo-server listening on \(address) with \(server.group?.loops.count ?? 0) loop(s); ws://\(address)/ echoes, http://\(address)/ has a page to try it")
    if let cluster {
        print("echo-server: node \(cluster.configuration.nodeID), rooms across nodes through \(cluster.configuration.redis.url)")
    }
    fflush(nil)
} catch {
    StandardError.write("echo-server: cannot listen on \(options.configuration.host):\(options.configuration.port): \(error). Pick another --port or --host.")
    exit(1)
}
let signal = TerminationSignals.wait()
StandardError.write("echo-server: signal \(signal), closing connections (1001) and draining")
server.shutdown()
