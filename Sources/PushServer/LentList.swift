/// A fixed list of objects that a loop reads by index on every message (a
/// connection's transport, its WebSocket route), lent to each use. An element
/// copied out of an array, or out of memory behind a pointer, is retained and
/// released around every call made through it; a lent one is not. The list
/// keeps its elements alive, so it must outlive every `with` call: its owner
/// (a loop's `ServerHandler`) does.
final class LentList<Element: AnyObject> {
    private let owned: [Element]
    private let lent: UnsafeMutablePointer<Unmanaged<Element>>

    init(_ elements: [Element]) {
        owned = elements
        lent = .allocate(capacity: max(elements.count, 1))
        for (index, element) in elements.enumerated() { (lent + index).initialize(to: .passUnretained(element)) }
    }

    deinit {
        lent.deallocate()  // (Unmanaged is trivial: nothing to deinitialize)
    }

    var count: Int { owned.count }

    @inline(__always)
    func with<Result>(_ index: Int, _ body: (Element) -> Result) -> Result {
        lent[index]._withUnsafeGuaranteedRef(body)
    }
}
