import Reactor
import Redis
import XCTest

/// Redis going away and coming back, with a real redis-server killed (SIGKILL) and restarted.
final class RedisOutageTests: XCTestCase {
    func testKilledAndRestartedTheClientReconnectsResubscribesAndReportsTheOutage() throws {
        let server = try RedisServerProcess()
        let subscriber = try LoopClient(url: server.url)
        let publisher = try LoopClient(url: server.url)
        XCTAssertTrue(subscriber.wait(for: .up) && publisher.wait(for: .up))
        XCTAssertNotNil(subscriber.subscribe(["room:x"]).value())
        XCTAssertEqual(publisher.call(["PUBLISH", "room:x", "before"]).value(), .integer(1))

        // A command in flight when Redis dies: it fails as lost, not as refused.
        let blocked = Shared<Result<RESPValue, RedisError>?>(nil)
        publisher.run { redis in try? redis.send("BLPOP", "never", 30) { result in blocked.update { $0 = result } } }
        XCTAssertTrue(eventually { publisher.run { $0.pendingCount } == 1 })
        usleep(50_000)  // written at the end of that pass; let Redis read it

        let killedAt = monotonicNanoseconds()
        server.kill()
        XCTAssertTrue(subscriber.wait(for: .down) && publisher.wait(for: .down))
        XCTAssertTrue(eventually { blocked.value != nil })
        guard case .failure(.connectionLost(let reason))? = blocked.value else { return XCTFail("\(String(describing: blocked.value))") }
        XCTAssertTrue(reason.contains("Redis closed the connection") || reason.contains("reset"), reason)

        // During the outage: at once, the documented error, with the outage in it.
        let during = publisher.call(["PUBLISH", "room:x", "during"])
        guard case .failure(.unavailable(let status)) = during else { return XCTFail("\(during)") }
        XCTAssertEqual(status.state, .down)
        XCTAssertGreaterThanOrEqual(status.since, killedAt)
        let text = "\(RedisError.unavailable(status))"
        XCTAssertTrue(text.hasPrefix("Redis is unavailable (down for ") && text.hasSuffix("the command was not sent"), text)
        XCTAssertTrue(eventually { publisher.status.reconnectAttempts >= 3 }, "backoff stopped trying: \(publisher.status)")
        XCTAssertTrue(publisher.status.lastError?.contains("Connection refused") == true, "\(publisher.status)")

        while monotonicNanoseconds() < killedAt + 600_000_000 { usleep(10_000) }
        try server.start()
        let restartedAt = monotonicNanoseconds()
        XCTAssertTrue(subscriber.wait(for: .up) && publisher.wait(for: .up))
        let upBy = monotonicNanoseconds()

        for client in [subscriber, publisher] {
            let status = client.status
            XCTAssertEqual(status.outages, 1)
            XCTAssertEqual(status.reconnectAttempts, 0)
            XCTAssertGreaterThanOrEqual(status.lastOutageNanoseconds, restartedAt - killedAt - 50_000_000, "\(status)")
            XCTAssertLessThanOrEqual(status.lastOutageNanoseconds, upBy - killedAt, "\(status)")
            XCTAssertEqual(status.totalDowntimeNanoseconds, status.lastOutageNanoseconds)
            // What the observer saw: up, down, failed attempts while down, up again.
            let states = client.statuses.value
            XCTAssertEqual(states.first?.state, .up)
            XCTAssertEqual(states.last?.state, .up)
            let down = states.dropFirst().dropLast()
            XCTAssertTrue(down.allSatisfy { $0.state == .down }, "\(states.map(\.state))")
            XCTAssertEqual(down.map(\.reconnectAttempts), Array(0..<down.count), "attempts are reported one by one")
            XCTAssertGreaterThanOrEqual(down.count, 4)
        }

        // Resubscribed by itself: the message published now reaches it.
        XCTAssertEqual(publisher.call(["PUBLISH", "room:x", "after"]).value(), .integer(1))
        XCTAssertTrue(eventually { subscriber.messages.value.count == 2 })
        XCTAssertEqual(subscriber.messages.value.map { String(decoding: $0.payload, as: UTF8.self) }, ["before", "after"])
    }

    func testASubscriptionMadeWhileDownIsMadeOnReconnection() throws {
        let server = try RedisServerProcess()
        server.kill()
        let client = try LoopClient(url: server.url)
        XCTAssertTrue(client.wait(for: .down))
        XCTAssertTrue(eventually { client.status.reconnectAttempts >= 2 })
        XCTAssertEqual(client.status.lastError, "connect to 127.0.0.1:\(server.port) failed: Connection refused")
        let confirmed = Shared<Result<Void, RedisError>?>(nil)
        client.run { redis in redis.subscribe(["late"]) { result in confirmed.update { $0 = result } } }
        usleep(100_000)
        XCTAssertNil(confirmed.value, "confirmed while Redis was down")

        try server.start()
        XCTAssertTrue(client.wait(for: .up))
        XCTAssertTrue(eventually { confirmed.value != nil })
        XCTAssertNotNil(confirmed.value?.value())
        XCTAssertEqual(client.status.outages, 1, "never reached at start counts as an outage")
        let publisher = try LoopClient(url: server.url)
        XCTAssertTrue(publisher.wait(for: .up))
        XCTAssertEqual(publisher.call(["PUBLISH", "late", "hi"]).value(), .integer(1))
        XCTAssertTrue(eventually { client.messages.value.count == 1 })
    }

    func testGivesUpAfterMaxAttemptsAndSaysSo() throws {
        let server = try RedisServerProcess()
        server.kill()
        let client = try LoopClient(url: server.url) { $0.reconnect.maxAttempts = 3 }
        XCTAssertTrue(client.wait(for: .closed))
        let status = client.status
        XCTAssertTrue(status.lastError?.hasPrefix("gave up after 3 attempts to connect; last: connect to 127.0.0.1:") == true, "\(status)")
        guard case .failure(.closed) = client.call(["PING"]) else { return XCTFail("a closed client sent") }
    }
}
