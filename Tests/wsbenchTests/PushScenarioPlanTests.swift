import XCTest
@testable import wsbench

/// The sse and longpoll scenarios' options, plan, text header and HTTP head; and the receive benchmark.
final class PushScenarioPlanTests: XCTestCase {
    func testOptions() throws {
        let options = try parseOptions(["--scenario", "sse", "-c", "10", "--publishers", "2", "--ws-subscribers", "3", "ws://h:8/room/a"])
        XCTAssertEqual(options.scenario, .sse)
        XCTAssertEqual(options.webSocketSubscribers, 3)
        XCTAssertEqual(options.publishers, 2)
        XCTAssertEqual(try parseOptions(["--scenario=longpoll", "http://h:8/poll/a"]).scenario, .longpoll)
        XCTAssertEqual(try parseOptions(["--scenario", "sse", "-s", "44", "--rates", "10,100", "ws://h/"]).rateLadder, [10, 100])
        assertRefused(["--ws-subscribers", "2", "ws://h/"], saying: "--ws-subscribers only applies to --scenario sse or longpoll")
        assertRefused(["--scenario", "broadcast", "--ws-subscribers", "2", "ws://h/"], saying: "only applies to --scenario sse")
        assertRefused(["--scenario", "sse", "-c", "4", "--publishers", "2", "--ws-subscribers", "3", "ws://h/room/a"],
                      saying: "--publishers (2) plus --ws-subscribers (3) must not exceed the connections (4)")
        assertRefused(["--scenario", "sse", "-s", "43", "ws://h/room/a"], saying: "-s must be 44-65536 bytes for --scenario sse")
        assertRefused(["--scenario", "longpoll", "-s", "65537", "ws://h/room/a"], saying: "-s must be 44-65536")
        assertRefused(["--scenario", "sse", "ws://h/chat/7"], saying: "needs the room's URL")
        assertRefused(["http://h/room/a"], saying: "ws://")
        XCTAssertEqual(try parseOptions(["--scenario", "sse", "https://h/room/a"]).url, "wss://h:443/room/a")
        assertRefused(["--scenario", "sse", "ftp://h/room/a"], saying: "ws://, wss://, http:// or https://")
    }

    func testRoomOfAURLPath() {
        XCTAssert(RunPlan.room(ofURLPath: "/room/lobby")! == ("lobby", nil))
        XCTAssert(RunPlan.room(ofURLPath: "/sse/lobby")! == ("lobby", nil))
        XCTAssert(RunPlan.room(ofURLPath: "/poll/lobby?token=t")! == ("lobby", "token=t"))
        XCTAssert(RunPlan.room(ofURLPath: "/")! == ("wsbench", nil))
        XCTAssert(RunPlan.room(ofURLPath: "/room/")! == ("wsbench", nil))
        XCTAssertNil(RunPlan.room(ofURLPath: "/sse/"))
        XCTAssertNil(RunPlan.room(ofURLPath: "/chat/7"))
    }

    func testPlanRolesAndRequests() throws {
        let options = try parseOptions(["--scenario", "longpoll", "-c", "6", "--publishers", "2", "--ws-subscribers", "1",
                                        "http://127.0.0.1:9/poll/lobby?k=v"])
        let plan = try RunPlan(options: options)
        XCTAssertEqual((0..<6).map { plan.role(ofConnection: $0) },
                       [.publisher, .publisher, .subscriber, .pollingSubscriber, .pollingSubscriber, .pollingSubscriber])
        XCTAssertEqual(plan.path, "/room/lobby?k=v")
        XCTAssertEqual(plan.publisherPath, "/room/lobby?k=v&self=0")
        XCTAssertEqual(plan.payloadFormat, .text)
        XCTAssert(plan.mixesTransports)
        XCTAssertEqual(String(decoding: plan.firstPollRequest, as: UTF8.self),
                       "GET /poll/lobby?k=v HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: wsbench\r\n\r\n")
        XCTAssertEqual(String(decoding: plan.pollRequestHead, as: UTF8.self) + "42" + String(decoding: plan.pollRequestTail, as: UTF8.self),
                       "GET /poll/lobby?k=v&since=42&wait=25 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: wsbench\r\n\r\n")
        let sse = try RunPlan(options: try parseOptions(["--scenario", "sse", "ws://127.0.0.1:9/room/lobby"]))
        XCTAssertEqual(String(decoding: sse.eventStreamRequest, as: UTF8.self),
                       "GET /sse/lobby HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: wsbench\r\nAccept: text/event-stream\r\n\r\n")
        XCTAssertEqual(sse.role(ofConnection: 1), .eventStreamSubscriber)
    }

