import PushServer
import TestSupport
import XCTest

/// Cross-site WebSocket hijacking: with an allow-list, a page on another
/// origin cannot open a WebSocket (which would carry its visitor's cookies).
final class OriginTests: XCTestCase {
    /// The status line and body of the answer to an upgrade from a page of `origin`.
    private func upgrade(port: Int, origin: String?) throws -> String {
        let client = try HTTPTestClient(port: port)
        var headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                       ("Sec-WebSocket-Version", "13"), ("Cookie", "session=victim")]
        if let origin { headers.append(("Origin", origin)) }
        client.send("GET", "/echo", headers: headers)
        guard let head = client.readHead() else { return "" }
        guard head.status != 101 else { return "HTTP/1.1 101 " }
        let response = client.readResponse(afterHead: head)
        return "HTTP/1.1 \(head.status) " + (response?.text ?? "")
    }

    func testOnlyListedOriginsMayOpenWebSockets() throws {
        let (server, port) = try makeServer { $0.allowedOrigins = ["https://chat.example", "http://localhost:8080"] }
        defer { server.shutdown() }
        XCTAssertTrue(try upgrade(port: port, origin: "https://chat.example").hasPrefix("HTTP/1.1 101 "))
        XCTAssertTrue(try upgrade(port: port, origin: "http://localhost:8080").hasPrefix("HTTP/1.1 101 "))
        let refused = try upgrade(port: port, origin: "https://evil.example")
        XCTAssertTrue(refused.hasPrefix("HTTP/1.1 403 "), refused)
        XCTAssertTrue(refused.contains("origin https://evil.example may not open WebSockets here"))
        XCTAssertTrue(try upgrade(port: port, origin: nil).hasPrefix("HTTP/1.1 101 "), "not a browser: no visitor's cookies to steal")
    }

    func testWithoutAListAnyOriginMay() throws {
        let (server, port) = try makeServer()
        defer { server.shutdown() }
        XCTAssertTrue(try upgrade(port: port, origin: "https://anywhere.example").hasPrefix("HTTP/1.1 101 "))
    }
}
