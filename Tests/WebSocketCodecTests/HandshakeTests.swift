import WebSocketCodec
import XCTest

final class HandshakeTests: XCTestCase {
    private func head(_ text: String) throws -> HTTPRequestHead {
        var parser = HTTPHeadParser()
        guard case .complete(let head, _) = Array(text.utf8).withUnsafeBytes({ parser.parse($0) }) else {
            throw XCTSkip("unparsable test input")
        }
        return head
    }

    private func rejection(_ text: String) throws -> HandshakeRejection? {
        if case .failure(let rejection) = ServerHandshake.validate(try head(text)) { return rejection }
        return nil
    }

    private func replacing(_ header: String, with line: String?) -> String {
        // "\r\n" is one Character, so this splits on CRLF.
        let lines = HTTPHeadParserTests.upgrade.split(separator: "\r\n" as Character, omittingEmptySubsequences: false)
            .compactMap { current -> String? in current.hasPrefix(header + ":") ? line : String(current) }
        return lines.joined(separator: "\r\n")
    }

    func testValidUpgradeIsAccepted() throws {
        guard case .success(let upgrade) = ServerHandshake.validate(try head(HTTPHeadParserTests.upgrade)) else {
            return XCTFail("rejected")
        }
        XCTAssertEqual(upgrade.key, "dGhlIHNhbXBsZSBub25jZQ==")
        XCTAssertEqual(upgrade.path, "/chat/room")
        XCTAssertEqual(upgrade.query, "id=7&x=y")
        XCTAssertEqual(upgrade.origin, "http://example.com")
        XCTAssertEqual(upgrade.protocols, ["Chat.v2", "superchat", "third"])
        let response = String(decoding: ServerHandshake.response(acceptKey: ServerHandshake.acceptValue(forKey: upgrade.key),
                                                                 subprotocol: "superchat"), as: UTF8.self)
        XCTAssertEqual(response, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: superchat\r\n\r\n")
    }

    func testTheAcceptValueAndTheUsual101ComeOutAsTheLongWayMakesThem() {
        // RFC 6455 §1.3's example, then keys of other lengths against the plain composition.
        XCTAssertEqual(ServerHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        for key in ["", "x", String(repeating: "k", count: 100)] {
            XCTAssertEqual(ServerHandshake.acceptValue(forKey: key), Base64.encode(SHA1.hash(Array((key + ServerHandshake.guid).utf8))))
        }
        let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        let expected = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n"
        XCTAssertEqual(String(decoding: ServerHandshake.response(acceptKey: accept, subprotocol: nil), as: UTF8.self), expected)
        // The server's way: written straight into a buffer it has, the same bytes.
        var written = [UInt8](repeating: 0, count: ServerHandshake.plainResponseCount)
        let count = written.withUnsafeMutableBytes { ServerHandshake.writePlainResponse(acceptingKey: "dGhlIHNhbXBsZSBub25jZQ==", into: $0) }
        XCTAssertEqual(count, ServerHandshake.plainResponseCount)
        XCTAssertEqual(String(decoding: written, as: UTF8.self), expected)
        XCTAssertEqual(String(decoding: ServerHandshake.response(acceptKey: accept, subprotocol: nil, extraHeaders: [("X-A", "1")]), as: UTF8.self),
                       expected.dropLast() + "X-A: 1\r\n\r\n", "a header more goes the general way, before the blank line (\\r\\n is one Character)")
    }

    func testEachRejection() throws {
        let post = HTTPHeadParserTests.upgrade.replacingFirst("GET", with: "POST")
        let postRejection = try XCTUnwrap(try rejection(post))
        XCTAssertEqual(postRejection.status, 405)
        XCTAssertTrue(postRejection.extraHeaders.contains { $0 == ("Allow", "GET") })

        XCTAssertEqual(try rejection(HTTPHeadParserTests.upgrade.replacingFirst("HTTP/1.1", with: "HTTP/1.0"))?.status, 400)
        XCTAssertEqual(try rejection(replacing("Host", with: nil))?.status, 400)
        XCTAssertEqual(try rejection(replacing("Upgrade", with: nil))?.status, 426)
        XCTAssertEqual(try rejection(replacing("Upgrade", with: "Upgrade: h2c"))?.status, 426)
        XCTAssertEqual(try rejection(replacing("Connection", with: "Connection: keep-alive"))?.status, 400)
        XCTAssertEqual(try rejection(replacing("Connection", with: nil))?.status, 400)
        let version = try XCTUnwrap(try rejection(replacing("Sec-WebSocket-Version", with: "Sec-WebSocket-Version: 8")))
        XCTAssertEqual(version.status, 426)
        XCTAssertTrue(version.extraHeaders.contains { $0 == ("Sec-WebSocket-Version", "13") })
        XCTAssertEqual(try rejection(replacing("Sec-WebSocket-Version", with: nil))?.status, 426)
        for badKey in ["", "not base64!", "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAA", "dGhlIHNhbXBsZSBub25jZQ"] {
            XCTAssertEqual(try rejection(replacing("Sec-WebSocket-Key", with: "Sec-WebSocket-Key: \(badKey)"))?.status, 400, badKey)
        }
        XCTAssertEqual(try rejection(replacing("Sec-WebSocket-Key", with: nil))?.status, 400)
        // Case-insensitive tokens are fine.
        XCTAssertNil(try rejection(replacing("Upgrade", with: "upgrade: WebSocket")))
        // A rejection renders as a complete response that closes.
        let text = String(decoding: postRejection.response, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        XCTAssertTrue(text.contains("\r\nAllow: GET\r\n"))
        XCTAssertTrue(text.contains("\r\nConnection: close\r\n"))
    }

    func testHTTPResponse() {
        let body = Array("not here".utf8)
        let text = String(decoding: HTTPResponse.make(status: 404, headers: [("X-A", "1")], body: body, close: true), as: UTF8.self)
        XCTAssertEqual(text, "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       + "Content-Length: 8\r\nConnection: close\r\n\r\nnot here")
        let html = String(decoding: HTTPResponse.make(status: 200, headers: [("content-type", "text/html")], body: [0x3C]), as: UTF8.self)
        XCTAssertEqual(html, "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nContent-Length: 1\r\n\r\n<")
        XCTAssertEqual(HTTPResponse.reasonPhrase(426), "Upgrade Required")
        XCTAssertEqual(HTTPResponse.reasonPhrase(431), "Request Header Fields Too Large")
    }

    func testClientHandshakeAgainstServer() throws {
        var generator = SeededGenerator(seed: 99)
        let key16 = generator.bytes(16)
        var client = ClientHandshake(host: "localhost:9001", path: "/echo?x=1", key16: key16, extraHeaders: [("Origin", "wsbench")])
        let request = String(decoding: client.request, as: UTF8.self)
        guard case .success(let upgrade) = ServerHandshake.validate(try head(request)) else { return XCTFail("server rejected client") }
        XCTAssertEqual(upgrade.key, Base64.encode(key16))
        XCTAssertEqual(upgrade.path, "/echo")
        XCTAssertEqual(upgrade.origin, "wsbench")
        XCTAssertEqual(client.expectedAccept, ServerHandshake.acceptValue(forKey: upgrade.key))

        let response = ServerHandshake.response(acceptKey: ServerHandshake.acceptValue(forKey: upgrade.key), subprotocol: nil)
        let withFrame = response + FrameEncoder.frame(opcode: .text, payload: Array("hi".utf8))
        for end in 0..<response.count {
            let partial = withFrame.withUnsafeBytes { client.parseResponse(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
            guard case .needMore = partial else { return XCTFail("at \(end): \(partial)") }
        }
        guard case .accepted(let length) = withFrame.withUnsafeBytes({ client.parseResponse($0) }) else { return XCTFail() }
        XCTAssertEqual(length, response.count)
    }

    func testClientRejectsWrongResponses() {
        let client = ClientHandshake(host: "h", path: "/", key16: [UInt8](repeating: 7, count: 16))
        let good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(client.expectedAccept)\r\n\r\n"
        let wrongAccept = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        let forbidden = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
        let noUpgrade = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(client.expectedAccept)\r\n\r\n"
        let garbage = "SSH-2.0-OpenSSH\r\n\r\n"
        func result(_ text: String) -> ClientHandshake.Result {
            var copy = client
            return Array(text.utf8).withUnsafeBytes { copy.parseResponse($0) }
        }
        guard case .accepted = result(good) else { return XCTFail("\(result(good))") }
        for bad in [wrongAccept, forbidden, noUpgrade, garbage] {
            guard case .rejected = result(bad) else { return XCTFail("accepted \(bad)") }
        }
    }
}

final class ClientHandshakeFuzzRegressionTests: XCTestCase {
    /// Tests/Fuzz client-handshake found a 101 accepted whatever the HTTP version of its status line.
    func testA101InAnotherHTTPVersionIsRejected() {
        let client = ClientHandshake(host: "127.0.0.1:9001", path: "/room/fuzz?self=0", key16: Array(0..<16))
        for version in ["HTTP/0.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9"] {
            let response = "\(version) 101\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(client.expectedAccept)\r\n\r\n"
            var copy = client
            guard case .rejected(let reason) = Array(response.utf8).withUnsafeBytes({ copy.parseResponse($0) }) else {
                XCTFail("accepted a 101 in \(version)")
                continue
            }
            XCTAssert(reason.contains("not HTTP/1.1"), reason)
        }
        let good = "HTTP/1.1 101\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(client.expectedAccept)\r\n\r\n"
        var copy = client
        guard case .accepted = Array(good.utf8).withUnsafeBytes({ copy.parseResponse($0) }) else {
            return XCTFail("refused a 101 in HTTP/1.1 without a reason phrase")
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
