import WebSocketCodec
import XCTest

/// Negotiating permessage-deflate (RFC 7692 §7.1) through the extension seam (RFC 6455 §9.1).
final class ExtensionNegotiationTests: XCTestCase {
    private let server = PerMessageDeflate.ServerPolicy()

    private func offers(_ value: String) -> [ExtensionElement] {
        try! ExtensionHeader.parse(value)
    }

    private func accepted(_ offer: String, by policy: PerMessageDeflate.ServerPolicy = PerMessageDeflate.ServerPolicy()) -> String? {
        ExtensionNegotiation.accept(offers: offers(offer), supported: [policy]).headerValue
    }

    private func request(extensions: String?) throws -> HTTPRequestHead {
        var text = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let extensions { text += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        var parser = HTTPHeadParser()
        guard case .complete(let head, _) = Array((text + "\r\n").utf8).withUnsafeBytes({ parser.parse($0) }) else {
            throw XCTSkip("unparsable test input")
        }
        return head
    }

    func testServerAcceptsAndAnswersWithItsParameters() {
        // Always server_no_context_takeover (compress once), and by default client_no_context_takeover (one inflater per loop).
        XCTAssertEqual(accepted("permessage-deflate"), "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        XCTAssertEqual(accepted("permessage-deflate; client_max_window_bits"),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        // Values are echoed: the server's window at most what was asked, the client's as it promised.
        XCTAssertEqual(accepted("permessage-deflate; server_max_window_bits=10; client_max_window_bits=12"),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12")
        XCTAssertEqual(accepted("permessage-deflate; server_max_window_bits=12", by: .init(serverMaxWindowBits: 9)),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9")
        // The 256-byte window zlib cannot make is still accepted (compressed with 9, whose matches reach back 250 bytes).
        XCTAssertEqual(accepted("permessage-deflate; server_max_window_bits=8"),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8")
        // Without the requirement, the client keeps its context unless it gave it up.
        let lenient = PerMessageDeflate.ServerPolicy(requireClientNoContextTakeover: false)
        XCTAssertEqual(accepted("permessage-deflate", by: lenient), "permessage-deflate; server_no_context_takeover")
        XCTAssertEqual(accepted("permessage-deflate; client_no_context_takeover", by: lenient),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    func testServerDeclinesOffersThatBreakTheRules() {
        for bad in ["permessage-deflate; server_max_window_bits", "permessage-deflate; server_max_window_bits=16",
                    "permessage-deflate; server_max_window_bits=7", "permessage-deflate; server_max_window_bits=010",
                    "permessage-deflate; client_max_window_bits=0", "permessage-deflate; client_max_window_bits=abc",
                    "permessage-deflate; server_no_context_takeover=1", "permessage-deflate; unknown_parameter",
                    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                    "x-webkit-deflate-frame"] {
            XCTAssertNil(accepted(bad), bad)
        }
        // Quoted values are values: accepted.
        XCTAssertNotNil(accepted(#"permessage-deflate; server_max_window_bits="9""#))
    }

    func testFirstAcceptableOfferWinsAndOnlyOne() {
        // RFC 7692 §7.1.3's fallback: a declined first offer, the second taken.
        XCTAssertEqual(accepted("permessage-deflate; server_max_window_bits=99, permessage-deflate; client_max_window_bits"),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        // Two acceptable offers: the first only.
        let negotiated = ExtensionNegotiation.accept(
            offers: offers("permessage-deflate; server_max_window_bits=10, permessage-deflate"), supported: [server])
        XCTAssertEqual(negotiated.elements.count, 1)
        XCTAssertEqual(server.parameters(negotiated)?.serverMaxWindowBits, 10)
        // Unsupported extensions are ignored; nothing supported, nothing accepted, no header.
        XCTAssertNil(accepted("x-unknown; a=1"))
        XCTAssertNil(ExtensionNegotiation.accept(offers: offers("permessage-deflate"), supported: []).headerValue)
    }

    func testTwoExtensionsMayNotShareAReservedBit() {
        struct Rival: ServerExtension {
            var name: String { "x-rival" }
            var reservedBits: ReservedBits { .rsv1 }
            func accept(_ offer: ExtensionElement) -> ExtensionElement? { ExtensionElement(name: name) }
        }
        let negotiated = ExtensionNegotiation.accept(offers: offers("x-rival, permessage-deflate"), supported: [server, Rival()])
        XCTAssertEqual(negotiated.elements.map(\.name), ["x-rival"])
        XCTAssertNil(server.parameters(negotiated))
    }

    func testParametersTheServerAgreedOn() {
        let negotiated = ExtensionNegotiation.accept(
            offers: offers("permessage-deflate; server_max_window_bits=11; client_max_window_bits=9"), supported: [server])
        let parameters = server.parameters(negotiated)
        XCTAssertEqual(parameters, PerMessageDeflate.Parameters(
            serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 9))
        XCTAssertEqual(parameters?.peerKeepsContext(as: .server), false)
        XCTAssertEqual(parameters?.peerWindowBits(as: .server), 9)
        XCTAssertEqual(parameters?.ownWindowBits(as: .server), 11)
        XCTAssertNil(MessageInflater.forConnection(parameters!, as: .server), "one inflater per loop serves it")
        // A client that keeps its context needs an inflater of its own, with its window.
        let keeping = PerMessageDeflate.ServerPolicy(requireClientNoContextTakeover: false)
        let own = keeping.parameters(ExtensionNegotiation.accept(offers: offers("permessage-deflate; client_max_window_bits=10"), supported: [keeping]))!
        XCTAssertTrue(own.peerKeepsContext(as: .server))
        let inflater = MessageInflater.forConnection(own, as: .server)
        XCTAssertEqual(inflater?.windowBits, 10)
        XCTAssertEqual(inflater?.keepsContext, true)
    }

    func testServerHandshakeRejectsMalformedAndAnswersAccepted() throws {
        let malformed = try request(extensions: "permessage-deflate; x=\"unclosed")
        guard case .failure(let rejection) = ExtensionNegotiation.accept(malformed, supported: [server]) else {
            return XCTFail("a malformed header was accepted")
        }
        XCTAssertEqual(rejection.status, 400)
        XCTAssertTrue(rejection.reason.hasPrefix("malformed Sec-WebSocket-Extensions: the quoted value of x"), rejection.reason)
        // A server with no extension never reads the header: nothing changes for it.
        guard case .success(let none) = ExtensionNegotiation.accept(malformed, supported: []) else { return XCTFail() }
        XCTAssertEqual(none, .none)

        let head = try request(extensions: "permessage-deflate; client_max_window_bits")
        guard case .success(let negotiated) = ExtensionNegotiation.accept(head, supported: [server]) else { return XCTFail() }
        let response = String(decoding: ServerHandshake.response(acceptKey: "k", subprotocol: nil, extensions: negotiated), as: UTF8.self)
        XCTAssertEqual(response, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: k\r\n"
                       + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n")
        // Without extensions the response is what it always was.
        XCTAssertEqual(ServerHandshake.response(acceptKey: "k", subprotocol: nil),
                       Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: k\r\n\r\n".utf8))
    }

    // MARK: The client's side

    private func validate(_ response: String?, offered: [any ClientExtension]) -> Result<NegotiatedExtensions, ExtensionNegotiationError> {
        ExtensionNegotiation.validate(response: response.map { [("Sec-WebSocket-Extensions", $0)] } ?? [], offered: offered)
    }

    private func reason(_ response: String, offered: PerMessageDeflate.ClientOffer = PerMessageDeflate.ClientOffer()) -> String? {
        if case .failure(let error) = validate(response, offered: [offered]) { return error.reason }
        return nil
    }

    func testClientOffers() {
        XCTAssertEqual(ExtensionNegotiation.offerHeaderValue([PerMessageDeflate.ClientOffer()]), "permessage-deflate; client_max_window_bits")
        let all = PerMessageDeflate.ClientOffer(serverNoContextTakeover: true, clientNoContextTakeover: true,
                                                serverMaxWindowBits: 10, clientMaxWindowBits: 9)
        XCTAssertEqual(ExtensionNegotiation.offerHeaderValue([all]),
                       "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9")
        XCTAssertNil(ExtensionNegotiation.offerHeaderValue([]))
    }

    func testClientTakesWhatItOfferedAndWhatTheServerMayAdd() throws {
        let offer = PerMessageDeflate.ClientOffer()
        guard case .success(let negotiated) = validate("permessage-deflate", offered: [offer]) else { return XCTFail() }
        XCTAssertEqual(offer.parameters(negotiated), PerMessageDeflate.Parameters())
        // The server may add server_no_context_takeover, client_no_context_takeover and a server window unasked,
        // and choose the client's window since client_max_window_bits is always offered.
        guard case .success(let added) = validate(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
            offered: [offer]) else { return XCTFail() }
        let parameters = try XCTUnwrap(offer.parameters(added))
        XCTAssertEqual(parameters, PerMessageDeflate.Parameters(serverNoContextTakeover: true, clientNoContextTakeover: true,
                                                                serverMaxWindowBits: 9, clientMaxWindowBits: 10))
        XCTAssertFalse(parameters.peerKeepsContext(as: .client))
        XCTAssertEqual(parameters.ownWindowBits(as: .client), 10)
        // A promise made in the offer holds even if the answer does not repeat it.
        let promising = PerMessageDeflate.ClientOffer(clientNoContextTakeover: true, clientMaxWindowBits: 11)
        guard case .success(let bare) = validate("permessage-deflate", offered: [promising]) else { return XCTFail() }
        XCTAssertEqual(promising.parameters(bare)?.clientNoContextTakeover, true)
        XCTAssertEqual(promising.parameters(bare)?.clientMaxWindowBits, 11)
        // No extension header: nothing negotiated, which is the client's to judge.
        guard case .success(let nothing) = validate(nil, offered: [offer]) else { return XCTFail() }
        XCTAssertNil(offer.parameters(nothing))
    }

    func testClientRefusesWhatItDidNotOfferOrCannotUse() {
        XCTAssertEqual(reason("x-webkit-deflate-frame"), "the server accepted the extension x-webkit-deflate-frame, which was not offered")
        XCTAssertEqual(reason("permessage-deflate, permessage-deflate"), "the server accepted the extension permessage-deflate twice")
        XCTAssertEqual(reason("permessage-deflate; mystery"), "permessage-deflate: unknown parameter mystery")
        XCTAssertEqual(reason("permessage-deflate; client_max_window_bits"),
                       "permessage-deflate: client_max_window_bits needs a value from 8 to 15, got none")
        XCTAssertEqual(reason("permessage-deflate; server_max_window_bits=16"),
                       "permessage-deflate: server_max_window_bits needs a value from 8 to 15, got '16'")
        XCTAssertEqual(reason("permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
                       "permessage-deflate: server_no_context_takeover is given twice")
        XCTAssertEqual(reason("permessage-deflate; client_no_context_takeover=yes"),
                       "permessage-deflate: client_no_context_takeover takes no value")
        XCTAssertEqual(reason("permessage-deflate;;"), "the response's malformed Sec-WebSocket-Extensions: expected a parameter name at offset 19, found ';'")
        let asking = PerMessageDeflate.ClientOffer(serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10)
        XCTAssertEqual(reason("permessage-deflate; server_max_window_bits=10", offered: asking),
                       "permessage-deflate: the server did not accept server_no_context_takeover")
        XCTAssertEqual(reason("permessage-deflate; server_no_context_takeover", offered: asking),
                       "permessage-deflate: the server did not accept server_max_window_bits=10")
        XCTAssertEqual(reason("permessage-deflate; server_no_context_takeover; server_max_window_bits=11", offered: asking),
                       "permessage-deflate: server_max_window_bits=11 is more than the 10 offered")
        XCTAssertEqual(reason("permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=12", offered: asking),
                       "permessage-deflate: client_max_window_bits=12 is more than the 10 offered")
        XCTAssertNil(reason("permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8", offered: asking))
        // Offering nothing, any extension in the answer fails.
        guard case .failure = validate("permessage-deflate", offered: []) else { return XCTFail("accepted an extension never offered") }
    }

    /// The whole handshake, client offer to server answer to client check, as the two ends run it.
    func testClientHandshakeAgainstServerPolicy() throws {
        var generator = SeededGenerator(seed: 3)
        let offer = PerMessageDeflate.ClientOffer(serverMaxWindowBits: 12)
        var client = ClientHandshake(host: "h", path: "/", key16: generator.bytes(16), extensions: [offer])
        var parser = HTTPHeadParser()
        guard case .complete(let head, _) = client.request.withUnsafeBytes({ parser.parse($0) }) else { return XCTFail() }
        XCTAssertEqual(head.header("Sec-WebSocket-Extensions"), "permessage-deflate; server_max_window_bits=12; client_max_window_bits")
        guard case .success(let upgrade) = ServerHandshake.validate(head),
              case .success(let negotiated) = ExtensionNegotiation.accept(head, supported: [server]) else { return XCTFail() }
        let response = ServerHandshake.response(acceptKey: ServerHandshake.acceptValue(forKey: upgrade.key), subprotocol: nil,
                                                extensions: negotiated)
        guard case .accepted(let length) = response.withUnsafeBytes({ client.parseResponse($0) }) else { return XCTFail() }
        XCTAssertEqual(length, response.count)
        let clientSide = offer.parameters(client.negotiated)
        XCTAssertEqual(clientSide, server.parameters(negotiated), "both ends agree")
        XCTAssertEqual(clientSide?.serverMaxWindowBits, 12)

        // A response with an extension the client never offered fails its handshake.
        var plain = ClientHandshake(host: "h", path: "/", key16: generator.bytes(16))
        let unasked = ServerHandshake.response(acceptKey: plain.expectedAccept, subprotocol: nil, extensions: negotiated)
        guard case .rejected(let reason) = unasked.withUnsafeBytes({ plain.parseResponse($0) }) else { return XCTFail("accepted") }
        XCTAssertEqual(reason, "the server accepted the extension permessage-deflate, which was not offered")
    }
}
