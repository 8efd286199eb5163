import Glibc
import Reactor
import Synchronization
import XCTest

/// Echoes; "burst N SIZE\n" answers with N shared slices of SIZE bytes in one
/// `write(slices:)` (as the broadcaster delivers a pass); "bye\n" answers and closes after the flush;
/// input that begins "hoard" is never consumed (a handler whose limits failed).
final class TLSServerRecorder: ConnectionHandler, Sendable {
    struct Context: ConnectionContext {}
    let opened = Atomic<Int>(0)
    let reasons = Mutex<[CloseReason]>([])

    func connectionOpened(_ connection: Connection<TLSServerRecorder>) {
        opened.add(1, ordering: .relaxed)
    }

    func connection(_ connection: Connection<TLSServerRecorder>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        if bytes.starts(with: "hoard".utf8) { return 0 }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("burst "), text.hasSuffix("\n") {
            let numbers = text.dropFirst(6).dropLast().split(separator: " ").compactMap { Int($0) }
            let (count, size) = (numbers[0], numbers[1])
            let frames = SharedBuffer(capacity: count * size)
            for index in 0..<count * size { frames.base.storeBytes(of: UInt8(truncatingIfNeeded: index % 251), toByteOffset: index, as: UInt8.self) }
            frames.count = count * size
            let slices = (0..<count).map { SharedSlice(frames, start: $0 * size, end: ($0 + 1) * size) }
            slices.withUnsafeBufferPointer { connection.write(slices: $0) }
        } else if text == "bye\n" {
            connection.write(Array("bye\n".utf8))
            connection.closeAfterFlush()
        } else {
            connection.write(UnsafeRawBufferPointer(bytes))
        }
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<TLSServerRecorder>, reason: CloseReason) {
        reasons.withLock { $0.append(reason) }
    }
}

/// Counts what a client connection receives and how connections end.
final class TLSClientRecorder: ConnectionHandler, Sendable {
    struct Context: ConnectionContext {}
    let opened = Atomic<Int>(0)
    let received = Atomic<Int>(0)
    let reasons = Mutex<[CloseReason]>([])

    func connectionOpened(_ connection: Connection<TLSClientRecorder>) { opened.add(1, ordering: .relaxed) }

    func connection(_ connection: Connection<TLSClientRecorder>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        received.add(bytes.count, ordering: .relaxed)
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<TLSClientRecorder>, reason: CloseReason) {
        reasons.withLock { $0.append(reason) }
    }
}

/// Hangs up on every connection as soon as it opens.
final class HangUp: ConnectionHandler {
    struct Context: ConnectionContext {}
    func connectionOpened(_ connection: Connection<HangUp>) { connection.close() }
    func connection(_ connection: Connection<HangUp>, received bytes: UnsafeMutableRawBufferPointer) -> Int { bytes.count }
    func connectionClosed(_ connection: Connection<HangUp>, reason: CloseReason) {}
}

final class TLSTests: XCTestCase {
    private var directory = ""
    private var localhost: TestCertificate!
    private var other: TestCertificate!

    override func setUpWithError() throws {
        directory = makeTemporaryDirectory()
        localhost = try TestCertificate.make(["localhost"], in: directory)
        other = try TestCertificate.make(["other.test", "*.wild.test"], in: directory)
    }

    override func tearDown() { removeDirectory(directory) }

    private struct Server {
        let group: EventLoopGroup
        let server: TCPServer<TLSServerRecorder>
        let recorder: TLSServerRecorder
        let tls: TLSContext
        var port: Int { server.port }
    }

