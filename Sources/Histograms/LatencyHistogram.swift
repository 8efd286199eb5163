/// A log-linear (HDR-style) histogram of durations in nanoseconds.
///
/// Every power of two is split into 128 equal sub-buckets, so a bucket is at
/// most 1/128 of its lower bound wide and its midpoint is within 1/256
/// (≈ 0.4%) of any value in it. Values below 256 ns get one bucket each.
/// Values above `highestTrackableValue` (≈ 68.7 s) land in the last bucket and
/// are counted in `clampedCount`; `min` and `max` are always exact.
///
/// Recording is O(1) and allocation-free: one leading-zero count, a shift and
/// an add into a flat array. Each thread keeps its own histogram; `merge`
/// folds them together at the end.
public struct LatencyHistogram: Sendable, Equatable {
    /// Sub-buckets per power of two is `1 << subBucketBits`.
    static let subBucketBits = 7
    /// 2^35 ns ≈ 34 s is the highest power of two below 60 s, so the top
    /// octave reaches 2^36 - 1 ns ≈ 68.7 s.
    static let highestExponent = 35
    public static let highestTrackableValue: UInt64 = (1 << (highestExponent + 1)) - 1
    /// Exponents 0...7 share the first 256 exact buckets, then 128 per octave.
    static let bucketCount = (highestExponent - subBucketBits + 2) << subBucketBits

    private var counts: [UInt64]
    public private(set) var count: UInt64 = 0
    /// How many recorded values were above `highestTrackableValue`.
    public private(set) var clampedCount: UInt64 = 0
    // 128 bits so that even 2^32 values of 2^36 ns cannot overflow the mean.
    private var sum: UInt128 = 0
    private var smallest: UInt64 = .max
    private var largest: UInt64 = 0

    public init() {
        counts = Array(repeating: 0, count: Self.bucketCount)
    }

    /// The smallest recorded value, or 0 when empty.
    public var min: UInt64 { count == 0 ? 0 : smallest }
    /// The largest recorded value, or 0 when empty.
    public var max: UInt64 { largest }
    /// The exact arithmetic mean, or 0 when empty.
    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }

    public mutating func record(_ nanoseconds: UInt64) {
        record(nanoseconds, count: 1)
    }

    public mutating func record(_ nanoseconds: UInt64, count occurrences: UInt64) {
        guard occurrences > 0 else { return }
        if nanoseconds > Self.highestTrackableValue { clampedCount += occurrences }
        counts[Self.bucketIndex(of: nanoseconds)] += occurrences
        count += occurrences
        sum += UInt128(nanoseconds) * UInt128(occurrences)
        if nanoseconds < smallest { smallest = nanoseconds }
        if nanoseconds > largest { largest = nanoseconds }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for index in 0..<Self.bucketCount { counts[index] += other.counts[index] }
        count += other.count
        clampedCount += other.clampedCount
        sum += other.sum
        smallest = Swift.min(smallest, other.smallest)
        largest = Swift.max(largest, other.largest)
    }

    /// The value at or below which `p` percent of the recorded values lie
    /// (nearest rank), reported as its bucket's midpoint and kept within
    /// `min...max`, so it is within 0.4% of the exact percentile.
    /// `p` is in 0...100; 0 gives `min`, 100 gives `max`; 0 when empty.
    public func percentile(_ p: Double) -> UInt64 {
        precondition((0...100).contains(p), "percentile \(p) is outside 0...100")
        guard count > 0 else { return 0 }
        if p == 0 { return min }
        if p == 100 { return max }
        let rank = Self.nearestRank(p, of: count)
        var seen: UInt64 = 0
        for index in 0..<Self.bucketCount {
            seen += counts[index]
            if seen >= rank { return clampedToRecorded(Self.representativeValue(ofBucket: index)) }
        }
        return max
    }

    /// How many recorded values exceed `threshold`, at bucket resolution:
    /// a bucket counts when its representative value exceeds `threshold`,
    /// the same judgement `percentile` makes. Exact beyond `min` and `max`.
    public func valuesAboveCount(_ threshold: UInt64) -> UInt64 {
        guard count > 0, threshold < max else { return 0 }
        if threshold < min { return count }
        let thresholdBucket = Self.bucketIndex(of: threshold)
        var above: UInt64 = 0
        if Self.representativeValue(ofBucket: thresholdBucket) > threshold {
            above += counts[thresholdBucket]
        }
        for index in (thresholdBucket + 1)..<Self.bucketCount { above += counts[index] }
        return above
    }

    public mutating func reset() {
        for index in 0..<Self.bucketCount { counts[index] = 0 }
        count = 0
        clampedCount = 0
        sum = 0
        smallest = .max
        largest = 0
    }

    // MARK: - Bucket arithmetic

    /// 1-based rank of the `p`th percentile among `total` sorted values.
    static func nearestRank(_ p: Double, of total: UInt64) -> UInt64 {
        let rank = (p / 100 * Double(total)).rounded(.up)
        return Swift.min(Swift.max(UInt64(rank), 1), total)
    }

    /// Octave `e` (the value's highest set bit, at least 7) keeps the 8 bits
    /// below and including that bit, giving 128...255; stacking octaves at
    /// 128 buckets each makes values under 256 map to themselves.
    @inline(__always)
    static func bucketIndex(of nanoseconds: UInt64) -> Int {
        let value = Swift.min(nanoseconds, highestTrackableValue)
        let exponent = 63 - (value | (1 << subBucketBits)).leadingZeroBitCount
        let shift = exponent - subBucketBits
        return (shift << subBucketBits) + Int(truncatingIfNeeded: value >> UInt64(shift))
    }

    /// The lowest value that maps to bucket `index`, and the bucket's width.
    static func bounds(ofBucket index: Int) -> (lowest: UInt64, width: UInt64) {
        let octave = index >> subBucketBits
        if octave == 0 { return (UInt64(index), 1) }
        let shift = UInt64(octave - 1)
        let subBucket = UInt64(index & ((1 << subBucketBits) - 1)) | (1 << UInt64(subBucketBits))
        return (subBucket << shift, 1 << shift)
    }

    /// The middle of the integer values in bucket `index`.
    static func representativeValue(ofBucket index: Int) -> UInt64 {
        let (lowest, width) = bounds(ofBucket: index)
        return lowest + (width - 1) / 2
    }

    private func clampedToRecorded(_ value: UInt64) -> UInt64 {
        Swift.min(Swift.max(value, smallest), largest)
    }
}
