import Glibc
import Reactor
import Synchronization
import XCTest

/// Records what happens to connections, from any loop.
final class Recorder: ConnectionHandler, Sendable {
    struct Context: ConnectionContext { var bytes = 0 }
    let loopIndex: Int
    let opened: Atomic<Int> = Atomic(0)
    let reasons = Mutex<[CloseReason]>([])
    let readEnds = Atomic<Int>(0)
    let timeouts = Atomic<Int>(0)
    let timeoutOnOpen: UInt64?
    let echoes: Bool

    init(loopIndex: Int, timeoutOnOpen: UInt64? = nil, echoes: Bool = true) {
        self.loopIndex = loopIndex
        self.timeoutOnOpen = timeoutOnOpen
        self.echoes = echoes
    }

    func connectionOpened(_ connection: Connection<Recorder>) {
        opened.add(1, ordering: .relaxed)
        if let timeoutOnOpen { connection.setTimeout(nanoseconds: timeoutOnOpen) }
    }

    func connection(_ connection: Connection<Recorder>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        connection.context.bytes += bytes.count
        if echoes { connection.write(UnsafeRawBufferPointer(bytes)) }
        return bytes.count
    }

    func connectionReadEnded(_ connection: Connection<Recorder>) {
        readEnds.add(1, ordering: .relaxed)
        connection.write(Array("bye".utf8))
        connection.closeAfterFlush()
    }

    func connectionTimedOut(_ connection: Connection<Recorder>) {
        timeouts.add(1, ordering: .relaxed)
        connection.close(reason: .timedOut)
    }

    func connectionClosed(_ connection: Connection<Recorder>, reason: CloseReason) {
        reasons.withLock { $0.append(reason) }
    }
}