    private func startServer(_ certificates: [TLSCertificate], handshakeTimeout: UInt64? = nil, tick: UInt64 = 1_000_000_000) throws -> Server {
        var configuration = TLSConfiguration(certificates: certificates)
        if let handshakeTimeout { configuration.handshakeTimeout = handshakeTimeout }
        let tls = try TLSContext.server(configuration)
        let group = try EventLoopGroup(loopCount: 1)
        let recorder = TLSServerRecorder()
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0, tickInterval: tick, tls: tls) { _ in recorder }
        return Server(group: group, server: server, recorder: recorder, tls: tls)
    }

    func testEchoOverTLS13WithALPN() throws {
        let server = try startServer([localhost.pair])
        defer { server.group.shutdown() }
        let client = try TLSTestClient(port: server.port, serverName: "localhost", trusting: localhost.chainPath)
        XCTAssertEqual(client.version, "TLSv1.3")
        XCTAssertEqual(client.negotiatedProtocol, "http/1.1")
        XCTAssertTrue(eventually { server.recorder.opened.load(ordering: .relaxed) == 1 }, "opened once the handshake is done")
        client.send(Array("hello".utf8))
        XCTAssertEqual(client.receive(exactly: 5), Array("hello".utf8))
        // Larger than the receive buffer, a read and a sealed write: every byte comes back in order.
        let big = (0..<(1 << 20) + 12345).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        client.send(big)
        XCTAssertEqual(client.receive(exactly: big.count), big)
    }

    func testAWritesSharedFramesLeaveInAsFewRecordsAsTheirSize() throws {
        let server = try startServer([localhost.pair])
        defer { server.group.shutdown() }
        let client = try TLSTestClient(port: server.port, serverName: "localhost", trusting: localhost.chainPath)
        client.send(Array("ping".utf8))
        XCTAssertEqual(client.receive(exactly: 4), Array("ping".utf8))  // the session tickets came before this
        client.resetRecordCount()
        client.send(Array("burst 100 70\n".utf8))
        let small = client.receive(exactly: 7000)
        XCTAssertEqual(small.count, 7000)
        XCTAssertEqual(small[6999], UInt8(6999 % 251))
        XCTAssertEqual(client.records, [23], "100 frames of one write: one application-data record, not one each")
        client.resetRecordCount()
        client.send(Array("burst 300 1024\n".utf8))
        let large = client.receive(exactly: 300 * 1024)
        XCTAssertEqual(large.count, 300 * 1024)
        XCTAssertEqual(large[large.count - 1], UInt8((300 * 1024 - 1) % 251))
        XCTAssertEqual(client.records.count, (300 * 1024 + 16383) / 16384, "300 KiB: full 16 KiB records, the last one short")
    }

    func testAReaderThatFallsBehindGetsEverythingInOrder() throws {
        let server = try startServer([localhost.pair])
        defer { server.group.shutdown() }
        let client = try TLSTestClient(port: server.port, serverName: "localhost", trusting: localhost.chainPath)
        let (count, size) = (4096, 2048)  // 8 MiB in one write: far past the socket buffers
        client.send(Array("burst \(count) \(size)\n".utf8))
        let connections = server.server.connections(onLoop: 0)
        let queued = Mutex(0)
        XCTAssertTrue(eventually {
            server.group.onEveryLoop { _ in queued.withLock { $0 = connections.value.queuedByteTotal } }
            return queued.withLock { $0 } > 0
        }, "the kernel refused part: it waits in the server")
        let all = client.receive(exactly: count * size)
        XCTAssertEqual(all.count, count * size)
        var expected = [UInt8](repeating: 0, count: count * size)
        expected.withUnsafeMutableBufferPointer { for index in $0.indices { $0[index] = UInt8(truncatingIfNeeded: index % 251) } }
        XCTAssertTrue(all == expected, "every byte, in order")
        server.group.onEveryLoop { _ in queued.withLock { $0 = connections.value.queuedByteTotal } }
        XCTAssertEqual(queued.withLock { $0 }, 0)
    }

    func testAHandlerThatNeverConsumesIsClosedNotSpunOn() throws {
        let server = try startServer([localhost.pair])
        defer { server.group.shutdown() }
        let client = try TLSTestClient(port: server.port, serverName: "localhost", trusting: localhost.chainPath)
        client.send(Array("hoard".utf8) + [UInt8](repeating: 0x61, count: 300 * 1024))
        XCTAssertEqual(client.receive(exactly: 1), [], "the server ends the connection")
        XCTAssertTrue(eventually { server.recorder.reasons.withLock { $0 }.count == 1 })
        guard case .failed(let error)? = server.recorder.reasons.withLock({ $0.first }) else {
            return XCTFail("expected a failure, got \(server.recorder.reasons.withLock { $0 })")
        }
        XCTAssertEqual(error.errno, ENOBUFS, "as plain TCP does when a handler cannot make progress with a full buffer")
    }

    func testAHandshakeThatNeverCompletesIsDropped() throws {
        let server = try startServer([localhost.pair], handshakeTimeout: 300_000_000, tick: 100_000_000)
        defer { server.group.shutdown() }
        let silent = try BlockingClient(port: server.port)
        let started = monotonicNanoseconds()
        XCTAssertEqual(silent.receive(upTo: 100), [], "end of stream, not a hang")
        let elapsed = monotonicNanoseconds() - started
        XCTAssertGreaterThanOrEqual(elapsed, 250_000_000)
        XCTAssertLessThan(elapsed, 2_000_000_000)
        XCTAssertEqual(server.recorder.opened.load(ordering: .relaxed), 0)
        XCTAssertEqual(server.recorder.reasons.withLock { $0.count }, 0, "the handler never heard of it")
    }

    func testPlainHTTPToTheTLSPortGetsAClearErrorAndAClose() throws {
        let server = try startServer([localhost.pair])
        defer { server.group.shutdown() }
        let plain = try BlockingClient(port: server.port)
        plain.send(Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
        var answer: [UInt8] = []
        while true {
            let chunk = plain.receive(upTo: 4096)
            if chunk.isEmpty { break }
            answer += chunk
        }
        let text = String(decoding: answer, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), text)
        XCTAssertTrue(text.contains("use https:// or wss://"), text)
        XCTAssertEqual(server.recorder.opened.load(ordering: .relaxed), 0)
    }

    func testGarbageInsteadOfAHelloEndsTheConnection() throws {
        let server = try startServer([localhost.pair])
        defer { server.group.shutdown() }
        let client = try BlockingClient(port: server.port)
        client.send([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        var received: [UInt8] = []
        while true {
            let chunk = client.receive(upTo: 4096)
            if chunk.isEmpty { break }
            received += chunk
        }
        XCTAssertEqual(received.first, 0x15, "an alert record, then the end")
        XCTAssertEqual(server.recorder.opened.load(ordering: .relaxed), 0)
        XCTAssertEqual(server.recorder.reasons.withLock { $0.count }, 0)
    }

    func testServerNameIndicationPicksTheCertificate() throws {
        let server = try startServer([localhost.pair, other.pair])
        defer { server.group.shutdown() }
        XCTAssertNoThrow(try TLSTestClient(port: server.port, serverName: "other.test", trusting: other.chainPath))
        XCTAssertNoThrow(try TLSTestClient(port: server.port, serverName: "Deep.WILD.test", trusting: other.chainPath),
                         "a wildcard covers one label, names compare without case")
        XCTAssertNoThrow(try TLSTestClient(port: server.port, serverName: "localhost", trusting: localhost.chainPath))
        // Without the name check: the chain verifies only against the certificate that was sent.
        XCTAssertNoThrow(try TLSTestClient(port: server.port, serverName: "unknown.test", trusting: localhost.chainPath, checkingName: false),
                         "a name no certificate lists gets the first")
        XCTAssertNoThrow(try TLSTestClient(port: server.port, serverName: "a.b.wild.test", trusting: localhost.chainPath, checkingName: false),
                         "*.wild.test covers one label: a.b.wild.test gets the first")
        XCTAssertThrowsError(try TLSTestClient(port: server.port, serverName: "other.test", trusting: localhost.chainPath, checkingName: false),
                             "other.test gets its own, which the first does not verify")
        XCTAssertEqual(server.tls.certificateSummary.count, 2)
        XCTAssertTrue(server.tls.certificateSummary[1].contains("other.test, *.wild.test"), server.tls.certificateSummary[1])
    }

    func testReloadServesNewCertificatesAndKeepsOpenConnections() throws {
        let live = TestCertificate(chainPath: directory + "/live.pem", keyPath: directory + "/live.key")
        let first = try TestCertificate.make(["localhost"], in: directory, file: "first")
        let second = try TestCertificate.make(["localhost"], in: directory, file: "second")
        XCTAssertEqual(rename(first.chainPath, live.chainPath), 0)
        XCTAssertEqual(rename(first.keyPath, live.keyPath), 0)
        let server = try startServer([live.pair])
        defer { server.group.shutdown() }
        let before = try TLSTestClient(port: server.port, serverName: "localhost", trusting: live.chainPath)
        let oldChain = directory + "/old.pem"
        XCTAssertEqual(rename(live.chainPath, oldChain), 0)

        // A reload that fails (no file) keeps what was loaded, and says why.
        XCTAssertThrowsError(try server.tls.reloadCertificates()) { error in
            XCTAssertTrue("\(error)".contains(live.chainPath), "\(error)")
        }
        XCTAssertNoThrow(try TLSTestClient(port: server.port, serverName: "localhost", trusting: oldChain))

        XCTAssertEqual(rename(second.chainPath, live.chainPath), 0)
        XCTAssertEqual(rename(second.keyPath, live.keyPath), 0)
        XCTAssertNoThrow(try server.tls.reloadCertificates())
        XCTAssertNoThrow(try TLSTestClient(port: server.port, serverName: "localhost", trusting: live.chainPath))
        XCTAssertThrowsError(try TLSTestClient(port: server.port, serverName: "localhost", trusting: oldChain),
                             "new handshakes get the new certificate")
        before.send(Array("still here".utf8))
        XCTAssertEqual(before.receive(exactly: 10), Array("still here".utf8), "an open connection is not dropped")
    }

    func testCloseAfterFlushSendsCloseNotify() throws {
        let server = try startServer([localhost.pair])
        defer { server.group.shutdown() }
        let client = try TLSTestClient(port: server.port, serverName: "localhost", trusting: localhost.chainPath)
        client.send(Array("bye\n".utf8))
        XCTAssertEqual(client.receive(exactly: 4), Array("bye\n".utf8))
        XCTAssertTrue(client.waitForCloseNotify(), "the server ends TLS properly, then TCP")
        client.socket.shutdownWrite()
        // Its end of stream reaches the handler, whose default closes.
        XCTAssertTrue(eventually { server.recorder.reasons.withLock { $0 } == [.peerClosed] })
    }

    func testBadCertificateFilesAreRefusedWithTheReason() throws {
        XCTAssertThrowsError(try TLSContext.server(TLSConfiguration(certificates: [TLSCertificate(chainPath: directory + "/none.pem", keyPath: localhost.keyPath)]))) {
            XCTAssertTrue("\($0)".contains("cannot read the certificate chain \(self.directory)/none.pem"), "\($0)")
        }
        XCTAssertThrowsError(try TLSContext.server(TLSConfiguration(certificates: [TLSCertificate(chainPath: localhost.chainPath, keyPath: other.keyPath)]))) {
            XCTAssertTrue("\($0)".contains("is not the key of"), "\($0)")
        }
        XCTAssertThrowsError(try TLSContext.server(TLSConfiguration(certificates: [TLSCertificate(chainPath: localhost.keyPath, keyPath: localhost.keyPath)]))) {
            XCTAssertTrue("\($0)".contains("is not a PEM certificate chain"), "\($0)")
        }
        XCTAssertThrowsError(try TLSConfiguration(chainPaths: [localhost.chainPath, other.chainPath], keyPaths: [localhost.keyPath])) {
            XCTAssertTrue("\($0)".contains("2 chain(s) and 1 key(s)"), "\($0)")
        }
    }

    func testAClientWhoseServerHangsUpDuringTheHandshakeHearsWhy() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in HangUp() }
        let recorder = TLSClientRecorder()
        let tls = try TLSContext.client(serverName: "localhost", verifiesPeer: false)
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        group.onEveryLoop { loop in
            do { _ = try Connections(loop: loop, handler: recorder, tls: tls).connect(to: address) } catch { XCTFail("\(error)") }
        }
        XCTAssertTrue(eventually { recorder.reasons.withLock { $0.count } == 1 })
        guard case .tlsFailed(let reason)? = recorder.reasons.withLock({ $0.first }) else {
            return XCTFail("expected tlsFailed, got \(recorder.reasons.withLock { $0 })")
        }
        XCTAssertTrue(reason.contains("closed the connection during the TLS handshake"), reason)
        XCTAssertEqual(recorder.opened.load(ordering: .relaxed), 0)
    }

    func testClientConnectionsSpeakTLS() throws {
        let server = try startServer([localhost.pair])
        defer { server.group.shutdown() }
        let clientGroup = try EventLoopGroup(loopCount: 1)
        defer { clientGroup.shutdown() }
        let trusting = TLSClientRecorder()
        let distrusting = TLSClientRecorder()
        let good = try TLSContext.client(serverName: "localhost", verifiesPeer: true, trusting: localhost.chainPath)
        let wrong = try TLSContext.client(serverName: "localhost", verifiesPeer: true, trusting: other.chainPath)
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        clientGroup.onEveryLoop { loop in
            do {
                let connection = try Connections(loop: loop, handler: trusting, tls: good).connect(to: address)
                connection.write(Array("0123456789".utf8))  // before the handshake: held, then sealed
                _ = try Connections(loop: loop, handler: distrusting, tls: wrong).connect(to: address)
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertTrue(eventually { trusting.opened.load(ordering: .relaxed) == 1 })
        XCTAssertTrue(eventually { server.recorder.opened.load(ordering: .relaxed) == 1 })
        XCTAssertTrue(eventually { trusting.received.load(ordering: .relaxed) == 10 }, "the echo of what was written before the handshake")
        XCTAssertTrue(eventually { distrusting.reasons.withLock { $0.count } == 1 })
        guard case .tlsFailed(let reason)? = distrusting.reasons.withLock({ $0.first }) else {
            return XCTFail("expected tlsFailed, got \(distrusting.reasons.withLock { $0 })")
        }
        XCTAssertTrue(reason.contains("certificate verify failed"), reason)
        XCTAssertEqual(distrusting.opened.load(ordering: .relaxed), 0)
    }
}
