/// The ticker scenario's check of keys, for one loop's receivers: the newest
/// value of every key each one holds and, once publishing has stopped and
/// the last value of every key is known (`settle`), how many keys each one
/// does not hold that last value of yet. Rows are receivers (the loop's
/// tracker rows), columns keys; 4 bytes a cell, nothing allocated per update.
///
/// A receiver must never get an older value of a key after a newer one
/// (`observe` says `.older`), and must end holding the last value of every
/// key (`behind` back to 0), fast or slow, conflated or not. A publisher's
/// row leaves out its own keys: with `self=0` it never hears them.
final class KeyLedger {
    let keyCount: Int
    let publisherCount: Int
    /// Receiver rows so far; rows only grow.
    private(set) var rowCount = 0
    // Touched on every update, on one loop only: no run-time exclusivity checks.
    @exclusivity(unchecked) private var values: UnsafeMutablePointer<UInt32>
    @exclusivity(unchecked) private var rowCapacity = 0
    /// The last published value of every key (0: never published), while settled.
    @exclusivity(unchecked) private(set) var finals: [UInt32] = []
    /// Per row: keys whose last value it lacks (meaningful while settled).
    @exclusivity(unchecked) private var behindByRow: [Int32] = []
    /// The sum of `behindByRow` over rows still counted.
    @exclusivity(unchecked) private(set) var behind = 0
    /// Per row: the publisher whose keys it never gets (its own), or -1.
    private var ownPublisher: [Int32] = []
    /// Rows whose receiver has gone: no longer counted.
    private var retired: [Bool] = []

    enum Verdict: Equatable {
        /// Newer than what the row held: it holds this value now.
        case newer
        /// The value it already held (the same update again).
        case repeated
        /// Older than a value it already got: the check fails.
        case older
    }

    init(keyCount: Int, publisherCount: Int) {
        precondition(keyCount > 0 && publisherCount > 0)
        self.keyCount = keyCount
        self.publisherCount = publisherCount
        values = .allocate(capacity: 0)
    }

    deinit {
        values.deallocate()
    }

    var isSettled: Bool { !finals.isEmpty }

    /// The publisher that owns key `key`: its values rise in the room's order.
    static func owner(ofKey key: Int, publishers: Int) -> Int { key % publishers }

    /// A row for a new receiver, holding no value of any key; `ownPublisher`
    /// is its publisher number when it publishes too.
    func addRow(ownPublisher: Int? = nil) -> Int {
        let row = rowCount
        if row == rowCapacity {
            let capacity = max(64, rowCapacity * 2)
            let larger = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity * keyCount)
            larger.moveInitialize(from: values, count: rowCount * keyCount)
            values.deallocate()
            values = larger
            rowCapacity = capacity
        }
        (values + row * keyCount).initialize(repeating: 0, count: keyCount)
        rowCount += 1
        self.ownPublisher.append(Int32(ownPublisher ?? -1))
        retired.append(false)
        behindByRow.append(0)
        if isSettled { count(row) }
        return row
    }

    /// An update of `key` to `value` reached receiver `row`.
    @inline(__always)
    func observe(row: Int, key: Int, value: UInt32) -> Verdict {
        let cell = values + (row &* keyCount &+ key)
        let held = cell.pointee
        guard value > held else { return value == held ? .repeated : .older }
        cell.pointee = value
        if _slowPath(isSettled) {
            let last = finals[key]
            if held < last && value >= last && !retired[row] {
                behindByRow[row] &-= 1
                behind &-= 1
            }
        }
        return .newer
    }

    /// The value of `key` receiver `row` holds (0: none yet).
    func value(row: Int, key: Int) -> UInt32 {
        values[row * keyCount + key]
    }

    /// Publishing stopped and `finals` are the last values published of each
    /// key: counts, for every receiver, the keys it does not hold them of.
    func settle(finals: [UInt32]) {
        precondition(finals.count == keyCount)
        self.finals = finals
        behind = 0
        for row in 0..<rowCount { count(row) }
    }

    /// Publishing goes on (a new window): nothing is counted until the next `settle`.
    func unsettle() {
        finals = []
        behind = 0
        for row in 0..<rowCount { behindByRow[row] = 0 }
    }

    /// The receiver of `row` has gone: its keys no longer count.
    func retire(row: Int) {
        guard row < rowCount, !retired[row] else { return }
        retired[row] = true
        behind -= Int(behindByRow[row])
        behindByRow[row] = 0
    }

    /// Keys receiver `row` does not hold the last value of (0 before `settle`, or once retired).
    func behind(row: Int) -> Int { Int(behindByRow[row]) }

    private func count(_ row: Int) {
        guard !retired[row] else { return }
        let own = Int(ownPublisher[row])
        let cells = values + row * keyCount
        var lacking: Int32 = 0
        for key in 0..<keyCount where finals[key] > cells[key] {
            if own >= 0 && Self.owner(ofKey: key, publishers: publisherCount) == own { continue }
            lacking += 1
        }
        behindByRow[row] = lacking
        behind += Int(lacking)
    }
}