final class ConnectionTests: XCTestCase {
    func testWhatWasWrittenBeforeACloseLaterInThePassStillLeaves() throws {
        // The client's bytes and its end of stream arrive together: Echo writes the echo, then the
        // default connectionReadEnded closes, in one pass. On epoll the echo left when written; on
        // io_uring it waits for the pass's end, and must still leave before the close.
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in Echo() }
        for round in 0..<20 {
            let client = try BlockingClient(port: server.port)
            let message = Array("round \(round)".utf8)
            client.send(message)
            client.shutdownWrite()
            XCTAssertEqual(client.receive(exactly: message.count), message, "round \(round) on \(group.backend)")
            XCTAssertEqual(client.receive(upTo: 1), [], "then the end of stream")
        }
    }

    func testConnectionsSpreadOverAllLoops() throws {
        let group = try EventLoopGroup(loopCount: 4)
        defer { group.shutdown() }
        let recorders = Mutex<[Recorder]>([])
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { loop in
            let recorder = Recorder(loopIndex: loop.index)
            recorders.withLock { $0.append(recorder) }
            return recorder
        }
        var clients: [BlockingClient] = []
        for _ in 0..<200 { clients.append(try BlockingClient(port: server.port)) }
        for client in clients {
            client.send([7])
            XCTAssertEqual(client.receive(exactly: 1), [7])
        }
        let counts = recorders.withLock { $0.sorted { $0.loopIndex < $1.loopIndex }.map { $0.opened.load(ordering: .relaxed) } }
        XCTAssertEqual(counts.reduce(0, +), 200)
        XCTAssertEqual(counts.count, 4)
        for (index, count) in counts.enumerated() { XCTAssertGreaterThan(count, 0, "loop \(index) got no connection: \(counts)") }
    }

    func testIPv6AndPortZero() throws {
        let group = try EventLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let server = try TCPServer(group: group, host: "::1", port: 0) { _ in Echo() }
        XCTAssertNotEqual(server.port, 0)
        XCTAssertEqual(server.address.family, AF_INET6)
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        let address = try SocketAddress(host: "::1", port: server.port)
        XCTAssertEqual(address.withSockAddr { connect(descriptor, $0, $1) }, 0)
        XCTAssertEqual(send(descriptor, "hi", 2, 0), 2)
        var reply = [UInt8](repeating: 0, count: 2)
        XCTAssertEqual(recv(descriptor, &reply, 2, Int32(MSG_WAITALL)), 2)
        XCTAssertEqual(reply, Array("hi".utf8))
    }

    func testASecondServerOnATakenPortIsRefused() throws {
        let group = try EventLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let first = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in Echo() }
        // SO_REUSEPORT would let it share the port and take half the connections; it must fail instead.
        XCTAssertThrowsError(try TCPServer(group: group, host: "127.0.0.1", port: first.port) { _ in Echo() }) { error in
            XCTAssertEqual((error as? SystemError)?.errno, EADDRINUSE)
        }
    }

    func testHalfCloseAndCloseReasonsReachTheOwner() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let recorder = Mutex<Recorder?>(nil)
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { loop in
            let made = Recorder(loopIndex: loop.index)
            recorder.withLock { $0 = made }
            return made
        }
        let handler = try XCTUnwrap(recorder.withLock { $0 })

        // Half-close: the server still writes after our FIN, then finishes.
        let polite = try BlockingClient(port: server.port)
        polite.send(Array("ping".utf8))
        XCTAssertEqual(polite.receive(exactly: 4), Array("ping".utf8))
        polite.shutdownWrite()
        XCTAssertEqual(polite.receive(exactly: 3), Array("bye".utf8))
        XCTAssertEqual(polite.receive(upTo: 1), [], "expected end of stream after bye")
        XCTAssertTrue(eventually { handler.reasons.withLock { $0 } == [.local] })
        XCTAssertEqual(handler.readEnds.load(ordering: .relaxed), 1)

        // Reset: the owner sees .reset.
        let rude = try BlockingClient(port: server.port)
        rude.send([1])
        XCTAssertEqual(rude.receive(exactly: 1), [1])
        rude.reset()
        XCTAssertTrue(eventually { handler.reasons.withLock { $0.count } == 2 })
        XCTAssertEqual(handler.reasons.withLock { $0.last }, .reset)
    }

    func testConnectionTimeoutFiresWithinOneTick() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let tick: UInt64 = 50_000_000
        let timeout: UInt64 = 120_000_000
        let recorder = Recorder(loopIndex: 0, timeoutOnOpen: timeout)
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0, tickInterval: tick) { _ in recorder }
        let client = try BlockingClient(port: server.port)
        let start = monotonicNanoseconds()
        XCTAssertEqual(client.receive(upTo: 1), [], "expected the server to close the idle connection")
        let elapsed = monotonicNanoseconds() - start
        XCTAssertEqual(recorder.timeouts.load(ordering: .relaxed), 1)
        XCTAssertGreaterThanOrEqual(elapsed, timeout - 5_000_000)  // the connect itself took a moment
        XCTAssertLessThanOrEqual(elapsed, timeout + tick + 20_000_000)
    }

    func testOutgoingConnectAndFailedConnect() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in Echo() }
        let clientGroup = try EventLoopGroup(loopCount: 1)
        defer { clientGroup.shutdown() }
        let recorder = Recorder(loopIndex: 0, echoes: false)
        let refusedPort = try freePort()
        clientGroup.onEveryLoop { loop in
            let connections = Connections(loop: loop, handler: recorder)
            do {
                let connection = try connections.connect(to: SocketAddress(host: "127.0.0.1", port: server.port))
                connection.write(Array("0123456789".utf8))  // before the connect completes: queued, sent after
                _ = try connections.connect(to: SocketAddress(host: "127.0.0.1", port: refusedPort))
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertTrue(eventually { recorder.opened.load(ordering: .relaxed) == 1 })
        XCTAssertTrue(eventually { recorder.reasons.withLock { $0.count } == 1 })
        if case .connectFailed(let error)? = recorder.reasons.withLock({ $0.first }) {
            XCTAssertEqual(error.errno, ECONNREFUSED)
        } else {
            XCTFail("expected connectFailed, got \(recorder.reasons.withLock { $0 })")
        }
    }

    /// A port nothing listens on.
    private func freePort() throws -> Int {
        let descriptor = try Listener.bind(SocketAddress(host: "127.0.0.1", port: 0))
        let port = try SocketAddress(localAddressOf: descriptor).port
        close(descriptor)
        return port
    }
}
