@testable import PushServer
import XCTest

/// `LentList`: lends each element by index, and keeps every element alive for as long as it lives.
final class LentListTests: XCTestCase {
    private final class Named {
        let name: String
        init(_ name: String) { self.name = name }
    }

    func testLendsTheElementAtEachIndex() {
        let list = LentList([Named("a"), Named("b"), Named("c")])
        XCTAssertEqual(list.count, 3)
        XCTAssertEqual((0..<3).map { index in list.with(index) { $0.name } }, ["a", "b", "c"])
        XCTAssertEqual(LentList<Named>([]).count, 0)
    }

    func testKeepsItsElementsAliveAndLetsThemGoWithIt() {
        weak var first: Named?
        weak var second: Named?
        var list: LentList<Named>? = {
            let elements = [Named("a"), Named("b")]
            first = elements[0]
            second = elements[1]
            return LentList(elements)
        }()
        XCTAssertNotNil(first, "held by the list alone")
        XCTAssertEqual(list?.with(1) { $0.name }, "b")
        XCTAssertTrue(list?.with(1) { $0 === second } ?? false)
        list = nil
        XCTAssertNil(first, "released with the list")
        XCTAssertNil(second)
    }
}
