import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import Histograms

final class LatencyHistogramTests: XCTestCase {
    static let percentiles: [Double] = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100]
    static let microsecond: UInt64 = 1_000
    static let second: UInt64 = 1_000_000_000

    // MARK: - Known distributions against the exact answer

    func testUniformFromOneMicrosecondToOneSecond() {
        var random = SplitMix64(seed: 1)
        let values = (0..<200_000).map { _ in random.next(in: Self.microsecond...Self.second) }
        assertMatchesExactPercentiles(values)
    }

    func testExponential() {
        var random = SplitMix64(seed: 2)
        let meanNanoseconds = 250.0 * Double(Self.microsecond)
        let values = (0..<200_000).map { _ in
            UInt64(-meanNanoseconds * log(1 - random.nextUnitInterval())) + Self.microsecond
        }
        assertMatchesExactPercentiles(values)
    }

    func testLogNormal() {
        var random = SplitMix64(seed: 3)
        // Median 2 ms, wide enough to span microseconds to seconds.
        let mu = log(2_000_000.0), sigma = 1.5
        let values = (0..<200_000).map { _ in
            let nanoseconds = exp(mu + sigma * random.nextStandardNormal())
            return UInt64(nanoseconds.clamped(to: 1_000...60e9))
        }
        assertMatchesExactPercentiles(values)
    }

    func testConstantIsReportedExactly() {
        var histogram = LatencyHistogram()
        histogram.record(123_457, count: 1_000)
        for p in Self.percentiles { XCTAssertEqual(histogram.percentile(p), 123_457, "p\(p)") }
        XCTAssertEqual(histogram.min, 123_457)
        XCTAssertEqual(histogram.max, 123_457)
        XCTAssertEqual(histogram.mean, 123_457)
        XCTAssertEqual(histogram.count, 1_000)
    }

    func testTwoPointDistribution() {
        var values = [UInt64](repeating: 5 * Self.microsecond, count: 900)
        values += [UInt64](repeating: 3 * Self.second + 7, count: 100)
        assertMatchesExactPercentiles(values)
        var histogram = LatencyHistogram()
        for value in values { histogram.record(value) }
        assertWithinOnePercent(histogram.percentile(90), of: 5 * Self.microsecond)
        assertWithinOnePercent(histogram.percentile(90.1), of: 3 * Self.second + 7)
        XCTAssertEqual(histogram.valuesAboveCount(Self.second), 100)
        XCTAssertEqual(histogram.valuesAboveCount(4 * Self.microsecond), 1_000)
    }

    func testEdgesOfTheTrackedRange() {
        let sixtySeconds = 60 * Self.second
        var histogram = LatencyHistogram()
        histogram.record(Self.microsecond)
        histogram.record(sixtySeconds)
        XCTAssertEqual(histogram.percentile(0), Self.microsecond)
        assertWithinOnePercent(histogram.percentile(50), of: Self.microsecond)
        assertWithinOnePercent(histogram.percentile(99), of: sixtySeconds)
        XCTAssertEqual(histogram.percentile(100), sixtySeconds)
        XCTAssertEqual(histogram.clampedCount, 0)
        for value in [Self.microsecond, Self.microsecond + 1, sixtySeconds - 1, sixtySeconds] {
            assertWithinOnePercent(LatencyHistogram.representativeValue(
                ofBucket: LatencyHistogram.bucketIndex(of: value)), of: value)
        }
    }

    func testEveryValueMapsToABucketWhoseMidpointIsWithinOnePercent() {
        // Walk the range at a prime stride plus every bucket boundary.
        var value = Self.microsecond
        while value <= 60 * Self.second {
            let index = LatencyHistogram.bucketIndex(of: value)
            let (lowest, width) = LatencyHistogram.bounds(ofBucket: index)
            XCTAssert(lowest <= value && value < lowest + width, "\(value) outside bucket \(index)")
            assertWithinOnePercent(LatencyHistogram.representativeValue(ofBucket: index), of: value)
            value += value / 97 + 1
        }
        for index in 1..<LatencyHistogram.bucketCount {
            let (lowest, _) = LatencyHistogram.bounds(ofBucket: index)
            let (previousLowest, previousWidth) = LatencyHistogram.bounds(ofBucket: index - 1)
            XCTAssertEqual(previousLowest + previousWidth, lowest, "gap before bucket \(index)")
            XCTAssertEqual(LatencyHistogram.bucketIndex(of: lowest), index)
            XCTAssertEqual(LatencyHistogram.bucketIndex(of: lowest - 1), index - 1)
        }
        XCTAssertEqual(LatencyHistogram.bucketIndex(of: LatencyHistogram.highestTrackableValue),
                       LatencyHistogram.bucketCount - 1)
    }

    func testValuesOutsideTheRangeAreClampedAndCounted() {
        var histogram = LatencyHistogram()
        histogram.record(0)
        histogram.record(999)
        histogram.record(100 * Self.second, count: 2)
        histogram.record(.max)
        XCTAssertEqual(histogram.count, 5)
        XCTAssertEqual(histogram.clampedCount, 3)
        XCTAssertEqual(histogram.min, 0)
        XCTAssertEqual(histogram.max, .max)
        XCTAssertEqual(histogram.percentile(0), 0)
        assertWithinOnePercent(histogram.percentile(40), of: 999)
        // Above the range a percentile can only say "the top bucket".
        let topBucket = LatencyHistogram.representativeValue(ofBucket: LatencyHistogram.bucketCount - 1)
        XCTAssertEqual(histogram.percentile(60), topBucket)
        XCTAssertEqual(histogram.percentile(80), topBucket)
        XCTAssertEqual(histogram.percentile(100), .max)
        XCTAssertEqual(histogram.mean, (999 + 200e9 + Double(UInt64.max)) / 5, accuracy: 1e6)
    }

    // MARK: - Merge, mean, counts, reset

    func testMergeEqualsRecordingEverythingInOne() {
        var random = SplitMix64(seed: 4)
        var together = LatencyHistogram()
        var perThread = [LatencyHistogram](repeating: LatencyHistogram(), count: 4)
        for i in 0..<40_000 {
            let value = random.next(in: 0...(70 * Self.second))
            together.record(value)
            perThread[i % 4].record(value)
        }
        var merged = LatencyHistogram()
        for histogram in perThread { merged.merge(histogram) }
        XCTAssertEqual(merged, together)
        XCTAssertEqual(merged.count, 40_000)
        XCTAssertEqual(merged.percentile(99), together.percentile(99))

        var mergedWithEmpty = together
        mergedWithEmpty.merge(LatencyHistogram())
        XCTAssertEqual(mergedWithEmpty, together)
    }

    func testMeanIsExact() {
        var histogram = LatencyHistogram()
        histogram.record(1_000)
        histogram.record(2_000, count: 3)
        XCTAssertEqual(histogram.mean, 7_000.0 / 4)
    }

    func testEmpty() {
        let histogram = LatencyHistogram()
        XCTAssertEqual(histogram.count, 0)
        XCTAssertEqual(histogram.min, 0)
        XCTAssertEqual(histogram.max, 0)
        XCTAssertEqual(histogram.mean, 0)
        XCTAssertEqual(histogram.percentile(50), 0)
        XCTAssertEqual(histogram.valuesAboveCount(0), 0)
    }

    func testRecordingZeroOccurrencesChangesNothing() {
        var histogram = LatencyHistogram()
        histogram.record(5_000, count: 0)
        XCTAssertEqual(histogram, LatencyHistogram())
    }

    func testValuesAboveCountAgainstExactCountsWithinBucketResolution() {
        var random = SplitMix64(seed: 5)
        let values = (0..<50_000).map { _ in random.next(in: Self.microsecond...(10 * Self.second)) }
        var histogram = LatencyHistogram()
        for value in values { histogram.record(value) }
        for threshold: UInt64 in [0, 1_000, 50_000, 1_000_000, 250_000_000, 9_999_999_999, 10 * Self.second] {
            // The answer lies between the exact counts above threshold ± 0.4%.
            let slack = Double(threshold) / 256 + 1
            let atLeast = UInt64(values.count(where: { Double($0) > Double(threshold) + slack }))
            let atMost = UInt64(values.count(where: { Double($0) > Double(threshold) - slack }))
            let answer = histogram.valuesAboveCount(threshold)
            XCTAssert((atLeast...atMost).contains(answer), "threshold \(threshold): \(answer) not in \(atLeast)...\(atMost)")
        }
        XCTAssertEqual(histogram.valuesAboveCount(histogram.max), 0)
        XCTAssertEqual(histogram.valuesAboveCount(histogram.min - 1), 50_000)
    }

    func testResetEmptiesTheHistogram() {
        var histogram = LatencyHistogram()
        histogram.record(5_000)
        histogram.record(.max)
        histogram.reset()
        XCTAssertEqual(histogram, LatencyHistogram())
        histogram.record(7_000)
        XCTAssertEqual(histogram.percentile(50), 7_000)
    }

    // MARK: - Helpers

    private func assertMatchesExactPercentiles(_ values: [UInt64], file: StaticString = #filePath, line: UInt = #line) {
        var histogram = LatencyHistogram()
        for value in values { histogram.record(value) }
        let sorted = values.sorted()
        XCTAssertEqual(histogram.count, UInt64(values.count), file: file, line: line)
        XCTAssertEqual(histogram.min, sorted.first, file: file, line: line)
        XCTAssertEqual(histogram.max, sorted.last, file: file, line: line)
        let exactMean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        XCTAssertEqual(histogram.mean, exactMean, accuracy: exactMean * 1e-9, file: file, line: line)
        for p in Self.percentiles {
            let rank = Int(LatencyHistogram.nearestRank(p, of: UInt64(sorted.count)))
            let exact = sorted[rank - 1]
            assertWithinOnePercent(histogram.percentile(p), of: exact, "p\(p)", file: file, line: line)
        }
    }

    private func assertWithinOnePercent(_ reported: UInt64, of exact: UInt64, _ label: String = "",
                                        file: StaticString = #filePath, line: UInt = #line) {
        let error = abs(Double(reported) - Double(exact)) / Double(exact)
        XCTAssertLessThanOrEqual(error, 0.01, "\(label) reported \(reported), exact \(exact)", file: file, line: line)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast and the same on every run.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (modulo bias is negligible for these spans).
    mutating func next(in range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + next() % (range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [0, 1) from the top 53 bits.
    mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Box–Muller.
    mutating func nextStandardNormal() -> Double {
        let u1 = 1 - nextUnitInterval(), u2 = nextUnitInterval()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

extension Double {
    fileprivate func clamped(to range: ClosedRange<Double>) -> Double {
        Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
    }
}
