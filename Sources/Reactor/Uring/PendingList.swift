// What a ring transport collects during a pass and walks at its end.

/// A list of plain values that grows and is emptied, never shrunk: appending
/// to it costs no uniqueness check (an Array held by a class checks on every
/// append; callgrind counted ~30 instructions per echo for the three lists
/// of `RingTCP`). Owns its memory.
struct PendingList<Element: BitwiseCopyable>: ~Copyable {
    private var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 256) {
        base = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit { base.deallocate() }

    @inline(__always)
    mutating func append(_ element: Element) {
        if _slowPath(count == capacity) { grow() }
        base[count] = element
        count += 1
    }

    /// Calls `body` with each element, in the order appended.
    @inline(__always)
    func forEach(_ body: (Element) -> Void) {
        for index in 0..<count { body(base[index]) }
    }

    mutating func removeAll() { count = 0 }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        larger.initialize(from: base, count: count)
        base.deallocate()
        base = larger
        capacity *= 2
    }
}
