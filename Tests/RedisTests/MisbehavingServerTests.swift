import Reactor
import Redis
import Synchronization
import XCTest

/// A server that is not quite Redis: what it answers is scripted. No
/// redis-server needed.
final class FakeRedis: ConnectionHandler, Sendable {
    struct Context: ConnectionContext {}
    /// The bytes to send back for what arrived (nil: nothing).
    let answer: @Sendable (_ received: [UInt8]) -> [UInt8]?
    let onOpen: [UInt8]?
    let accepted = Atomic<Int>(0)

    init(onOpen: [UInt8]? = nil, answer: @escaping @Sendable ([UInt8]) -> [UInt8]? = { _ in nil }) {
        self.onOpen = onOpen
        self.answer = answer
    }

    func connectionOpened(_ connection: Connection<FakeRedis>) {
        accepted.add(1, ordering: .relaxed)
        if let onOpen { connection.write(onOpen) }
    }

    func connection(_ connection: Connection<FakeRedis>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        if let reply = answer(Array(bytes)) { connection.write(reply) }
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<FakeRedis>, reason: CloseReason) {}
}

final class MisbehavingServerTests: XCTestCase {
    private func serve(_ fake: FakeRedis) throws -> (EventLoopGroup, TCPServer<FakeRedis>) {
        let group = try EventLoopGroup(loopCount: 1)
        return (group, try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in fake })
    }

    func testAHostileLengthDropsTheConnectionWithTheReasonAndItReconnects() throws {
        let fake = FakeRedis { _ in Array("$99999999999\r\n".utf8) }
        let (group, server) = try serve(fake)
        defer { group.shutdown() }
        let client = try LoopClient(url: "redis://127.0.0.1:\(server.port)")
        XCTAssertTrue(client.wait(for: .down))
        XCTAssertTrue(eventually { fake.accepted.load(ordering: .relaxed) >= 3 }, "no reconnection after a protocol error")
        let status = client.status
        XCTAssertEqual(status.lastError, "RESP protocol error: the bulk length is over the limit of 67108864", "\(status)")
    }

    func testAReplyNothingWaitedForIsAProtocolError() throws {
        let fake = FakeRedis(onOpen: Array("+OK\r\n".utf8))
        let (group, server) = try serve(fake)
        defer { group.shutdown() }
        // RESP2 without a password sends nothing at login, so the +OK answers nothing.
        let client = try LoopClient(url: "redis://127.0.0.1:\(server.port)") { $0.protocolVersion = .resp2 }
        XCTAssertTrue(eventually { client.status.lastError != nil })
        XCTAssertEqual(client.status.lastError, "Redis sent a reply nothing was waiting for: OK")
    }

    func testARedisThatStopsAnsweringIsDroppedAfterTheCommandTimeout() throws {
        let fake = FakeRedis()  // takes everything, answers nothing
        let (group, server) = try serve(fake)
        defer { group.shutdown() }
        let client = try LoopClient(url: "redis://127.0.0.1:\(server.port)") {
            $0.protocolVersion = .resp2
            $0.commandTimeout = .milliseconds(300)
            $0.healthCheckInterval = .seconds(60)
        }
        XCTAssertTrue(client.wait(for: .up))
        let started = monotonicNanoseconds()
        let result = client.call(["GET", "k"])
        let waited = monotonicNanoseconds() - started
        guard case .failure(.connectionLost(let reason)) = result else { return XCTFail("\(result)") }
        XCTAssertEqual(reason, "no reply from Redis in 0.3 s")
        XCTAssertGreaterThanOrEqual(waited, 290_000_000)
        XCTAssertEqual(client.status.state, .down)
    }

    func testAnIdleConnectionIsCheckedWithPing() throws {
        let pings = Atomic<Int>(0)
        let fake = FakeRedis { received in
            let text = String(decoding: received, as: UTF8.self)
            let count = text.ranges(of: "PING").count
            pings.add(count, ordering: .relaxed)
            return Array(String(repeating: "+PONG\r\n", count: count).utf8)
        }
        let (group, server) = try serve(fake)
        defer { group.shutdown() }
        let client = try LoopClient(url: "redis://127.0.0.1:\(server.port)") {
            $0.protocolVersion = .resp2
            $0.healthCheckInterval = .milliseconds(100)
        }
        XCTAssertTrue(client.wait(for: .up))
        XCTAssertTrue(eventually(5) { pings.load(ordering: .relaxed) >= 3 })
        XCTAssertEqual(client.status.state, .up)
        XCTAssertEqual(client.status.outages, 0)
    }
}
