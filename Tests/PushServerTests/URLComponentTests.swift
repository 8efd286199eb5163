import PushServer
import XCTest

final class URLComponentTests: XCTestCase {
    func testPercentDecoding() {
        XCTAssertEqual(URLComponent.decoded("a%20b"), "a b")
        XCTAssertEqual(URLComponent.decoded("%E2%98%83"), "☃")
        XCTAssertEqual(URLComponent.decoded("%e2%98%83"), "☃", "lowercase hex")
        XCTAssertEqual(URLComponent.decoded("plain"), "plain")
        XCTAssertNil(URLComponent.decoded("%+f"), "a sign is not a hex digit")
        XCTAssertNil(URLComponent.decoded("%-1"))
        XCTAssertNil(URLComponent.decoded("%zz"))
        XCTAssertNil(URLComponent.decoded("100%"), "an escape cut short")
        XCTAssertNil(URLComponent.decoded("%ff"), "not UTF-8")
    }

    func testRoomNames() {
        XCTAssertEqual(URLComponent.roomName("lobby"), "lobby")
        XCTAssertEqual(URLComponent.roomName("a%20b"), "a b", "decoded for every route alike")
        XCTAssertNil(URLComponent.roomName(""))
        XCTAssertNil(URLComponent.roomName("a%2Fb"), "no slash, encoded or not")
        XCTAssertNil(URLComponent.roomName("a/b"))
        XCTAssertNil(URLComponent.roomName("%"))
    }
}
