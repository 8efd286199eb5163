import WebSocketCodec
import XCTest
@testable import wsbench

final class BenchOptionsTests: XCTestCase {
    static let url = "ws://127.0.0.1:8080/echo"
    static let second: UInt64 = 1_000_000_000
    static let millisecond: UInt64 = 1_000_000

    private func parse(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> BenchOptions? {
        do {
            return try BenchOptionsParser.parse(arguments, coreCount: 4)
        } catch {
            XCTFail("unexpected \(error.message)", file: file, line: line)
            return nil
        }
    }

    // MARK: - Defaults and every option

    func testDefaults() {
        let options = parse([Self.url])
        var expected = BenchOptions(host: "127.0.0.1", port: 8080, path: "/echo", threads: 4)
        expected.connections = 100
        XCTAssertEqual(options, expected)
        XCTAssertEqual(options?.connections, 100)
        XCTAssertEqual(options?.threads, 4)
        XCTAssertEqual(options?.durationNanoseconds, 10 * Self.second)
        XCTAssertEqual(options?.messagesPerSecond, 0)
        XCTAssertEqual(options?.payloadSize, 64)
        XCTAssertEqual(options?.scenario, .echo)
        XCTAssertEqual(options?.publishers, 1)
        XCTAssertEqual(options?.connectionsOpenedPerSecond, 0)
        XCTAssertEqual(options?.sourceAddresses, [])
        XCTAssertEqual(options?.warmupNanoseconds, Self.second)
        XCTAssertEqual(options?.timeoutNanoseconds, 10 * Self.second)
        XCTAssertNil(options?.jsonPath)
        XCTAssertEqual(options?.allowLoss, false)
        XCTAssertEqual(options?.rateLadder, [])
        XCTAssertEqual(options?.findMaxRate, false)
        XCTAssertNil(options?.serverPID)
        XCTAssertNil(options?.stepSubscribers)
        XCTAssertNil(options?.p95LimitNanoseconds)
    }

    func testThreadsDefaultToTheCoreCount() throws {
        XCTAssertEqual(try BenchOptionsParser.parse([Self.url], coreCount: 7)?.threads, 7)
        XCTAssertEqual(try BenchOptionsParser.parse([Self.url], coreCount: 0)?.threads, 1)
        XCTAssertGreaterThanOrEqual(try BenchOptionsParser.parse([Self.url])?.threads ?? 0, 1)
    }

    func testEveryEchoOptionInShortAndLongForms() {
        var expected = BenchOptions(host: "127.0.0.1", port: 8080, path: "/echo", threads: 3)
        expected.connections = 250
        expected.durationNanoseconds = 30 * Self.second
        expected.messagesPerSecond = 5_000
        expected.payloadSize = 16 * 1024
        expected.connectionsOpenedPerSecond = 1_000
        expected.sourceAddresses = [0x7F00_0002, 0x7F00_0003, 0x7F00_0004]
        expected.warmupNanoseconds = 500 * Self.millisecond
        expected.timeoutNanoseconds = 2 * Self.second
        expected.jsonPath = "out.json"
        expected.allowLoss = true
        expected.serverPID = 4242

        let short = ["-c", "250", "-t", "3", "-d", "30s", "-r", "5000", "-s", "16KiB",
                     "--ramp", "1000", "--bind", "127.0.0.2-4", "--warmup", "500ms", "--timeout", "2s",
                     "--json", "out.json", "--allow-loss", "--server-pid", "4242", Self.url]
        XCTAssertEqual(parse(short), expected)

        let attachedShort = ["-c250", "-t3", "-d30s", "-r5000", "-s16k", "--ramp=1000", "--bind=127.0.0.2-127.0.0.4",
                             "--warmup=0.5s", "--timeout=2000ms", "--json=out.json", "--allow-loss",
                             "--server-pid=4242", Self.url]
        XCTAssertEqual(parse(attachedShort), expected)

        let long = [Self.url, "--connections", "250", "--threads", "3", "--duration", "30", "--rate", "5000",
                    "--size", "16384", "--scenario", "echo", "--ramp", "1000", "--bind", "127.0.0.2-127.0.0.4",
                    "--warmup", "500ms", "--timeout", "2s", "--json", "out.json", "--allow-loss",
                    "--server-pid", "4242"]
        XCTAssertEqual(parse(long), expected)

        let longEquals = ["--connections=250", "--threads=3", "--duration=0.5m", "--rate=5000", "--size=16kb",
                          "--scenario=echo", "--ramp=1000", "--bind=127.0.0.2-4", "--warmup=500000us",
                          "--timeout=2s", "--json=out.json", "--allow-loss", "--server-pid=4242", Self.url]
        XCTAssertEqual(parse(longEquals), expected)
    }

    func testBroadcastOptions() {
        let options = parse(["--scenario", "broadcast", "-c", "10000", "--publishers", "4",
                             "--rates", "500,1000,2000", Self.url])
        XCTAssertEqual(options?.scenario, .broadcast)
        XCTAssertEqual(options?.connections, 10_000)
        XCTAssertEqual(options?.publishers, 4)
        XCTAssertEqual(options?.rateLadder, [500, 1000, 2000])

        let findMax = parse(["--scenario=broadcast", "--find-max", Self.url])
        XCTAssertEqual(findMax?.findMaxRate, true)

        let step = parse(["--scenario", "broadcast", "--step", "1000", "--p95-limit", "150ms", "-r", "2", Self.url])
        XCTAssertEqual(step?.stepSubscribers, 1_000)
        XCTAssertEqual(step?.p95LimitNanoseconds, 150 * Self.millisecond)
        XCTAssertEqual(step?.messagesPerSecond, 2)

        let single = parse(["--scenario", "broadcast", "-c", "1", "--publishers", "1", Self.url])
        XCTAssertEqual(single?.publishers, 1)
    }

    func testConnectScenario() throws {
        let options = parse(["--scenario", "connect", "-c", "10000", "--ramp", "5000", Self.url])
        XCTAssertEqual(options?.scenario, .connect)
        XCTAssertEqual(options?.connectionsOpenedPerSecond, 5_000)
        XCTAssertNil(options?.maxInFlight, "512 unless asked")

        let bounded = parse(["--scenario", "connect", "-c", "10000", "--in-flight", "128", "-t", "2", Self.url])
        XCTAssertEqual(bounded?.maxInFlight, 128)
        XCTAssertEqual(try bounded.map { try RunPlan(options: $0).maxInFlightPerLoop }, 64, "split over the loops")
        assertRefused(["--in-flight", "0", Self.url], saying: "--in-flight needs a positive integer, got '0'")
    }

    func testZeroIsAllowedWhereItMeansSomething() {
        let options = parse(["-r", "0", "--ramp", "0", "--warmup", "0", "-s", "0", Self.url])
        XCTAssertEqual(options?.messagesPerSecond, 0)
        XCTAssertEqual(options?.connectionsOpenedPerSecond, 0)
        XCTAssertEqual(options?.warmupNanoseconds, 0)
        XCTAssertEqual(options?.payloadSize, 0)
    }

    func testLaterOccurrenceWins() {
        XCTAssertEqual(parse(["-c", "5", "--connections", "6", Self.url])?.connections, 6)
    }

    func testHelp() throws {
        XCTAssertNil(try BenchOptionsParser.parse(["-h"]))
        XCTAssertNil(try BenchOptionsParser.parse(["--help"]))
        XCTAssertNil(try BenchOptionsParser.parse(["-c", "x", "--help", "--bogus"]))
        // After "--" it is an argument, not a request for help.
        assertRefused(["--", "--help"], saying: "ws://")
    }

    func testDeflateAndTickerOptions() {
        XCTAssertNil(parse([Self.url])?.deflate)
        XCTAssertEqual(parse([Self.url])?.payload, .padding)
        XCTAssertEqual(parse(["--deflate", Self.url])?.deflate, PerMessageDeflate.ClientOffer())
        // The parameters, in any order around --deflate.
        let all = parse(["--server-max-window-bits", "10", "--deflate", "--client-no-context-takeover",
                         "--server-no-context-takeover", "--client-max-window-bits=9", Self.url])
        XCTAssertEqual(all?.deflate, PerMessageDeflate.ClientOffer(serverNoContextTakeover: true, clientNoContextTakeover: true,
                                                                    serverMaxWindowBits: 10, clientMaxWindowBits: 9))
        assertRefused(["--server-no-context-takeover", Self.url], saying: "--server-no-context-takeover is a permessage-deflate parameter: add --deflate")
        assertRefused(["--client-max-window-bits", "9", Self.url], saying: "add --deflate")
        assertRefused(["--deflate", "--server-max-window-bits", "16", Self.url], saying: "needs a window size from 8 to 15")
        assertRefused(["--deflate", "--client-max-window-bits", "x", Self.url], saying: "got 'x'")
        assertRefused(["--deflate=1", Self.url], saying: "--deflate takes no value")

        let ticker = parse(["--scenario", "broadcast", "--payload", "ticker", "-s", "1k", Self.url])
        XCTAssertEqual(ticker?.payload, .ticker)
        XCTAssertEqual(parse(["--payload=ticker", Self.url])?.payload, .ticker, "echo takes it too")
        assertRefused(["--payload", "json", Self.url], saying: "--payload needs padding or ticker, got 'json'")
        assertRefused(["--payload", "ticker", "-s", "63", Self.url], saying: "-s must be at least 64 bytes for --payload ticker")
        assertRefused(["--scenario", "sse", "--payload", "ticker", "ws://h/room/a"], saying: "--payload ticker applies to --scenario echo or broadcast")
    }

    func testDoubleDashEndsOptions() {
        XCTAssertEqual(parse(["-c", "3", "--", Self.url])?.connections, 3)
    }

    func testUsageDocumentsEveryOptionWithExamples() {
        let usage = BenchOptionsParser.usage
        for word in ["--connections", "--threads", "--duration", "--rate", "--size", "--scenario", "--publishers",
                     "--ramp", "--bind", "--warmup", "--timeout", "--json", "--allow-loss", "--rates",
                     "--find-max", "--server-pid", "--step", "--p95-limit", "--payload", "--deflate",
                     "--server-no-context-takeover", "--client-no-context-takeover", "--server-max-window-bits",
                     "--client-max-window-bits", "--help"] {
            XCTAssert(usage.contains(word), "usage lacks \(word)")
        }
        XCTAssert(usage.contains("Examples:"))
        XCTAssert(usage.contains("--scenario broadcast -c 10000 --bind"))
        XCTAssert(usage.contains("--scenario connect"))
        XCTAssert(usage.contains("--rates") && usage.contains("--server-pid 4242"))
        // Every example parses.
        for line in usage.split(separator: "\n") where line.contains("wsbench -") || line.contains("wsbench --") {
            let arguments = line.split(separator: " ").dropFirst().map(String.init)
            XCTAssertNotNil(parse(arguments), "example does not parse: \(line)")
        }
    }

    // MARK: - URL

    func testURLForms() {
        func target(_ url: String) -> (String, UInt16, String)? {
            parse([url]).map { ($0.host, $0.port, $0.path) }
        }
        XCTAssert(target("ws://example.com")! == ("example.com", 80, "/"))
        XCTAssert(target("ws://example.com/")! == ("example.com", 80, "/"))
        XCTAssert(target("ws://example.com:9001")! == ("example.com", 9001, "/"))
        XCTAssert(target("WS://h:1/a/b?room=7")! == ("h", 1, "/a/b?room=7"))
        XCTAssert(target("ws://h?room=7")! == ("h", 80, "/?room=7"))
        XCTAssert(target("ws://h:65535/x")! == ("h", 65535, "/x"))
        XCTAssert(target("ws://[::1]:8080/x")! == ("::1", 8080, "/x"))
        XCTAssert(target("ws://[::1]")! == ("::1", 80, "/"))
        XCTAssertEqual(parse(["ws://[::1]:8080/x"])?.url, "ws://[::1]:8080/x")
        XCTAssertEqual(parse(["ws://h/x"])?.url, "ws://h:80/x")
    }

    func testTLSURLs() throws {
        let secure = try XCTUnwrap(parse(["wss://example.test/x"]))
        XCTAssert(secure.secure && !secure.insecure)
        XCTAssertEqual(secure.port, 443)
        XCTAssertEqual(secure.url, "wss://example.test:443/x")
        let selfSigned = try XCTUnwrap(parse(["--insecure", "wss://127.0.0.1:9443/"]))
        XCTAssert(selfSigned.secure && selfSigned.insecure)
        XCTAssertEqual(selfSigned.port, 9443)
        XCTAssertFalse(try XCTUnwrap(parse(["ws://h/"])).secure)
    }

    func testBadURLs() {
        assertRefused([], saying: "missing the server URL")
        assertRefused(["-c", "5"], saying: "missing the server URL")
        assertRefused(["http://h/"], saying: "ws://")
        assertRefused(["h:8080"], saying: "ws://")
        assertRefused(["ws:/h"], saying: "ws://")
        assertRefused(["--insecure", "ws://h/"], saying: "--insecure only applies to a wss://")
        assertRefused(["https://h/"], saying: "https:// only with --scenario sse or longpoll")
        assertRefused(["ws://"], saying: "host")
        assertRefused(["ws://:8080/"], saying: "host")
        assertRefused(["ws:///path"], saying: "host")
        assertRefused(["ws://h:0/"], saying: "port must be 1-65535, got '0'")
        assertRefused(["ws://h:65536/"], saying: "port must be 1-65535")
        assertRefused(["ws://h:/"], saying: "port")
        assertRefused(["ws://h:x/"], saying: "port must be 1-65535, got 'x'")
        assertRefused(["ws://h:-1/"], saying: "port")
        assertRefused(["ws://::1/"], saying: "brackets")
        assertRefused(["ws://[::1/"], saying: "]")
        assertRefused(["ws://[::1]x/"], saying: "after the URL's host")
        assertRefused(["ws://h/#top"], saying: "fragment")
        assertRefused(["ws://u@h/"], saying: "user info")
        assertRefused([Self.url, "ws://other/"], saying: "unexpected argument 'ws://other/'")
        assertRefused([Self.url, "extra"], saying: "unexpected argument 'extra'")
    }

    // MARK: - Bad options

    func testUnknownOptions() {
        assertRefused(["--foo", Self.url], saying: "unknown option --foo")
        assertRefused(["--foo=1", Self.url], saying: "unknown option --foo")
        assertRefused(["-x", Self.url], saying: "unknown option -x")
        assertRefused(["--Connections", "5", Self.url], saying: "unknown option --Connections")
        assertRefused(["-", Self.url], saying: "unexpected argument")
    }

    func testMissingValues() {
        for option in ["-c", "-t", "-d", "-r", "-s", "--scenario", "--publishers", "--ramp", "--bind", "--warmup",
                       "--timeout", "--json", "--rates", "--server-pid", "--step", "--p95-limit", "--connections"] {
            assertRefused([Self.url, option], saying: "\(option) needs a value")
        }
    }

    func testFlagsTakeNoValue() {
        assertRefused(["--allow-loss=yes", Self.url], saying: "--allow-loss takes no value")
        assertRefused(["--scenario", "broadcast", "--find-max=1", Self.url], saying: "--find-max takes no value")
    }

    func testBadNumbers() {
        assertRefused(["-c", "x", Self.url], saying: "-c needs a positive integer, got 'x'")
        assertRefused(["-c", "0", Self.url], saying: "-c needs a positive integer, got '0'")
        assertRefused(["-c", "-5", Self.url], saying: "-c needs a positive integer, got '-5'")
        assertRefused(["-c", "+5", Self.url], saying: "got '+5'")
        assertRefused(["-c", "1.5", Self.url], saying: "got '1.5'")
        assertRefused(["-c", "", Self.url], saying: "got ''")
        assertRefused(["-c", "99999999999999999999", Self.url], saying: "positive integer")
        assertRefused(["--connections=abc", Self.url], saying: "--connections needs a positive integer, got 'abc'")
        assertRefused(["-t", "0", Self.url], saying: "-t needs a positive integer")
        assertRefused(["-r", "-1", Self.url], saying: "-r needs a non-negative integer, got '-1'")
        assertRefused(["-r", "fast", Self.url], saying: "-r needs a non-negative integer")
        assertRefused(["--ramp", "x", Self.url], saying: "--ramp needs a non-negative integer")
        assertRefused(["--scenario", "broadcast", "--publishers", "0", Self.url], saying: "--publishers needs a positive integer")
        assertRefused(["--server-pid", "0", Self.url], saying: "--server-pid needs a positive integer")
        assertRefused(["--server-pid", "4294967296", Self.url], saying: "--server-pid needs a process id")
        assertRefused(["--scenario", "broadcast", "--step", "0", "--p95-limit", "1s", Self.url], saying: "--step needs a positive integer")
    }

    func testBadDurationsSizesAndNames() {
        assertRefused(["-d", "0", Self.url], saying: "-d needs a positive duration")
        assertRefused(["-d", "10x", Self.url], saying: "-d needs a positive duration such as 10s, 500ms or 2m, got '10x'")
        assertRefused(["--duration=", Self.url], saying: "--duration needs a positive duration")
        assertRefused(["--warmup", "soon", Self.url], saying: "--warmup needs a duration")
        assertRefused(["--timeout", "0s", Self.url], saying: "--timeout needs a positive duration")
        assertRefused(["-s", "1g", Self.url], saying: "-s needs a size in bytes")
        assertRefused(["-s", "-1", Self.url], saying: "got '-1'")
        assertRefused(["--scenario", "pubsub", Self.url], saying: "--scenario needs echo, broadcast, connect, sse, longpoll, events or ticker, got 'pubsub'")
        assertRefused(["--scenario", "Echo", Self.url], saying: "got 'Echo'")
        assertRefused(["--bind", "127.0.0.40-2", Self.url], saying: "--bind needs an IPv4 address or a range")
        assertRefused(["--bind", "localhost", Self.url], saying: "got 'localhost'")
        assertRefused(["--json", "", Self.url], saying: "--json needs a file name")
        assertRefused(["--scenario", "broadcast", "--rates", "500,,1000", Self.url], saying: "--rates needs positive rates")
        assertRefused(["--scenario", "broadcast", "--rates", "500,0", Self.url], saying: "--rates needs positive rates")
        assertRefused(["--scenario", "broadcast", "--rates", "", Self.url], saying: "--rates needs positive rates")
        assertRefused(["--scenario", "broadcast", "--rates=1k", Self.url], saying: "got '1k'")
    }

    func testCombinationRules() {
        assertRefused(["--scenario", "broadcast", "-c", "3", "--publishers", "4", Self.url],
                      saying: "--publishers (4) must not exceed the connections (3)")
        assertRefused(["--publishers", "2", Self.url], saying: "--publishers only applies to --scenario broadcast")
        assertRefused(["--rates", "500,1000", Self.url], saying: "--rates only applies to --scenario broadcast")
        assertRefused(["--scenario", "connect", "--find-max", Self.url], saying: "--find-max only applies to --scenario broadcast")
        assertRefused(["--step", "100", "--p95-limit", "100ms", Self.url], saying: "--step only applies to --scenario broadcast")
        assertRefused(["--scenario", "broadcast", "--rates", "1,2", "--find-max", Self.url],
                      saying: "--rates and --find-max cannot be combined")
        assertRefused(["--scenario", "broadcast", "-r", "5", "--rates", "1,2", Self.url],
                      saying: "-r cannot be combined with --rates")
        assertRefused(["--scenario", "broadcast", "--rate=5", "--find-max", Self.url],
                      saying: "--rate cannot be combined with --find-max")
        assertRefused(["--scenario", "broadcast", "--step", "100", Self.url], saying: "--step needs --p95-limit")
        assertRefused(["--scenario", "broadcast", "--p95-limit", "100ms", Self.url],
                      saying: "--p95-limit only applies to step mode")
        assertRefused(["--scenario", "broadcast", "--step", "100", "--p95-limit", "0ms", Self.url],
                      saying: "--p95-limit needs a positive duration")
        assertRefused(["--scenario", "broadcast", "--step", "100", "--p95-limit", "1s", "--find-max", Self.url],
                      saying: "--step cannot be combined with --find-max")
    }

    // MARK: - Durations

    func testParseDuration() {
        XCTAssertEqual(parseDuration("10s"), 10 * Self.second)
        XCTAssertEqual(parseDuration("10"), 10 * Self.second)
        XCTAssertEqual(parseDuration("500ms"), 500 * Self.millisecond)
        XCTAssertEqual(parseDuration("2m"), 120 * Self.second)
        XCTAssertEqual(parseDuration("1h"), 3_600 * Self.second)
        XCTAssertEqual(parseDuration("250us"), 250_000)
        XCTAssertEqual(parseDuration("250µs"), 250_000)
        XCTAssertEqual(parseDuration("250\u{3BC}s"), 250_000)
        XCTAssertEqual(parseDuration("7ns"), 7)
        XCTAssertEqual(parseDuration("0"), 0)
        XCTAssertEqual(parseDuration("0ms"), 0)
        XCTAssertEqual(parseDuration("1.5s"), 1_500 * Self.millisecond)
        XCTAssertEqual(parseDuration("0.001s"), Self.millisecond)
        XCTAssertEqual(parseDuration("1.001ms"), 1_001_000)
        XCTAssertEqual(parseDuration("0.25m"), 15 * Self.second)
        XCTAssertEqual(parseDuration("1.999999999999s"), 1_999_999_999, "below a nanosecond is dropped")
        XCTAssertEqual(parseDuration("1.5ns"), 1)
        XCTAssertEqual(parseDuration("007s"), 7 * Self.second)
        XCTAssertEqual(parseDuration("18446744073709551615ns"), .max)
    }

    func testParseDurationRefusesMalformedText() {
        for text in ["", "s", "ms", "-1s", "+1s", "1.s", ".5s", "1..5s", "1.5.2s", "1 s", " 1s", "1s ", "10S", "10sec",
                     "1ms2", "1e3ms", "ten", "1,5s", "18446744073709551616ns", "999999999999h", "1_000ms", "١s"] {
            XCTAssertNil(parseDuration(text), "'\(text)'")
        }
    }

    // MARK: - Sizes

    func testParseSize() {
        XCTAssertEqual(parseSize("64"), 64)
        XCTAssertEqual(parseSize("0"), 0)
        XCTAssertEqual(parseSize("64b"), 64)
        XCTAssertEqual(parseSize("64B"), 64)
        XCTAssertEqual(parseSize("1k"), 1_024)
        XCTAssertEqual(parseSize("1K"), 1_024)
        XCTAssertEqual(parseSize("16KiB"), 16_384)
        XCTAssertEqual(parseSize("16kb"), 16_384)
        XCTAssertEqual(parseSize("2m"), 2 << 20)
        XCTAssertEqual(parseSize("2MiB"), 2 << 20)
        XCTAssertEqual(parseSize("2MB"), 2 << 20)
    }

    func testParseSizeRefusesMalformedText() {
        for text in ["", "k", "-1", "+1", "1.5k", "1 k", "1g", "1KiBs", "0x10", "9223372036854775807k",
                     "99999999999999999999", "1ki"] {
            XCTAssertNil(parseSize(text), "'\(text)'")
        }
    }

    // MARK: - Address ranges

    func testParseAddressRange() {
        XCTAssertEqual(parseAddressRange("127.0.0.2"), [0x7F00_0002])
        XCTAssertEqual(parseAddressRange("127.0.0.2-127.0.0.4"), [0x7F00_0002, 0x7F00_0003, 0x7F00_0004])
        XCTAssertEqual(parseAddressRange("127.0.0.2-4"), [0x7F00_0002, 0x7F00_0003, 0x7F00_0004])
        XCTAssertEqual(parseAddressRange("127.0.0.2-127.0.0.40")?.count, 39)
        XCTAssertEqual(parseAddressRange("127.0.0.2-40"), parseAddressRange("127.0.0.2-127.0.0.40"))
        XCTAssertEqual(parseAddressRange("10.0.0.7-10.0.0.7"), [0x0A00_0007])
        XCTAssertEqual(parseAddressRange("10.0.0.7-7"), [0x0A00_0007])
        XCTAssertEqual(parseAddressRange("0.0.0.0"), [0])
        XCTAssertEqual(parseAddressRange("255.255.255.255"), [.max])
        // A full range may cross octets.
        let crossing = parseAddressRange("10.0.0.250-10.0.1.5")
        XCTAssertEqual(crossing?.count, 12)
        XCTAssertEqual(crossing?.first, 0x0A00_00FA)
        XCTAssertEqual(crossing?.last, 0x0A00_0105)
        XCTAssertEqual(parseAddressRange("10.0.0.0-10.0.255.255")?.count, BenchOptionsParser.maximumAddressRangeCount)
    }

    func testParseAddressRangeRefusesMalformedText() {
        for text in ["", "-", "127.0.0.40-2", "127.0.0.40-127.0.0.2", "127.0.0.2-", "-127.0.0.2", "127.0.0.2-3-4",
                     "127.0.0", "127.0.0.1.5", "127.0.0.256", "127.0.0.2-256", "127.0.0.1000", "127.0.0.01",
                     "127.0.0.2-040", "127..0.1", "127.0.0.-1", "a.b.c.d", "localhost", " 127.0.0.1", "127.0.0.1 ",
                     "::1", "127.0.0.+1", "10.0.0.0-10.1.0.0"] {
            XCTAssertNil(parseAddressRange(text), "'\(text)'")
        }
    }

    func testFormatIPv4() {
        XCTAssertEqual(formatIPv4(0x7F00_0001), "127.0.0.1")
        XCTAssertEqual(formatIPv4(0), "0.0.0.0")
        XCTAssertEqual(formatIPv4(.max), "255.255.255.255")
        XCTAssertEqual(parseAddressRange(formatIPv4(0xC0A8_0A14)), [0xC0A8_0A14])
    }
}
