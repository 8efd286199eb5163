import Broadcast
import Glibc
import PushServer
import Reactor
import TestSupport
import WebSocketCodec
import XCTest

/// A server on a free port with an echo route and a room route like echo-server's,
/// and whatever `routes` adds.
func makeServer(_ adjust: (inout ServerConfiguration) -> Void = { _ in },
                routes: (PushServer) -> Void = { _ in }) throws -> (PushServer, Int) {
    var configuration = ServerConfiguration()
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configuration.threads = 2
    configuration.timerTick = .milliseconds(50)
    adjust(&configuration)
    let server = PushServer(configuration: configuration)
    server.webSocket("/room/*") { behavior in
        behavior.open = { socket, request in socket.join(String(request.path.dropFirst(6))) }
        behavior.message = { socket, message in
            guard let room = socket.room else { return }
            socket.publish(BroadcastMessage(opcode: message.opcode, payload: message.bytes), to: room)
        }
    }
    server.webSocket("/echo") { behavior in
        behavior.message = { socket, message in socket.send(message.payload, opcode: message.opcode) }
    }
    server.get("/hello") { _ in HTTPReply(contentType: "text/plain", body: "hello\n") }
    routes(server)
    let address = try server.start()
    return (server, address.port)
}

final class ServerTests: XCTestCase {
    func testEchoPingAndClosingHandshake() throws {
        let (server, port) = try makeServer()
        defer { server.shutdown() }
        let client = try TestClient(port: port, path: "/echo")
        client.sendFrame(.text, Array("héllo".utf8))
        XCTAssertEqual(client.receiveFrame(), .text("héllo"))
        client.sendFrame(.binary, [0, 1, 2, 255])
        XCTAssertEqual(client.receiveFrame(), .binary([0, 1, 2, 255]))
        // A fragmented message with a ping between the fragments.
        client.sendFrame(.text, Array("ab".utf8), fin: false)
        client.sendFrame(.ping, [9, 9])
        client.sendFrame(.continuation, Array("cd".utf8))
        XCTAssertEqual(client.receiveFrame(), .pong([9, 9]))
        XCTAssertEqual(client.receiveFrame(), .text("abcd"))
        client.sendFrame(.close, FrameEncoder.closePayload(code: CloseCode(4001), reason: "bye"))
        XCTAssertEqual(client.receiveFrame(), .close(4001, ""))
        XCTAssertEqual(client.receiveFrame(), .ended, "the server closes TCP after the closing handshake")
    }