    func testDecimalForPolls() {
        var bytes = [UInt8](repeating: 0, count: 20)
        for value: UInt64 in [0, 7, 10, 99, 12345, .max] {
            let count = bytes.withUnsafeMutableBytes { LoadGenerator.writeDecimal(value, to: $0.baseAddress!) }
            XCTAssertEqual(String(decoding: bytes[..<count], as: UTF8.self), String(value))
        }
    }

    func testTextMessageHeaderRoundTrip() {
        let fields = MessageHeader.Fields(sender: 0xDEAD_BEEF, sequence: 1 << 40 | 3, intendedTime: 123_456_789_012)
        var bytes = [UInt8](repeating: UInt8(ascii: "x"), count: 64)
        bytes.withUnsafeMutableBytes { TextMessageHeader.write(fields, to: $0.baseAddress!) }
        XCTAssertEqual(String(decoding: bytes[..<44], as: UTF8.self), "wst1deadbeef00000100000000030000001cbe991a14")
        bytes.withUnsafeBytes {
            XCTAssertEqual(TextMessageHeader.read($0.baseAddress!, count: 64), fields)
            XCTAssertNil(TextMessageHeader.read($0.baseAddress!, count: 43))
            XCTAssertNil(MessageHeader.read($0.baseAddress!, count: 64), "text and binary headers are told apart")
        }
        bytes[20] = UInt8(ascii: "G")
        bytes.withUnsafeBytes { XCTAssertNil(TextMessageHeader.read($0.baseAddress!, count: 64)) }
    }

    func testResponseHead() {
        func parse(_ text: String) -> HTTPResponseHead.Parse {
            Array(text.utf8).withUnsafeBytes { HTTPResponseHead.parse($0) }
        }
        XCTAssertEqual(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nCONNECTION: keep-alive, Close\r\n\r\nbody"),
                       .complete(HTTPResponseHead(status: 200, length: 78, contentLength: nil, isChunked: true, closes: true)))
        XCTAssertEqual(parse("HTTP/1.0 200 OK\ncontent-length: 5\n\n"),
                       .complete(HTTPResponseHead(status: 200, length: 35, contentLength: 5, isChunked: false, closes: true)))
        XCTAssertEqual(parse("HTTP/1.1 404\r\nContent-Length: 0\r\n"), .needMore)
        XCTAssertEqual(parse("HTTP/1.1 20x OK\r\n\r\n"), .invalid("malformed status line"))
        XCTAssertEqual(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), .invalid("bad Content-Length"))
        XCTAssertEqual(parse("HTTP/1.1 200 OK\r\nno colon\r\n\r\n"), .invalid("malformed header line"))
    }

    func testReceiveBenchmarkTakesEveryFrame() throws {
        for perRead in [0, 1, 7] {
            let result = try ReceiveBenchmark.run(ReceiveBenchmark.Options(frames: 20_000, size: 64, perRead: perRead))
            XCTAssert(result.isValid, ReceiveBenchmark.report(result, size: 64))
            XCTAssertGreaterThanOrEqual(result.frames, 20_000)
        }
        let large = try ReceiveBenchmark.run(ReceiveBenchmark.Options(frames: 1_000, size: 1_000, perRead: 0))
        XCTAssert(large.isValid, ReceiveBenchmark.report(large, size: 1_000))
        // The SSE subscriber's chunks and the events room packets, through their own readers.
        for scenario in [Scenario.sse, .events] {
            for (size, perRead) in [(64, 0), (64, 1), (44, 7), (1_000, 0)] {
                let result = try ReceiveBenchmark.run(ReceiveBenchmark.Options(frames: 5_000, size: size, perRead: perRead, scenario: scenario))
                XCTAssert(result.isValid, ReceiveBenchmark.report(result, size: size, scenario: scenario))
            }
        }
        XCTAssertEqual(try ReceiveBenchmark.parse(["--frames", "5", "--size", "100", "--per-read", "2"]),
                       ReceiveBenchmark.Options(frames: 5, size: 100, perRead: 2))
        XCTAssertEqual(try ReceiveBenchmark.parse(["--scenario", "events"]).scenario, .events)
        XCTAssertThrowsError(try ReceiveBenchmark.parse(["--size", "10"]))
        XCTAssertThrowsError(try ReceiveBenchmark.parse(["--scenario", "events", "--size", "40"]))
        XCTAssertThrowsError(try ReceiveBenchmark.parse(["--scenario", "longpoll"]))
    }
}
