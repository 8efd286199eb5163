/// Per (receiver, sender): which sequence number comes next, and which of the
/// 64 before it are still missing, so a late message is told from a repeat.
///
/// A gap is counted as loss when it opens; a missing message that turns up
/// later takes its loss back and counts as reordered. One that turns up more
/// than 64 behind is reordered without taking its loss back. 16 bytes, O(1).
struct SequenceTracker: Sendable, Equatable {
    /// The next sequence number in order.
    var expected: UInt64 = 0
    /// Bit i set: sequence `expected - 1 - i` has not arrived.
    var missing: UInt64 = 0

    enum Verdict: Equatable {
        /// The next one, as expected.
        case inOrder
        /// Ahead of `expected`: this many before it are missing (so far).
        case gap(UInt64)
        /// One that was missing arrived late: it is no longer lost.
        case late
        /// Lower than expected, too old to know whether it arrived before.
        case lateBeyondWindow
        /// It arrived before.
        case duplicate
    }

    @inline(__always)
    mutating func observe(_ sequence: UInt64) -> Verdict {
        if sequence == expected {
            expected &+= 1
            missing &<<= 1
            return .inOrder
        }
        if sequence > expected {
            let gap = sequence - expected
            // The gap's sequences sit at bits 1...gap once `expected` moves past `sequence`.
            let gapBits: UInt64 = gap >= 63 ? ~UInt64(1) : ((1 << gap) - 1) << 1
            missing = (gap >= 63 ? 0 : missing << (gap + 1)) | gapBits
            expected = sequence &+ 1
            return .gap(gap)
        }
        let distance = expected - 1 - sequence
        guard distance < 64 else { return .lateBeyondWindow }
        let bit: UInt64 = 1 << distance
        if missing & bit != 0 {
            missing &= ~bit
            return .late
        }
        return .duplicate
    }

    /// Messages `expected..<published` never arrived: counts them and moves on.
    mutating func closeOut(published: UInt64) -> UInt64 {
        guard published > expected else { return 0 }
        let lost = published - expected
        expected = published
        missing = 0
        return lost
    }
}