    func testHostileInputGetsTheRightCloseCodeOrStatus() throws {
        let (server, port) = try makeServer { $0.maxMessageSize = 1 << 20; $0.handshakeTimeout = .milliseconds(200) }
        defer { server.shutdown() }

        let unmasked = try TestClient(port: port, path: "/echo")
        unmasked.send(FrameEncoder.frame(opcode: .text, payload: Array("x".utf8)))
        if case .close(let code, _) = unmasked.receiveFrame() { XCTAssertEqual(code, 1002) } else { XCTFail("expected close 1002") }

        let huge = try TestClient(port: port, path: "/echo")
        huge.send([0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4])  // 2^63-1 bytes claimed
        if case .close(let code, _) = huge.receiveFrame() { XCTAssertEqual(code, 1009) } else { XCTFail("expected close 1009") }

        let badText = try TestClient(port: port, path: "/echo")
        badText.sendFrame(.text, [0xC0, 0xAF])
        if case .close(let code, _) = badText.receiveFrame() { XCTAssertEqual(code, 1007) } else { XCTFail("expected close 1007") }

        let reserved = try TestClient(port: port, path: "/echo")
        reserved.send([0xC1, 0x80, 1, 2, 3, 4])  // RSV1 without an extension
        if case .close(let code, _) = reserved.receiveFrame() { XCTAssertEqual(code, 1002) } else { XCTFail("expected close 1002") }

        let oversizeHead = try TestClient(port: port)
        oversizeHead.send("GET /echo HTTP/1.1\r\nHost: x\r\nX-Filler: " + String(repeating: "a", count: 9000) + "\r\n\r\n")
        XCTAssertTrue(oversizeHead.receiveAll().hasPrefix("HTTP/1.1 431 "))

        let truncated = try TestClient(port: port)
        truncated.send("GET /echo HTTP/1.1\r\nHost: x\r\n")
        XCTAssertTrue(truncated.receiveAll().hasPrefix("HTTP/1.1 408 "), "a head that never ends times out")

        let badKey = try TestClient(port: port)
        badKey.send("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n")
        XCTAssertTrue(badKey.receiveAll().hasPrefix("HTTP/1.1 400 "))

        let badVersion = try TestClient(port: port)
        badVersion.send("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        let answer = badVersion.receiveAll()
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 426 ") && answer.contains("Sec-WebSocket-Version: 13"), answer)
    }

    func testPlainHTTPAnswersAndKeepAlive() throws {
        let (server, port) = try makeServer()
        defer { server.shutdown() }
        let client = try TestClient(port: port)
        // Two pipelined requests, answered in order, then one that closes.
        client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\nDELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let answers = client.receiveAll()
        let statuses = answers.components(separatedBy: "HTTP/1.1 ").dropFirst().map { "HTTP/1.1 " + $0.prefix { $0 != "\r\n" } }
        XCTAssertEqual(statuses, ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 405 Method Not Allowed"])
        XCTAssertTrue(answers.contains("Allow: GET"))
    }

    func testAnIdleKeepAliveConnectionEndsQuietlyAndAHalfSentRequestGets408() throws {
        let (server, port) = try makeServer { $0.handshakeTimeout = .milliseconds(200) }
        defer { server.shutdown() }
        let idle = try TestClient(port: port)
        idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        let idleAnswer = idle.receiveAll()  // returns once the server ends the connection
        XCTAssertTrue(idleAnswer.hasPrefix("HTTP/1.1 200 ") && idleAnswer.hasSuffix("hello\n"), idleAnswer)
        XCTAssertFalse(idleAnswer.contains("408"), "no answer to a request the client never sent")

        let halfSent = try TestClient(port: port)
        halfSent.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hel")
        let answers = halfSent.receiveAll()
        XCTAssertTrue(answers.hasPrefix("HTTP/1.1 200 ") && answers.contains("hello\nHTTP/1.1 408 "), answers)
    }

    func testRoomMembersReceiveAndAbruptDisconnectsLeaveNoMembership() throws {
        let (server, port) = try makeServer()
        defer { server.shutdown() }
        let clients = try (0..<6).map { _ in try TestClient(port: port, path: "/room/quotes") }
        let broadcaster = try XCTUnwrap(server.broadcaster)
        XCTAssertTrue(waitUntil { broadcaster.members(of: "quotes").count == 6 })
        clients[0].sendFrame(.text, Array("AAPL 191.2".utf8))
        for client in clients { XCTAssertEqual(client.receiveFrame(), .text("AAPL 191.2")) }
        clients[1].reset()
        clients[2].sendFrame(.close, FrameEncoder.closePayload(code: .normalClosure))
        XCTAssertTrue(waitUntil { broadcaster.members(of: "quotes").count == 4 }, "members: \(broadcaster.members(of: "quotes").count)")
        XCTAssertEqual(broadcaster.statistics()["quotes"]?.encoded, 1)
        XCTAssertEqual(broadcaster.statistics()["quotes"]?.delivered, 6)
    }

    func testHeartbeatEvictsASilentPeer() throws {
        let (server, port) = try makeServer { $0.pingInterval = .milliseconds(200); $0.pongTimeout = .milliseconds(200) }
        defer { server.shutdown() }
        let silent = try TestClient(port: port, path: "/echo")
        let lively = try TestClient(port: port, path: "/echo")
        // The lively one answers its ping; the silent one never does.
        XCTAssertEqual(lively.receiveFrame(), .ping([]))
        lively.sendFrame(.pong, [])
        XCTAssertTrue(waitUntil { server.statistics().heartbeatEvictions == 1 })
        XCTAssertEqual(silent.receiveFrame(), .ping([]))
        XCTAssertEqual(silent.receiveFrame(), .ended)
        lively.sendFrame(.text, Array("still here".utf8))
        var frame = lively.receiveFrame()
        while frame == .ping([]) { lively.sendFrame(.pong, []); frame = lively.receiveFrame() }
        XCTAssertEqual(frame, .text("still here"))
    }
}
