import WebSocketCodec
import XCTest

/// Sec-WebSocket-Extensions syntax (RFC 6455 §9.1).
final class ExtensionHeaderTests: XCTestCase {
    private func element(_ name: String, _ parameters: (String, String?)...) -> ExtensionElement {
        ExtensionElement(name: name, parameters: parameters.map { ExtensionParameter($0.0, value: $0.1) })
    }

    func testOffersParametersAndQuotedValues() throws {
        XCTAssertEqual(try ExtensionHeader.parse("permessage-deflate"), [element("permessage-deflate")])
        XCTAssertEqual(
            try ExtensionHeader.parse("permessage-deflate; client_max_window_bits; server_max_window_bits=10"),
            [element("permessage-deflate", ("client_max_window_bits", nil), ("server_max_window_bits", "10"))])
        // Quoted values are unquoted (and may hold escapes, as long as the result is a token).
        XCTAssertEqual(try ExtensionHeader.parse(#"permessage-deflate;server_max_window_bits="10";x="a\-b""#),
                       [element("permessage-deflate", ("server_max_window_bits", "10"), ("x", "a-b"))])
        // Several offers and several extensions, whitespace around every separator, empty elements skipped.
        XCTAssertEqual(
            try ExtensionHeader.parse(" permessage-deflate ;\tclient_no_context_takeover , , x-webkit-deflate-frame,permessage-deflate ; a = b ,"),
            [element("permessage-deflate", ("client_no_context_takeover", nil)), element("x-webkit-deflate-frame"),
             element("permessage-deflate", ("a", "b"))])
        XCTAssertEqual(try ExtensionHeader.parse(""), [])
        XCTAssertEqual(try ExtensionHeader.parse(" , "), [])
    }

    func testSeveralHeaderFieldsAreOneList() throws {
        let headers: [(name: String, value: String)] = [
            ("Host", "h"), ("Sec-WebSocket-Extensions", "a; x=1"), ("sec-websocket-extensions", "b, c"),
        ]
        XCTAssertEqual(try ExtensionHeader.elements(of: headers), [element("a", ("x", "1")), element("b"), element("c")])
        XCTAssertEqual(try ExtensionHeader.elements(of: [("Host", "h")]), [])
    }

    func testMalformedHeadersSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("; x", "expected an extension name at offset 0, found ';'"),
            ("permessage-deflate;", "expected a parameter name at the end"),
            ("permessage-deflate; =1", "expected a parameter name at offset 20, found '='"),
            ("permessage-deflate; x=", "expected a value for x at the end"),
            ("permessage-deflate; x=\"10", "the quoted value of x at offset 22 is not closed"),
            ("permessage-deflate; x=\"a b\"", "the quoted value of x at offset 22 is not a token once unquoted"),
            ("permessage-deflate; x=\"\"", "the quoted value of x at offset 22 is not a token once unquoted"),
            ("permessage-deflate; x=\"1\\", "the quoted value of x ends with a lone '\\'"),
            ("permessage-deflate x", "expected ',' or ';' at offset 19, found 'x'"),
            ("permessage deflate", "expected ',' or ';' at offset 11, found 'd'"),
            ("permessage-deflate; x=1 2", "expected ',' or ';' at offset 24, found '2'"),
            ("perméssage", "expected ',' or ';' at offset 4, found byte 0xc3"),
            ("a, \"b\"", "expected an extension name at offset 3, found '\"'"),
        ]
        for (value, reason) in cases {
            XCTAssertThrowsError(try ExtensionHeader.parse(value), value) { error in
                XCTAssertEqual((error as? ExtensionHeaderError)?.reason, reason, value)
            }
        }
    }

    func testRenderingRoundTrips() throws {
        let elements = [element("permessage-deflate", ("server_no_context_takeover", nil), ("client_max_window_bits", "10")),
                        element("x-other", ("q", "1"))]
        let rendered = ExtensionHeader.render(elements)
        XCTAssertEqual(rendered, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10, x-other; q=1")
        XCTAssertEqual(try ExtensionHeader.parse(rendered), elements)
        XCTAssertEqual(elements[0].description, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10")
        XCTAssertTrue(elements[0].isNamed("PerMessage-Deflate"))
        XCTAssertFalse(elements[0].isNamed("permessage-deflat"))
    }
}
