import PushServer
import Synchronization
import WebSocketCodec
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

final class KeptUpgradeRequestTests: XCTestCase {
    /// A loop parses each upgrade into storage it takes back once the upgrade is answered: a
    /// request the application kept keeps its own, whatever upgrades come after it.
    func testARequestTheRouteKeptIsNotWrittenOverByLaterUpgrades() throws {
        let kept = Mutex<[UpgradeRequest]>([])
        let (server, port) = try makeServer({ $0.threads = 1 }, routes: { server in
            server.webSocket("/keep/*") { behavior in
                behavior.open = { _, request in kept.withLock { $0.append(request) } }
            }
            server.webSocket("/pass/*") { $0.message = { socket, _ in socket.send(text: "passed") } }
        })
        defer { server.shutdown() }
        let keeping = try TestClient(port: port, path: "/keep/first?n=1")
        for n in 0..<20 {  // each parsed into the storage the one before gave back
            let passing = try TestClient(port: port, path: "/pass/\(n)/" + String(repeating: "x", count: n * 10))
            passing.sendFrame(.text, Array("?".utf8))
            XCTAssertEqual(passing.receiveFrame(), .text("passed"))
        }
        let requests = kept.withLock { $0 }
        XCTAssertEqual(requests.count, 1)
        XCTAssertEqual(requests.first?.path, "/keep/first")
        XCTAssertEqual(requests.first?.query, "n=1")
        XCTAssertEqual(requests.first?.head.header("Host"), "127.0.0.1:\(port)")
        XCTAssertEqual(requests.first?.key.utf8.count, 24)
        _ = keeping
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
