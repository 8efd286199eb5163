import Broadcast
import Dispatch
import Glibc
import PushServer
import Reactor
import Synchronization
import TestSupport
import WebSocketCodec
import XCTest

/// A one-loop server with routes that produce big or slow answers, for the
/// corners where backpressure meets half-closes, resets and held polls.
private func makeEdgeServer(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) throws -> (PushServer, Int) {
    try makeServer { configuration in
        configuration.threads = 1
        adjust(&configuration)
    } routes: { server in
        let big = String(repeating: "x", count: 4 << 20)
        server.get("/big") { _ in HTTPReply(contentType: "text/plain", body: big) }
        // Holds the loop, so what a client does meanwhile is seen all at once.
        server.get("/slow") { _ in usleep(300_000); return HTTPReply(contentType: "text/plain", body: String(repeating: "y", count: 4096)) }
        server.webSocket("/feed/*") { behavior in
            behavior.message = { socket, message in
                socket.publish(BroadcastMessage(opcode: message.opcode, payload: message.bytes), to: "r")
            }
        }
        server.eventStreams("/sse/*")
        server.polling("/poll/*")
        server.publishing("/publish/*") { _ in .allowed }
    }
}

/// A connected socket the test closes with RST.
private func rawConnection(port: Int) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    let address = try SocketAddress(host: "127.0.0.1", port: port)
    XCTAssertEqual(address.withSockAddr { connect(descriptor, $0, $1) }, 0)
    return descriptor
}

private func sendAll(_ descriptor: Int32, _ text: String) {
    _ = Array(text.utf8).withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
}

private func resetAndClose(_ descriptor: Int32) {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    close(descriptor)
}

final class BackpressureEdgeTests: XCTestCase {
    func testAHalfClosedClientPausedByBackpressureGetsEveryAnswer() throws {
        let (server, port) = try makeEdgeServer { $0.broadcast.maxQueuedBytes = 64 * 1024 }
        defer { server.shutdown() }
        let client = try TestClient(port: port, receiveBuffer: 8192)
        client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        shutdown(client.descriptor, Int32(SHUT_WR))
        usleep(200_000)  // the server pauses on the first answer, with the FIN behind the kept requests
        let answers = client.receiveAll()
        XCTAssertEqual(answers.components(separatedBy: "HTTP/1.1 200 OK").count - 1, 3)
        XCTAssertEqual(answers.utf8.count, 3 * (4 << 20) + 3 * answers.components(separatedBy: "\r\n\r\n")[0].utf8.count + 12)
    }

    func testAResetSeenByTheBackpressureFlushEndsTheConnection() throws {
        let (server, port) = try makeEdgeServer { $0.broadcast.maxQueuedBytes = 1024 }
        defer { server.shutdown() }
        let descriptor = try rawConnection(port: port)
        sendAll(descriptor, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /sse/r HTTP/1.1\r\nHost: x\r\n\r\n")
        usleep(100_000)
        resetAndClose(descriptor)  // while the loop is inside /slow
        let broadcaster = try XCTUnwrap(server.broadcaster)
        XCTAssertTrue(waitUntil { server.statistics().connections == 0 })
        XCTAssertEqual(server.statistics().openStreams, 0, "the request after the reset was not served on the dead slot")
        XCTAssertEqual(broadcaster.members(of: "r"), [])
        let next = try TestClient(port: port)  // takes the same slot
        next.send("GET /sse/none HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(waitUntil { server.statistics().openStreams == 1 })
        XCTAssertEqual(broadcaster.members(of: "none").count, 1, "a new connection starts fresh")
    }

    func testAPollAnsweredIntoAResetIsCountedOutOnce() throws {
        let (server, port) = try makeEdgeServer()
        defer { server.shutdown() }
        let descriptor = try rawConnection(port: port)
        sendAll(descriptor, "GET /poll/r?since=0&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(waitUntil { server.statistics().openStreams == 1 })
        do {  // the publisher's connection ends with this scope
            let other = try TestClient(port: port)
            other.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nPOST /publish/r HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
            usleep(100_000)
            resetAndClose(descriptor)  // the answer to the poll will meet the reset
            _ = other.receiveAll()
        }
        XCTAssertTrue(waitUntil { server.statistics().connections == 0 })
        XCTAssertEqual(server.statistics().openStreams, 0)
    }

    func testARoomMemberThatReadsSlowlyIsPausedNotClosed() throws {
        let (server, port) = try makeEdgeServer {
            $0.broadcast.maxQueuedBytes = 8 * 1024
            $0.broadcast.slowSubscriberPolicy = .skip
        }
        defer { server.shutdown() }
        let member = try TestClient(port: port, path: "/room/r", receiveBuffer: 4096)
        let feeder = try TestClient(port: port, path: "/feed/x")
        let memberSocket = member.descriptor, feederSocket = feeder.descriptor
        let stop = Atomic<Bool>(false), ended = Atomic<Bool>(false)
        let small = FrameEncoder.frame(opcode: .text, payload: [UInt8](repeating: 0x61, count: 1024), maskKey: MaskKey(1, 2, 3, 4))
        let large = FrameEncoder.frame(opcode: .text, payload: [UInt8](repeating: 0x62, count: 8192), maskKey: MaskKey(1, 2, 3, 4))
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {  // keeps the room busy
            while !stop.load(ordering: .relaxed) {
                _ = large.withUnsafeBytes { send(feederSocket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                usleep(200)
            }
        }
        DispatchQueue.global().async(group: group) {  // the member publishes steadily...
            while !stop.load(ordering: .relaxed) {
                if small.withUnsafeBytes({ send(memberSocket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) < 0 { break }
            }
        }
        DispatchQueue.global().async(group: group) {  // ...and reads slowly
            var chunk = [UInt8](repeating: 0, count: 4096)
            while !stop.load(ordering: .relaxed) {
                let got = chunk.withUnsafeMutableBytes { recv(memberSocket, $0.baseAddress, $0.count, 0) }
                if got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                    ended.store(true, ordering: .relaxed)
                    break
                }
                usleep(2000)
            }
        }
        let deadline = monotonicNanoseconds() + 3_000_000_000
        while monotonicNanoseconds() < deadline && !ended.load(ordering: .relaxed) { usleep(10_000) }
        stop.store(true, ordering: .relaxed)
        shutdown(memberSocket, Int32(SHUT_RDWR))
        shutdown(feederSocket, Int32(SHUT_RDWR))
        group.wait()
        XCTAssertFalse(ended.load(ordering: .relaxed), "the server ended a connection it should only have paused")
    }
}
