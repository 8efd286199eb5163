import Broadcast
import Glibc
import PushServer
import Reactor
import TestSupport
import WebSocketCodec
import XCTest

/// A subscriber that stops reading is dealt with alone: the room and the
/// publisher never wait, and the server's memory for it stays bounded.
final class SlowSubscriberTests: XCTestCase {
    func testAStalledSubscriberIsClosedWith1008AndTheOthersGetEverything() throws {
        try run(policy: .close)
    }

    func testAStalledSubscriberIsSkippedWithTheSkipPolicy() throws {
        try run(policy: .skip)
    }

    private func run(policy: SlowSubscriberPolicy) throws {
        let cap = 256 * 1024
        let (server, port) = try makeServer {
            $0.broadcast.maxQueuedBytes = cap
            $0.broadcast.slowSubscriberPolicy = policy
            $0.threads = 1
        }
        defer { server.shutdown() }
        let stalled = try TestClient(port: port, path: "/room/live", receiveBuffer: 4096)
        let readers = try (0..<3).map { _ in try TestClient(port: port, path: "/room/live") }
        let publisher = try TestClient(port: port, path: "/room/live")
        let broadcaster = try XCTUnwrap(server.broadcaster)
        XCTAssertTrue(waitUntil { broadcaster.members(of: "live").count == 5 })

        // 8 MB: more than the kernel's send buffer for the stalled socket can take (tcp_wmem max, 4 MiB).
        let messages = 8_000
        let payload = [UInt8](repeating: 0x2A, count: 1000)
        var received = [Int](repeating: 0, count: readers.count)
        for index in 0..<messages {
            publisher.sendFrame(.binary, payload)
            if index % 50 == 49 {
                // Keep the healthy readers (and the publisher, who is a member too) drained.
                for (position, reader) in readers.enumerated() {
                    while received[position] < index + 1, case .binary = reader.receiveFrame() { received[position] += 1 }
                }
                var echoed = 0
                while echoed < 50, case .binary = publisher.receiveFrame() { echoed += 1 }
            }
        }
        XCTAssertEqual(received, [Int](repeating: messages, count: readers.count), "a healthy subscriber lost messages")
        let statistics = try XCTUnwrap(broadcaster.statistics()["live"])
        XCTAssertEqual(statistics.encoded, messages)
        if policy == .close {
            XCTAssertTrue(waitUntil { server.statistics().slowSubscriberEvictions == 1 })
            XCTAssertEqual(statistics.dropped, 0)
        } else {
            XCTAssertGreaterThan(statistics.dropped, 0)
            XCTAssertEqual(server.statistics().slowSubscriberEvictions, 0)
        }
        // Bounded: the stalled one was handed at most what its kernel buffer
        // (4 MiB at most) and its cap hold, plus one pass's batch, of 8 MB published.
        let stalledDelivered = statistics.delivered - messages * (readers.count + 1)
        XCTAssertLessThan(stalledDelivered, (4 << 20 + cap + 128 * 1024) / 1000)
        withExtendedLifetime(stalled) {}
    }
}
