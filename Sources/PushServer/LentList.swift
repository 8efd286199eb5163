/// A fixed list of objects that a loop reads by index on every message (a
/// connection's transport, its WebSocket route), lent to each use. An element
/// copied out of an array is retained and released around every call made
/// through it; a lent one is not (the loop lends its sources' handlers the
/// same way). The list keeps its elements alive, so it must outlive every
/// `with` call: its owner (a loop's `ServerHandler`) does.
final class LentList<Element: AnyObject> {
    private let owned: [Element]
    private let lent: [Unmanaged<Element>]

    init(_ elements: [Element]) {
        owned = elements
        lent = elements.map(Unmanaged.passUnretained)
    }

    var count: Int { owned.count }

    @inline(__always)
    func with<Result>(_ index: Int, _ body: (Element) -> Result) -> Result {
        lent[index]._withUnsafeGuaranteedRef(body)
    }
}
