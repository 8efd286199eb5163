import Broadcast
import Glibc
import PushServer
import Reactor
import Synchronization
import TestSupport
import XCTest

/// A graceful shutdown of a server whose rooms are numbered by a backend (Redis): what is in
/// the backend's hands when it begins is answered and delivered before the connections close.
final class ShutdownWithRoomBackendTests: XCTestCase {
    /// The backend answers what is in flight (Redis replies before its connection closes): the
    /// client gets that answer, not a connection closed without one (it could not tell whether the
    /// message was published, and a retry would duplicate it), and is told it is the last.
    func testAPublishWaitingForTheBackendIsAnsweredDuringAGracefulShutdown() throws {
        let backend = HeldAnswerBackend()
        let (server, port) = try makeServer({ configuration in
            configuration.broadcast.backend = backend
            configuration.drainTimeout = .seconds(5)
        }, routes: { server in server.publishing("/publish/*") { _ in .allowed } })
        let client = try HTTPTestClient(port: port, timeoutSeconds: 8)
        client.send("POST", "/publish/news", body: Array("hello".utf8))
        XCTAssertTrue(waitUntil { backend.completions.withLock { $0.count } == 1 })
        let stopped = Atomic<Bool>(false)
        let thread = try startThread(named: "shutdown") {
            server.shutdown()
            stopped.store(true, ordering: .relaxed)
        }
        usleep(300_000)  // refusing work, settled, draining: the backend's answer is still on its way
        backend.answer(0, .success(42))
        let response = client.readResponse()
        XCTAssertNil(client.readResponse(), "the server closes the connection after it")
        Glibc.shutdown(client.descriptor, Int32(SHUT_WR))
        pthread_join(thread, nil)
        XCTAssertEqual(response?.status, 202)
        XCTAssertEqual(response?.text, #"{"room":"news","accepted":true,"seq":42}"#)
        XCTAssertEqual(response?.header("Connection")?.lowercased(), "close", "its last answer: the server is going away")
        XCTAssertTrue(stopped.load(ordering: .relaxed))
    }

    /// A member's message accepted just before the shutdown: numbered in this process it is
    /// delivered within the settling passes; handed to a backend, it comes back after a round
    /// trip (here the answer first, the message 20 ms later), and still precedes the 1001.
    func testAMessageInFlightToTheBackendReachesMembersBeforeTheirGoodbye() throws {
        let backend = HeldAnswerBackend()
        let (server, port) = try makeServer { configuration in
            configuration.broadcast.backend = backend
            configuration.drainTimeout = .seconds(3)
        }
        let member = try TestClient(port: port, path: "/room/news")
        XCTAssertTrue(waitUntil { server.broadcaster?.statistics()["news"]?.subscribers == 1 })
        backend.send([.synchronized(room: "news", lastSequence: 0)], for: "news")
        member.sendFrame(.text, Array("last words".utf8))
        XCTAssertTrue(waitUntil { backend.completions.withLock { $0.count } == 1 })
        let thread = try startThread(named: "shutdown") { server.shutdown() }
        usleep(5_000)
        backend.answer(0, .success(1))
        usleep(20_000)
        backend.send([.message(NumberedMessage(room: "news", sequence: 1, message: BroadcastMessage(text: "last words")))], for: "news")
        XCTAssertEqual(member.receiveFrame(), .text("last words"))
        XCTAssertEqual(member.receiveFrame(), .close(1001, "server shutting down"))
        member.sendFrame(.close, [0x03, 0xE9])
        XCTAssertEqual(member.receiveFrame(), .ended)
        Glibc.shutdown(member.descriptor, Int32(SHUT_WR))
        pthread_join(thread, nil)
    }
}
