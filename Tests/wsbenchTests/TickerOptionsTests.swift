import XCTest
@testable import wsbench

/// `--scenario ticker`: its options, their defaults and limits, and the URLs
/// and roles of its connections.
final class TickerOptionsTests: XCTestCase {
    private static let url = "ws://127.0.0.1:8080/room/quotes"

    func testDefaultsAndEveryOption() throws {
        let plain = try parseOptions(["--scenario", "ticker", "-r", "100", Self.url])
        XCTAssertEqual(plain.keyCount, 1000)
        XCTAssertEqual(plain.slowSubscribers, 0)
        XCTAssertEqual(plain.slowSpeed, 0.1)
        XCTAssertEqual(plain.slowReceiveBuffer, 0)
        XCTAssert(plain.scenario.isRoom)
        let options = try parseOptions(["--scenario", "ticker", "-c", "50", "--publishers", "2", "--keys", "20",
                                        "--slow=5", "--slow-speed", "0.25", "--slow-rcvbuf", "8k", "--rates", "100,200", Self.url])
        XCTAssertEqual(options.slowReceiveBuffer, 8192)
        XCTAssertEqual(try RunPlan(options: options).slowReceiveBuffer, 8192)
        XCTAssertEqual(options.keyCount, 20)
        XCTAssertEqual(options.slowSubscribers, 5)
        XCTAssertEqual(options.slowSpeed, 0.25)
        XCTAssertEqual(try parseOptions(["--scenario", "ticker", "--find-max", "--slow-speed", "1", Self.url]).slowSpeed, 1)
        let usage = BenchOptionsParser.usage
        for word in ["--keys", "--slow ", "--slow-speed", "--slow-rcvbuf", "ticker"] { XCTAssert(usage.contains(word), "usage lacks \(word)") }
    }

    func testRefusals() {
        assertRefused(["--keys", "10", Self.url], saying: "--keys only applies to --scenario ticker")
        assertRefused(["--scenario", "broadcast", "--slow", "1", Self.url], saying: "--slow only applies to --scenario ticker")
        assertRefused(["--scenario", "events", "--slow-speed", "0.5", Self.url], saying: "--slow-speed only applies to --scenario ticker")
        assertRefused(["--scenario", "ticker", Self.url], saying: "needs a publish rate")
        assertRefused(["--scenario", "ticker", "-r", "10", "--step", "5", "--p95-limit", "1s", Self.url],
                      saying: "--step does not apply to --scenario ticker")
        assertRefused(["--scenario", "ticker", "-r", "10", "-s", "39", Self.url], saying: "-s must be at least 40 bytes")
        assertRefused(["--scenario", "ticker", "-r", "10", "--publishers", "3", "--keys", "2", Self.url],
                      saying: "--keys (2) must be at least --publishers (3)")
        assertRefused(["--scenario", "ticker", "-r", "10", "--keys", "2000000", Self.url], saying: "--keys must be at most")
        assertRefused(["--scenario", "ticker", "-r", "10", "-c", "10", "--slow", "10", Self.url],
                      saying: "--slow (10) must not exceed the subscribers (10 connections less 1 publishers)")
        assertRefused(["--scenario", "ticker", "-r", "10", "--slow", "1", "wss://127.0.0.1:8443/room/q"], saying: "--slow needs ws://")
        for speed in ["0", "1.5", "-0.1", "fast", "nan"] {
            assertRefused(["--scenario", "ticker", "-r", "10", "--slow-speed", speed, Self.url], saying: "--slow-speed needs a fraction")
        }
        assertRefused(["--scenario", "ticker", "-r", "10", "--keys", "0", Self.url], saying: "--keys needs a positive integer")
        assertRefused(["--scenario", "ticker", "-r", "10", "--slow-rcvbuf", "2g", Self.url], saying: "--slow-rcvbuf needs a size")
        assertRefused(["--slow-rcvbuf", "8k", Self.url], saying: "--slow-rcvbuf only applies to --scenario ticker")
        assertRefused(["--scenario", "ticker", "-r", "10", "--payload", "ticker", Self.url], saying: "--payload ticker applies to")
    }

    func testMembersConflatePublishersSayWhereTheKeyIsAndSlowSubscribersComeNext() throws {
        let options = try parseOptions(["--scenario", "ticker", "-r", "10", "-c", "6", "--publishers", "2", "--slow", "2",
                                        "--keys", "8", "ws://127.0.0.1:9/room/q?rate=4"])
        let plan = try RunPlan(options: options)
        XCTAssertEqual(plan.path, "/room/q?rate=4&conflate=1")
        XCTAssertEqual(plan.publisherPath, "/room/q?rate=4&conflate=1&self=0&keyAt=24:8")
        XCTAssertEqual((0..<6).map { plan.role(ofConnection: $0) },
                       [.publisher, .publisher, .slowSubscriber, .slowSubscriber, .subscriber, .subscriber])
        XCTAssertEqual(plan.payloadFormat, .keyedUpdate)
        XCTAssertEqual(plan.keyCount, 8)
        XCTAssertEqual(plan.slowSpeed, 0.1)
        // A URL without a room joins room wsbench, as broadcast does.
        let bare = try RunPlan(options: try parseOptions(["--scenario", "ticker", "-r", "10", "ws://127.0.0.1:9/"]))
        XCTAssertEqual(bare.path, "/room/wsbench?conflate=1")
        XCTAssertEqual(bare.publisherPath, "/room/wsbench?conflate=1&self=0&keyAt=24:8")
    }

    func testTheServersRoomCountersAreReadFromItsStatistics() {
        let stats = Array(#"""
            HTTP/1.1 200 OK\#r
            Content-Length: 999\#r
            \#r
            {"server":{"handshakes":3},"rooms":{"quotes2":{"published":1,"encoded":1,"deflated":0,"delivered":9,"dropped":0,"evicted":0,"conflated":77,"volatileDropped":0,"subscribers":1},"quotes":{"published":10,"encoded":10,"deflated":0,"delivered":40,"dropped":2,"evicted":1,"conflated":123,"volatileDropped":4,"subscribers":5}}}
            """#.utf8)
        let counters = RoomCounters.parse(stats, room: "quotes")
        XCTAssertEqual(counters, RoomCounters(delivered: 40, dropped: 2, evicted: 1, conflated: 123, volatileDropped: 4))
        XCTAssertEqual(RoomCounters.parse(stats, room: "other"), .zero, "a room not listed yet has counted nothing")
        XCTAssertNil(RoomCounters.parse(Array("<html>no statistics</html>".utf8), room: "quotes"))
        XCTAssertNil(RoomCounters.parse(stats, room: "a\"b"))
        let later = RoomCounters(delivered: 50, dropped: 2, evicted: 1, conflated: 200, volatileDropped: 4)
        XCTAssertEqual(later.since(counters!), RoomCounters(delivered: 10, dropped: 0, evicted: 0, conflated: 77, volatileDropped: 0))
        XCTAssertNil(RoomCounters.zero.since(counters!), "a room made again counts from zero: no difference to take")
    }
}
