import Glibc
import XCTest
@testable import wsbench

/// `--soak`: the samples, the drift rule, the options and the reports.
final class SoakTests: XCTestCase {
    private static let second: UInt64 = 1_000_000_000

    /// Samples a minute apart over an hour whose server RSS is `rss(minute)`.
    private func hour(rss: (Int) -> Int, descriptors: Int = 10_005) -> [SoakSample] {
        (1...60).map { minute in
            SoakSample(
                elapsedNanoseconds: UInt64(minute) * 60 * Self.second, openConnections: 10_000, received: 1_200_000,
                lost: 0, errors: 0, p50Nanoseconds: 1_000_000, p99Nanoseconds: 5_000_000, maxNanoseconds: 9_000_000,
                server: ProcessUsage(residentBytes: rss(minute), openDescriptors: descriptors),
                client: ProcessUsage(residentBytes: 50 << 20, openDescriptors: 10_003))
        }
    }

    private func verdict(_ samples: [SoakSample]) -> SoakVerdict {
        SoakVerdict(samples: samples, soakNanoseconds: 3600 * Self.second, intervalNanoseconds: 60 * Self.second)
    }

    func testFlatSeriesWithNoisePass() {
        // ±1% noise around 40 MiB, no trend.
        let samples = hour { minute in (40 << 20) + (minute % 2 == 0 ? 400_000 : -400_000) }
        let result = verdict(samples)
        XCTAssertEqual(result.warmUpNanoseconds, 360 * Self.second, "10% of an hour")
        XCTAssertEqual(result.judgedSamples, 54)
        XCTAssertEqual(result.series.map(\.name), ["server RSS", "server descriptors", "wsbench RSS", "wsbench descriptors"])
        XCTAssertEqual(result.failures, [])
    }

    func testASlowLeakFails() {
        // A steady leak: 23,300 bytes a minute on 40 MiB, 1.2 MiB (2.9%) across the 53 judged minutes.
        let perMinute = 23_300
        let samples = hour { minute in (40 << 20) + (minute - 7) * perMinute }
        let result = verdict(samples)
        let rss = result.series[0]
        let mean = Double(40 << 20) + 26.5 * Double(perMinute)  // minutes 7...60
        XCTAssertEqual(rss.drift, 53 * Double(perMinute) / mean, accuracy: 1e-9)
        XCTAssertFalse(rss.isFlat)
        XCTAssertEqual(result.failures, ["server RSS drifted 2.9% after the warm-up (limit ±2%)"])
    }

    func testAShrinkingSeriesFailsToo() {
        let samples = hour(rss: { _ in 40 << 20 }, descriptors: 0).enumerated().map { index, sample in
            var sample = sample
            sample.server?.openDescriptors = 10_000 - index * 10  // 5% fewer by the end
            return sample
        }
        XCTAssertEqual(verdict(samples).failures.count, 1)
        XCTAssert(verdict(samples).failures[0].hasPrefix("server descriptors drifted -"), verdict(samples).failures[0])
    }

    func testWhatTheWarmUpDoesIsNotJudged() {
        // Memory doubles in the first five minutes (history, buffers), then holds.
        let samples = hour { minute in minute <= 5 ? (20 << 20) * minute / 5 + (20 << 20) : 40 << 20 }
        XCTAssertEqual(verdict(samples).failures, [])
    }

    func testAnExplicitWarmUp() {
        let samples = hour { minute in minute <= 20 ? (20 << 20) + minute * (1 << 20) : 40 << 20 }
        XCTAssertEqual(verdict(samples).failures.count, 1, "memory still rising after the default 6 minutes")
        let later = SoakVerdict(samples: samples, soakNanoseconds: 3600 * Self.second, intervalNanoseconds: 60 * Self.second,
                                warmUpNanoseconds: 20 * 60 * Self.second)
        XCTAssertEqual(later.warmUpNanoseconds, 1200 * Self.second)
        XCTAssertEqual(later.judgedSamples, 40)
        XCTAssertEqual(later.failures, [])
    }

    func testTooFewSamplesCannotBeJudged() {
        let samples = Array(hour { _ in 40 << 20 }.prefix(8))  // minutes 1-8: two after the 6-minute warm-up
        let result = verdict(samples)
        XCTAssertEqual(result.judgedSamples, 2)
        XCTAssertEqual(result.failures.count, 1)
        XCTAssert(result.failures[0].contains("too few to judge drift"), result.failures[0])
    }

    func testWithoutServerPIDOnlyWsbenchIsJudged() {
        let samples = hour { _ in 40 << 20 }.map { sample in
            var sample = sample
            sample.server = nil
            return sample
        }
        XCTAssertEqual(verdict(samples).series.map(\.name), ["wsbench RSS", "wsbench descriptors"])
    }

    func testDriftIsTheFittedRiseOverTheMean() {
        XCTAssertEqual(SoakVerdict.drift(times: [0, 1, 2, 3], values: [100, 101, 102, 103]), 3 / 101.5, accuracy: 1e-12)
        XCTAssertEqual(SoakVerdict.drift(times: [0, 1, 2], values: [5, 5, 5]), 0)
        XCTAssertEqual(SoakVerdict.drift(times: [0, 1, 2], values: [0, 0, 0]), 0)
    }

