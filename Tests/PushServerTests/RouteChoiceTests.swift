import PushServer
import TestSupport
import XCTest

final class RouteChoiceTests: XCTestCase {
    func testTheMostSpecificRouteWinsWhateverTheOrderTheyWereAdded() throws {
        let (server, port) = try makeServer(routes: { server in
            server.webSocket("/*") { $0.message = { socket, _ in socket.send(text: "catch-all") } }
            server.webSocket("/events/*") { $0.message = { socket, _ in socket.send(text: "prefix") } }
            server.webSocket("/events/ws") { $0.message = { socket, _ in socket.send(text: "exact") } }
            server.get("/*") { _ in HTTPReply(contentType: "text/plain", body: "any") }
            server.get("/events/client.js") { _ in HTTPReply(contentType: "text/plain", body: "script") }
        })
        defer { server.shutdown() }
        for (path, expected) in [("/events/ws", "exact"), ("/events/other", "prefix"), ("/elsewhere", "catch-all")] {
            let client = try TestClient(port: port, path: path)
            client.sendFrame(.text, Array("?".utf8))
            XCTAssertEqual(client.receiveFrame(), .text(expected), path)
        }
        let http = try TestClient(port: port)
        http.send("GET /events/client.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(http.receiveAll().hasSuffix("script"))
    }
}

final class PathPatternTests: XCTestCase {
    func testExactAndPrefixPatterns() {
        let exact: PathPattern = "/chat"
        XCTAssertTrue(exact.matches("/chat"))
        XCTAssertFalse(exact.matches("/chat/"))
        XCTAssertFalse(exact.matches("/cha"))
        XCTAssertEqual(exact.rest(of: "/chat"), "")

        let prefix: PathPattern = "/room/*"
        XCTAssertTrue(prefix.matches("/room/lobby"))
        XCTAssertTrue(prefix.matches("/room/"))
        XCTAssertFalse(prefix.matches("/room"))
        XCTAssertFalse(prefix.matches("/rooms/lobby"))
        XCTAssertEqual(prefix.rest(of: "/room/lobby"), "lobby")
        XCTAssertEqual(prefix.rest(of: "/elsewhere"), "")

        let everything: PathPattern = "/*"
        XCTAssertTrue(everything.matches("/"))
        XCTAssertEqual(everything.rest(of: "/a/b"), "a/b")
    }

    /// HTTP compares paths as bytes: two spellings String holds equal (é, and e + U+0301) are two paths.
    func testPathsAreComparedByteForByte() {
        let precomposed = PathPattern("/caf\u{E9}")
        XCTAssertTrue(precomposed.matches("/caf\u{E9}"))
        XCTAssertFalse(precomposed.matches("/cafe\u{301}"))
        let prefix = PathPattern("/caf\u{E9}/*")
        XCTAssertFalse(prefix.matches("/cafe\u{301}/menu"))
        XCTAssertEqual(prefix.rest(of: "/caf\u{E9}/menu"), "menu")
    }
}
