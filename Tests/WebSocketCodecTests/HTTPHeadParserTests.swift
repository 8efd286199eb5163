import WebSocketCodec
import XCTest

final class HTTPHeadParserTests: XCTestCase {
    static let upgrade = """
        GET /chat/room?id=7&x=y HTTP/1.1\r
        Host: example.com:8080\r
        Upgrade: websocket\r
        Connection: keep-alive, Upgrade\r
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
        Origin: http://example.com\r
        Sec-WebSocket-Protocol: Chat.v2, superchat\r
        Sec-WebSocket-Protocol: third\r
        Sec-WebSocket-Version: 13\r
        X-Empty:\r
        X-Spaces: \t padded value \t\r
        \r

        """

    private func parse(_ text: String, maxHeadSize: Int = 8192) -> HTTPHeadParseResult {
        var parser = HTTPHeadParser(maxHeadSize: maxHeadSize)
        return Array(text.utf8).withUnsafeBytes { parser.parse($0) }
    }

    private func head(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> HTTPRequestHead? {
        guard case .complete(let head, _) = parse(text) else {
            XCTFail("not complete: \(parse(text))", file: file, line: line)
            return nil
        }
        return head
    }

    private func status(_ text: String, maxHeadSize: Int = 8192) -> Int? {
        if case .invalid(let status, _) = parse(text, maxHeadSize: maxHeadSize) { return status }
        return nil
    }

    func testParsesRequestHead() throws {
        let request = try XCTUnwrap(head(Self.upgrade))
        XCTAssertEqual(request.method, "GET")
        XCTAssertEqual(request.target, "/chat/room?id=7&x=y")
        XCTAssertEqual(request.path, "/chat/room")
        XCTAssertEqual(request.query, "id=7&x=y")
        XCTAssertEqual(request.versionMinor, 1)
        XCTAssertEqual(request.headers.count, 10)
        XCTAssertEqual(request.header("HOST"), "example.com:8080")
        XCTAssertEqual(request.header("x-empty"), "")
        XCTAssertEqual(request.header("X-Spaces"), "padded value")
        XCTAssertNil(request.header("Missing"))
        XCTAssertEqual(request.headerTokens("connection"), ["keep-alive", "upgrade"])
        XCTAssertEqual(request.headerList("Sec-WebSocket-Protocol"), ["Chat.v2", "superchat", "third"])
        XCTAssertEqual(request.headerTokens("Sec-WebSocket-Protocol"), ["chat.v2", "superchat", "third"])
        XCTAssertTrue(request.hasToken("UPGRADE", in: "connection"))
        XCTAssertTrue(request.hasToken("third", in: "Sec-WebSocket-Protocol"))
        XCTAssertFalse(request.hasToken("upgrad", in: "Connection"))
        XCTAssertFalse(request.hasToken("websocket", in: "Connection"))
        XCTAssertEqual(try XCTUnwrap(head("GET / HTTP/1.1\r\nA: , x ,,\ty\t, \r\n\r\n")).headerList("a"), ["x", "y"])
        XCTAssertNil(try XCTUnwrap(head("GET / HTTP/1.0\r\n\r\n")).query)
        XCTAssertEqual(try XCTUnwrap(head("GET /? HTTP/1.0\r\n\r\n")).query, "")
    }

    func testHeadersAreReadOutOfTheHeadByNameWhateverTheirCase() throws {
        var parser = HTTPHeadParser()
        let text = "GET /a?b HTTP/1.1\r\nHost: h\r\nX-Two: 1\r\nx-two:  2 \r\nEmpty:\r\n\r\n"
        guard case .complete(let head, _) = Array(text.utf8).withUnsafeBytes({ parser.parse($0) }) else { return XCTFail("not parsed") }
        XCTAssertEqual(head.method, "GET")
        XCTAssertEqual(head.target, "/a?b")
        XCTAssertEqual(head.path, "/a")
        XCTAssertEqual(head.query, "b")
        XCTAssertTrue(head.hasHeader("HOST"))
        XCTAssertFalse(head.hasHeader("Hos"))
        XCTAssertEqual(head.header("empty"), "")
        XCTAssertEqual(head.headers(named: "X-TWO").map { $0.value }, ["1", "2"], "every one of the name, in order, trimmed")
        XCTAssertEqual(head.headers(named: "Absent").count, 0)
        XCTAssertEqual(head.headers.map { $0.name }, ["Host", "X-Two", "x-two", "Empty"])
        // Made of parts, a head reads back the same.
        let made = HTTPRequestHead(method: "POST", target: "/p?q=1", versionMinor: 0, headers: [("A", "x"), ("b", "y")])
        XCTAssertEqual([made.method, made.target, made.path, made.query], ["POST", "/p?q=1", "/p", "q=1"])
        XCTAssertEqual(made.versionMinor, 0)
        XCTAssertEqual(made.header("B"), "y")
    }

    func testAHeadWithMoreLinesThanTheStackScratchKeepsEveryOne() throws {
        // 32 lines are parsed on the stack; a longer head is counted and parsed in place.
        for count in [31, 32, 33, 100] {
            let lines = (0..<count).map { "X-Line-\($0): value \($0)\r\n" }.joined()
            let parsed = try XCTUnwrap(head("GET / HTTP/1.1\r\nHost: h\r\n" + lines + "\r\n"))
            XCTAssertEqual(parsed.headers.count, count + 1, "\(count) lines")
            XCTAssertEqual(parsed.header("x-line-0"), "value 0")
            XCTAssertEqual(parsed.header("X-LINE-\(count - 1)"), "value \(count - 1)")
            XCTAssertEqual(parsed.headers.last?.name, "X-Line-\(count - 1)")
            guard case .invalid(400, _) = parse("GET / HTTP/1.1\r\n" + lines + "bad line\r\n\r\n") else {
                return XCTFail("a malformed line after \(count) good ones was accepted")
            }
        }
    }

    func testHeadLengthExcludesFollowingBytes() {
        let bytes = Array((Self.upgrade + "\u{81}\u{82}extra").utf8)
        var parser = HTTPHeadParser()
        guard case .complete(_, let length) = bytes.withUnsafeBytes({ parser.parse($0) }) else { return XCTFail() }
        XCTAssertEqual(length, Self.upgrade.utf8.count)
    }

    func testEverySplitGivesTheSameHead() throws {
        let bytes = Array(Self.upgrade.utf8)
        let reference = try XCTUnwrap(head(Self.upgrade))
        // One parser fed the growing accumulation, as a connection would.
        var parser = HTTPHeadParser()
        for end in 0...bytes.count {
            let result = bytes.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
            switch result {
            case .needMore:
                XCTAssertLessThan(end, bytes.count, "complete head reported as incomplete")
            case .complete(let request, let length):
                XCTAssertEqual(end, bytes.count, "complete before the blank line")
                XCTAssertEqual(length, bytes.count)
                XCTAssertEqual(request.target, reference.target)
                XCTAssertEqual(request.headers.map { $0.name + ":" + $0.value }, reference.headers.map { $0.name + ":" + $0.value })
            case .invalid(let status, let reason):
                XCTFail("invalid at \(end): \(status) \(reason)")
            }
        }
        // A fresh parser per split point (first piece, then the whole).
        for split in 0..<bytes.count {
            var fresh = HTTPHeadParser()
            let first = bytes.withUnsafeBytes { fresh.parse(UnsafeRawBufferPointer(rebasing: $0[..<split])) }
            guard case .needMore = first else { return XCTFail("split \(split): \(first)") }
            guard case .complete(let request, _) = bytes.withUnsafeBytes({ fresh.parse($0) }) else { return XCTFail("split \(split)") }
            XCTAssertEqual(request.headers.count, reference.headers.count)
        }
    }

    func testTruncatedHeadNeedsMore() {
        for text in ["", "GET", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r"] {
            guard case .needMore = parse(text) else { return XCTFail("\(text.debugDescription): \(parse(text))") }
        }
    }

    func testOversizeHeadGives431() {
        let big = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 9000)
        XCTAssertEqual(status(big), 431)
        XCTAssertEqual(status(big + "\r\n\r\n"), 431)
        let exact = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 100 - 23) + "\r\n\r\n"
        XCTAssertEqual(exact.utf8.count, 100)
        guard case .complete = parse(exact, maxHeadSize: 100) else { return XCTFail("a head of exactly the limit fits") }
        XCTAssertEqual(status(exact, maxHeadSize: 99), 431)
    }

    func testMalformedHeadsGive400() {
        let malformed = [
            "GET / HTTP/1.1\nHost: a\n\n",              // bare LF
            "GET / HTTP/1.1\r\nHost: a\n\r\n",          // bare LF in a header line
            "GET  / HTTP/1.1\r\n\r\n",                  // double space
            "GET /\r\n\r\n",                            // HTTP/0.9 style
            "GET / HTTP/1.1 \r\n\r\n",                  // trailing space
            "GET / HTTX/1.1\r\n\r\n",
            "GET / HTTP/1.x\r\n\r\n",
            "GET / HTTP/11\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",                   // non-token method
            " GET / HTTP/1.1\r\n\r\n",
            "GET /a\u{7F}b HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",       // space before colon
            "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
            "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n",  // obs-fold
            "GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n",   // control character
            "GET / HTTP/1.1\r\nX: a\rb\r\nY: c\r\n\r\n", // lone CR in a value
            "GET / HTTP/1.1\r\nX\r: a\r\n\r\n",         // lone CR in a name
            "GET /\r HTTP/1.1\r\n\r\n",                 // lone CR in the target
            "\r\n\r\n",
        ]
        for text in malformed { XCTAssertEqual(status(text), 400, text.debugDescription) }
        XCTAssertEqual(status("GET / HTTP/2.0\r\n\r\n"), 505)
    }

    func testContentLengthMustBeDigitsAndAgree() {
        func declared(_ lines: String...) -> Int?? {
            head("POST /p HTTP/1.1\r\n" + lines.map { $0 + "\r\n" }.joined() + "\r\n").map(\.declaredContentLength)
        }
        XCTAssertEqual(declared("Host: x"), 0)
        XCTAssertEqual(declared("Content-Length: 42"), 42)
        XCTAssertEqual(declared("Content-Length: 5", "content-length: 5"), 5, "identical copies are one length")
        XCTAssertEqual(declared("Content-Length: 5, 5"), 5)
        XCTAssertEqual(declared("Content-Length: 2", "Content-Length: 5"), .some(nil), "disagreeing copies")
        XCTAssertEqual(declared("Content-Length: 2, 5"), .some(nil))
        XCTAssertEqual(declared("Content-Length: +2"), .some(nil))
        XCTAssertEqual(declared("Content-Length:"), .some(nil), "present but empty")
        XCTAssertEqual(declared("Content-Length: -1"), .some(nil))
        XCTAssertEqual(declared("Content-Length: 0x10"), .some(nil))
        XCTAssertEqual(declared("Content-Length: 99999999999999999999"), .some(nil), "beyond any Int")
    }

    func testParserIsReusableAfterCompletion() {
        var parser = HTTPHeadParser()
        let first = Array("GET /one HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        let second = Array("GET /second HTTP/1.1\r\nHost: b\r\n\r\n".utf8)
        guard case .complete(let a, _) = first.withUnsafeBytes({ parser.parse($0) }) else { return XCTFail() }
        guard case .complete(let b, _) = second.withUnsafeBytes({ parser.parse($0) }) else { return XCTFail() }
        XCTAssertEqual(a.path, "/one")
        XCTAssertEqual(b.path, "/second")
    }
}