    // MARK: - Options

    func testSoakOptions() throws {
        let url = "ws://127.0.0.1:8080/room/soak"
        let options = try XCTUnwrap(try BenchOptionsParser.parse(
            ["--scenario", "broadcast", "--soak", "1h", "--sample-interval", "30s", "--soak-csv", "s.csv", url], coreCount: 2))
        XCTAssertEqual(options.soakNanoseconds, 3600 * Self.second)
        XCTAssertEqual(options.durationNanoseconds, 3600 * Self.second, "the soak is the window")
        XCTAssertEqual(options.sampleIntervalNanoseconds, 30 * Self.second)
        XCTAssertEqual(options.soakCSVPath, "s.csv")
        XCTAssertEqual(try BenchOptionsParser.parse(["--soak", "10m", url])?.sampleIntervalNanoseconds, 60 * Self.second)

        for (arguments, fragment) in [
            (["--soak", "1h", "-d", "10s"], "cannot be combined with -d"),
            (["--scenario", "broadcast", "--soak", "1h", "--rates", "10,20"], "cannot be combined with --rates"),
            (["--scenario", "connect", "--soak", "1h"], "does not apply to --scenario connect"),
            (["--sample-interval", "5s"], "only applies to a soak"),
            (["--soak-csv", "x.csv"], "only applies to a soak"),
            (["--soak-warmup", "1m"], "only applies to a soak"),
            (["--soak", "1m", "--soak-warmup", "2m"], "shorter than the soak"),
            (["--soak", "0"], "positive duration"),
        ] {
            XCTAssertThrowsError(try BenchOptionsParser.parse(arguments + [url])) { error in
                let message = (error as? UsageError)?.message ?? ""
                XCTAssert(message.contains(fragment), "'\(message)' does not mention '\(fragment)'")
            }
        }
        XCTAssertEqual(try BenchOptionsParser.parse(["--soak", "90s", "--soak-warmup", "30s", url])?.soakWarmUpNanoseconds,
                       30 * Self.second)
        for word in ["--soak", "--sample-interval", "--soak-csv", "--soak-warmup"] {
            XCTAssert(BenchOptionsParser.usage.contains(word), "usage lacks \(word)")
        }
    }

    // MARK: - Reading a process

    func testProcessUsageCountsDescriptorsAndMemory() {
        let before = ProcessUsage.read()
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        let during = ProcessUsage.read(String(getpid()))
        close(ends[0])
        close(ends[1])
        XCTAssertEqual(during.openDescriptors, before.openDescriptors.map { $0 + 2 })
        XCTAssertGreaterThan(during.residentBytes ?? 0, 1 << 20)
        XCTAssertEqual(ProcessUsage.read("999999999"), ProcessUsage(residentBytes: nil, openDescriptors: nil))
    }

    // MARK: - A real soak

    /// Two seconds against an in-process room server (so `--server-pid` is this process), a sample every 250 ms.
    func testASoakSamplesJudgesAndReports() throws {
        let (group, port) = try MisbehavingRoomServer.start(fault: .none)
        defer { group.shutdown() }
        var template = Array("/tmp/wsbench-soak.XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        let csvPath = directory + "/soak.csv"
        let arguments = ["--scenario", "broadcast", "-c", "3", "-t", "1", "-r", "100", "--warmup", "0", "--timeout", "1s",
                         "--soak", "2500ms", "--sample-interval", "250ms", "--server-pid", String(getpid()),
                         "--soak-csv", csvPath, "ws://127.0.0.1:\(port)/room/test"]
        let options = try XCTUnwrap(try BenchOptionsParser.parse(arguments))
        let result = try BenchRun.run(options)
        let soak = try XCTUnwrap(result.soak)
        // The coordinator looks once a second, so a 250 ms interval gives a sample a second.
        XCTAssertGreaterThanOrEqual(soak.samples.count, 2)
        for sample in soak.samples {
            XCTAssertEqual(sample.openConnections, 3)
            XCTAssertGreaterThan(sample.received, 0)
            XCTAssertNotNil(sample.p99Nanoseconds)
            XCTAssertGreaterThanOrEqual(sample.client.openDescriptors ?? 0, 3, "three sockets at least")
            XCTAssertNotNil(sample.server?.residentBytes)
        }
        XCTAssertEqual(result.totals.lost, 0)
        XCTAssertEqual(soak.verdict.warmUpNanoseconds, 250_000_000)

        XCTAssertTrue(SoakReport.write(soak, to: csvPath))
        let csv = CommandLineTests.contents(of: csvPath)
        let lines = csv.split(separator: "\n")
        XCTAssertEqual(String(lines[0]), SoakReport.csvHeader)
        XCTAssertEqual(lines.count, soak.samples.count + 1)
        XCTAssertEqual(lines[1].split(separator: ",", omittingEmptySubsequences: false).count, 12)
        XCTAssert(JSONReport.render(result).contains("\"soak\": {"))
        XCTAssert(TextReport.render(result).contains("Soak          a sample every 250ms"))
        unlink(csvPath)
        rmdir(directory)
    }
}
