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
