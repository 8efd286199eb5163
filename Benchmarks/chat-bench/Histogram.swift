/// Latencies in microseconds, to about 3%: values below 64 exactly, then 32
/// buckets per power of two. Recording is an index computation and an add.
struct Histogram {
    private var counts = [Int](repeating: 0, count: 64 * 32)
    private(set) var total = 0
    private(set) var largest: UInt64 = 0

    mutating func record(_ microseconds: UInt64) {
        counts[Self.bucket(microseconds)] += 1
        total += 1
        largest = max(largest, microseconds)
    }

    mutating func add(_ other: Histogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        total += other.total
        largest = max(largest, other.largest)
    }

    /// The value at `quantile` (0–1): the upper end of its bucket; 0 when empty.
    func value(at quantile: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = max(1, Int((quantile * Double(total)).rounded(.up)))
        var seen = 0
        for (index, count) in counts.enumerated() where count > 0 {
            seen += count
            if seen >= rank { return min(Self.upperBound(index), largest) }
        }
        return largest
    }

    private static func bucket(_ value: UInt64) -> Int {
        guard value >= 64 else { return Int(value) }
        let magnitude = 64 - value.leadingZeroBitCount  // 7 and up
        return (magnitude - 5) * 32 + Int((value >> UInt64(magnitude - 6)) & 31)
    }

    private static func upperBound(_ index: Int) -> UInt64 {
        guard index >= 64 else { return UInt64(index) }
        let magnitude = index / 32 + 5
        let sub = UInt64(index % 32)
        return ((32 + sub + 1) << UInt64(magnitude - 6)) - 1
    }
}
