import Reactor
import Redis
import Synchronization
import XCTest

/// What the client puts on the wire, seen from a fake server.
final class PipelineWireTests: XCTestCase {
    func testEverythingIssuedInOnePassLeavesInOneWrite() throws {
        let reads = Atomic<Int>(0)
        let received = Atomic<Int>(0)
        let fake = FakeRedis { bytes in
            reads.add(1, ordering: .relaxed)
            received.add(bytes.count, ordering: .relaxed)
            let text = String(decoding: bytes, as: UTF8.self)
            let pongs = String(repeating: "+PONG\r\n", count: text.ranges(of: "PING").count)
            return Array((pongs + String(repeating: "-ERR nope\r\n", count: text.ranges(of: "GET").count)).utf8)
        }
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in fake }
        let client = try LoopClient(url: "redis://127.0.0.1:\(server.port)") {
            $0.protocolVersion = .resp2
            $0.healthCheckInterval = .seconds(60)
        }
        XCTAssertTrue(client.wait(for: .up))
        client.run { redis in
            for _ in 0..<1000 { try? redis.send("PING") }
        }
        let commandBytes = 1000 * "*1\r\n$4\r\nPING\r\n".utf8.count
        XCTAssertTrue(eventually { received.load(ordering: .relaxed) == commandBytes })
        // One sendmsg of 14,000 bytes; on loopback the server reads it at once (two reads at most).
        XCTAssertLessThanOrEqual(reads.load(ordering: .relaxed), 2)
        XCTAssertTrue(eventually { client.run { $0.counters.replies } == 1000 })

        // An error nobody waits for is counted, not lost.
        client.run { redis in try? redis.send("GET", "k") }
        XCTAssertTrue(eventually { client.run { $0.counters.unhandledErrors } == 1 })
        let counters = client.run { $0.counters }
        XCTAssertEqual(counters.commands, 1001)
        XCTAssertEqual(counters.lastUnhandledError, "ERR nope")
    }
}
