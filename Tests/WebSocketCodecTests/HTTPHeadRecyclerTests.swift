@testable import WebSocketCodec
import XCTest

final class HTTPHeadRecyclerTests: XCTestCase {
    private func request(path: String, key: String, padding: Int = 0) -> String {
        "GET \(path) HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
            + (padding > 0 ? "Cookie: \(String(repeating: "c", count: padding))\r\n" : "") + "\r\n"
    }

    private func parse(_ text: String, with recycler: HTTPHeadRecycler,
                       file: StaticString = #filePath, line: UInt = #line) throws -> HTTPRequestHead {
        var parser = HTTPHeadParser()
        guard case .complete(let head, _) = Array(text.utf8).withUnsafeBytes({ parser.parse($0, reusing: recycler) }) else {
            XCTFail("not a complete head", file: file, line: line)
            throw CancellationError()
        }
        return head
    }

    func testStorageNothingHoldsIsUsedForTheNextHead() throws {
        let recycler = HTTPHeadRecycler()
        let first = try parse(request(path: "/first", key: "dGhlIHNhbXBsZSBub25jZQ=="), with: recycler)
        XCTAssertEqual(first.path, "/first")
        recycler.recycle(consume first)
        XCTAssertEqual(recycler.keptCount, 1)

        let second = try parse(request(path: "/second/longer?query=1", key: "AQIDBAUGBwgJCgsMDQ4PEA=="), with: recycler)
        XCTAssertEqual(recycler.keptCount, 0, "the kept storage holds the second head")
        XCTAssertEqual(second.path, "/second/longer")
        XCTAssertEqual(second.query, "query=1")
        XCTAssertEqual(second.header("Sec-WebSocket-Key"), "AQIDBAUGBwgJCgsMDQ4PEA==")
        XCTAssertEqual(second.header("host"), "example.com")
        XCTAssertNil(second.header("Cookie"))
        XCTAssertEqual(second.headers.count, 5)
    }

    func testAHeadSomeoneKeptKeepsItsStorage() throws {
        let recycler = HTTPHeadRecycler()
        let head = try parse(request(path: "/kept", key: "dGhlIHNhbXBsZSBub25jZQ=="), with: recycler)
        let keptByTheRoute = head  // as a route's open callback may store its request
        recycler.recycle(consume head)
        XCTAssertEqual(recycler.keptCount, 0)

        let next = try parse(request(path: "/next", key: "AQIDBAUGBwgJCgsMDQ4PEA=="), with: recycler)
        XCTAssertEqual(next.path, "/next")
        XCTAssertEqual(keptByTheRoute.path, "/kept", "the kept head was not written over")
        XCTAssertEqual(keptByTheRoute.header("Sec-WebSocket-Key"), "dGhlIHNhbXBsZSBub25jZQ==")
    }

    func testAHeadLargerThanKeptStorageGetsItsOwnAndIsNotKept() throws {
        let recycler = HTTPHeadRecycler()
        recycler.recycle(try parse(request(path: "/small", key: "dGhlIHNhbXBsZSBub25jZQ=="), with: recycler))
        XCTAssertEqual(recycler.keptCount, 1)

        // Over 2 KiB: the kept storage is too small for it, and its own is too large to keep.
        let large = try parse(request(path: "/large", key: "AQIDBAUGBwgJCgsMDQ4PEA==", padding: 3000), with: recycler)
        XCTAssertEqual(recycler.keptCount, 1, "the small storage is still kept")
        XCTAssertEqual(large.path, "/large")
        XCTAssertEqual(large.header("Cookie")?.utf8.count, 3000)
        recycler.recycle(consume large)
        XCTAssertEqual(recycler.keptCount, 1)
    }

    func testAtMostFourAreKept() throws {
        let recycler = HTTPHeadRecycler()
        var heads = try (0..<6).map { try parse(request(path: "/\($0)", key: "dGhlIHNhbXBsZSBub25jZQ=="), with: recycler) }
        while let head = heads.popLast() { recycler.recycle(consume head) }
        XCTAssertEqual(recycler.keptCount, 4)
    }
}
