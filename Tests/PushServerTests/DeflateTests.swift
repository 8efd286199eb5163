import Broadcast
import Glibc
import PushServer
import Reactor
import TestSupport
import WebSocketCodec
import XCTest

/// permessage-deflate on the server (RFC 7692): negotiation, compressed echoes, rooms whose
/// messages are deflated once for every member that agreed, and a bound on what a client can
/// make the server inflate.
final class DeflateTests: XCTestCase {
    private let offer = PerMessageDeflate.ClientOffer()

    private func makeDeflateServer(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) throws -> (PushServer, Int) {
        try makeServer({ configuration in
            configuration.deflate = PerMessageDeflate.ServerPolicy()
            configuration.statisticsInterval = .milliseconds(20)
            adjust(&configuration)
        }, routes: { server in
            server.get("/stats") { _ in HTTPReply(contentType: "application/json", body: server.statisticsJSON()) }
        })
    }

    /// A JSON quote feed's message of about `size` bytes: compresses well, like the real thing.
    private func quotes(_ serial: Int, size: Int = 1024) -> String {
        var text = #"{"type":"quotes","serial":\#(serial),"q":["#
        var index = 0
        while text.utf8.count < size - 60 {
            let bid = 18_000 + (index * 7_919 + serial * 104_729) % 30_000
            text += (index == 0 ? "" : ",") + #"{"s":"SYM\#(index % 12)","b":\#(bid),"a":\#(bid + 3),"v":\#(index * 3_571 % 90_000)}"#
            index += 1
        }
        return text + "]}"
    }

    func testTheHandshakeAcceptsAnOfferAndRefusesAMalformedHeader() throws {
        let (server, port) = try makeDeflateServer()
        defer { server.shutdown() }
        let agreed = try TestClient(port: port, path: "/echo", deflate: offer)
        let parameters = try XCTUnwrap(agreed.deflate, "the server accepted permessage-deflate")
        XCTAssertTrue(parameters.serverNoContextTakeover && parameters.clientNoContextTakeover, "\(parameters)")
        XCTAssertEqual(parameters.serverMaxWindowBits, 15)

        let plain = try TestClient(port: port, path: "/echo")
        XCTAssertNil(plain.deflate)
        plain.send(FrameEncoder.frame(opcode: .text, reservedBits: .rsv1, payload: [0x4A, 0x04, 0x00], maskKey: MaskKey(1, 2, 3, 4)))
        if case .close(let code, _) = plain.receiveFrame() { XCTAssertEqual(code, 1002, "RSV1 from a client that did not agree") } else {
            XCTFail("expected close 1002")
        }

        let malformed = try TestClient(port: port)
        malformed.send("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; x=\"unclosed\r\n\r\n")
        let answer = malformed.receiveAll()
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400 "), answer)

        // A server without deflate ignores the offer: no extension, and RSV1 stays a protocol error.
        let (plainServer, plainPort) = try makeServer()
        defer { plainServer.shutdown() }
        XCTAssertNil(try TestClient(port: plainPort, path: "/echo", deflate: offer).deflate)
    }

    func testEchoesAreCompressedAndCompressedMessagesAreInflated() throws {
        let (server, port) = try makeDeflateServer()
        defer { server.shutdown() }
        let client = try XCTUnwrap(TestClient(port: port, path: "/echo", deflate: offer))
        let deflater = MessageDeflater()
        for serial in 0..<3 {
            let message = quotes(serial)
            client.sendCompressed(.text, Array(message.utf8), with: deflater)
            XCTAssertEqual(client.receiveFrame(), .text(message))
            XCTAssertTrue(client.lastMessageWasCompressed, "a 1 KiB JSON echo goes compressed")
        }
        client.sendFrame(.binary, Array(repeating: 7, count: 4096))  // plain from a deflate client: allowed
        XCTAssertEqual(client.receiveFrame(), .binary(Array(repeating: 7, count: 4096)))
        XCTAssertTrue(client.lastMessageWasCompressed)
        client.sendFrame(.text, Array("short".utf8))
        XCTAssertEqual(client.receiveFrame(), .text("short"))
        XCTAssertFalse(client.lastMessageWasCompressed, "under 64 bytes a message goes plain")
        client.sendFrame(.ping, [1, 2])
        XCTAssertEqual(client.receiveFrame(), .pong([1, 2]))
        XCTAssertFalse(client.lastMessageWasCompressed, "control frames never")
    }

    func testCompressedAndPlainSubscribersInOneRoomEachReceiveEveryMessageIntact() throws {
        let (server, port) = try makeDeflateServer()
        defer { server.shutdown() }
        let compressed = try (0..<3).map { _ in try TestClient(port: port, path: "/room/mixed", deflate: offer) }
        let plain = try (0..<3).map { _ in try TestClient(port: port, path: "/room/mixed") }
        XCTAssertTrue(compressed.allSatisfy { $0.deflate != nil } && plain.allSatisfy { $0.deflate == nil })
        let broadcaster = try XCTUnwrap(server.broadcaster)
        XCTAssertTrue(waitUntil { broadcaster.members(of: "mixed").count == 6 })

        var random = SystemRandomNumberGenerator()
        let incompressible = (0..<300).map { _ in UInt8.random(in: 0...255, using: &random) }
        // (message, whether a deflate member gets it compressed)
        let messages: [(TestClient.Frame, Bool)] = [
            (.text(quotes(1)), true),
            (.text("hi"), false),
            (.text(String(repeating: "ab", count: 31) + "!"), false),  // 63 bytes: under the threshold
            (.text(String(repeating: "ab", count: 32)), true),  // 64 bytes of repetition: shrinks
            (.binary(incompressible), false),  // does not shrink
            (.binary(Array(quotes(2, size: 4096).utf8)), true),
            (.text("弹幕 " + String(repeating: "哈", count: 40)), true),
        ]
        // Published by a compressed member and a plain one in turn: what they send is inflated or not.
        let deflater = MessageDeflater()
        for (index, (message, _)) in messages.enumerated() {
            let (opcode, payload): (Opcode, [UInt8]) = switch message {
            case .text(let text): (.text, Array(text.utf8))
            case .binary(let bytes): (.binary, bytes)
            default: fatalError("data messages only")
            }
            if index % 2 == 0 { compressed[0].sendCompressed(opcode, payload, with: deflater) } else { plain[0].sendFrame(opcode, payload) }
            // Each is received before the next is sent, so the room's order is the sending order.
            for member in compressed + plain { XCTAssertEqual(member.receiveFrame(), message, "message \(index)") }
        }
        // Received again, this time checking how each arrived.
        for (index, (message, shrinks)) in messages.enumerated() {
            server.broadcaster!.publish(BroadcastMessage(message), to: "mixed")
            for member in compressed {
                XCTAssertEqual(member.receiveFrame(), message, "message \(index)")
                XCTAssertEqual(member.lastMessageWasCompressed, shrinks, "message \(index) to a deflate member")
            }
            for member in plain {
                XCTAssertEqual(member.receiveFrame(), message, "message \(index)")
                XCTAssertFalse(member.lastMessageWasCompressed, "message \(index) to a plain member")
            }
        }
        let expected = 2 * messages.filter(\.1).count
        XCTAssertTrue(waitUntil { server.statisticsSnapshot().rooms["mixed"]?.deflated == expected },
                      "deflated once per compressible message: \(String(describing: server.statisticsSnapshot().rooms["mixed"]))")
    }

    func testTheDeflateCounterEqualsThePublishCountNotTheSubscriberCount() throws {
        let (server, port) = try makeDeflateServer()
        defer { server.shutdown() }
        let broadcaster = try XCTUnwrap(server.broadcaster)
        // Deflate members on both loops (the kernel spreads connections between them), and a plain one.
        var members = [try TestClient(port: port, path: "/room/counted")]
        for _ in 0..<40 {
            members.append(try TestClient(port: port, path: "/room/counted", deflate: offer))
            XCTAssertTrue(waitUntil { broadcaster.members(of: "counted").count == members.count })
            if members.count >= 5 && Set(broadcaster.members(of: "counted").map(\.loop)).count == 2 { break }
        }
        XCTAssertEqual(Set(broadcaster.members(of: "counted").map(\.loop)), [0, 1], "members on both loops")
        let publishes = 25
        for serial in 0..<publishes { broadcaster.publish(BroadcastMessage(text: quotes(serial)), to: "counted") }
        for member in members {
            for serial in 0..<publishes { XCTAssertEqual(member.receiveFrame(), .text(quotes(serial))) }
        }
        let deflateMembers = members.count - 1
        XCTAssertTrue(waitUntil { server.statisticsSnapshot().rooms["counted"]?.delivered == publishes * members.count })
        let counters = try XCTUnwrap(server.statisticsSnapshot().rooms["counted"])
        XCTAssertEqual(counters.published, publishes)
        XCTAssertEqual(counters.deflated, publishes, "one deflate per publish for \(deflateMembers) deflate members")
        let stats = try XCTUnwrap(HTTPTestClient(port: port).request("GET", "/stats")).text
        XCTAssertTrue(stats.contains(#""counted":{"published":25,"encoded":25,"deflated":25,"#), stats)
    }

    func testAClientWithASmallWindowGetsCompressedEchoesAndPlainRoomMessages() throws {
        let (server, port) = try makeDeflateServer()
        defer { server.shutdown() }
        let small = PerMessageDeflate.ClientOffer(serverMaxWindowBits: 9)
        let echo = try TestClient(port: port, path: "/echo", deflate: small)
        XCTAssertEqual(echo.deflate?.serverMaxWindowBits, 9)
        let message = quotes(7, size: 4096)
        echo.sendFrame(.text, Array(message.utf8))
        XCTAssertEqual(echo.receiveFrame(), .text(message))
        XCTAssertTrue(echo.lastMessageWasCompressed, "compressed with a 512-byte window")

        let member = try TestClient(port: port, path: "/room/small", deflate: small)
        let wide = try TestClient(port: port, path: "/room/small", deflate: offer)
        XCTAssertTrue(waitUntil { server.broadcaster!.members(of: "small").count == 2 })
        server.broadcaster!.publish(BroadcastMessage(text: message), to: "small")
        XCTAssertEqual(member.receiveFrame(), .text(message))
        XCTAssertFalse(member.lastMessageWasCompressed, "the room's frames need a 32 KiB window: this member gets the plain ones")
        XCTAssertEqual(wide.receiveFrame(), .text(message))
        XCTAssertTrue(wide.lastMessageWasCompressed)
    }

    func testAClientThatKeepsItsContextHasItsOwnInflater() throws {
        let (server, port) = try makeDeflateServer { $0.deflate = PerMessageDeflate.ServerPolicy(requireClientNoContextTakeover: false) }
        defer { server.shutdown() }
        let client = try TestClient(port: port, path: "/echo", deflate: offer)
        let parameters = try XCTUnwrap(client.deflate)
        XCTAssertFalse(parameters.clientNoContextTakeover, "not asked of a client that did not offer it")
        let other = try TestClient(port: port, path: "/echo", deflate: PerMessageDeflate.ClientOffer(clientNoContextTakeover: true))
        // Each message refers back into the one before: only an inflater that kept the window reads it.
        let deflater = MessageDeflater(keepsContext: true)
        let stateless = MessageDeflater()
        for serial in 0..<4 {
            let message = quotes(serial % 2)  // from the third on, a repeat of the one two before
            let withContext = client.sendCompressed(.text, Array(message.utf8), with: deflater)
            let alone = other.sendCompressed(.text, Array(message.utf8), with: stateless)  // interleaved on the loop's shared inflater
            if serial >= 2 { XCTAssertLessThan(withContext * 4, alone, "message \(serial) is mostly a match into an earlier one") }
            XCTAssertEqual(client.receiveFrame(), .text(message), "message \(serial)")
            XCTAssertEqual(other.receiveFrame(), .text(message), "message \(serial)")
        }
    }

    /// 1 GiB of zeros, deflated: 1 MiB deflated on its own, the pieces joined by the 00 00 ff ff
    /// each sync flush ends with (1,061,884 bytes with zlib 1.2.13).
    private func zipBomb(mebibytes: Int) -> [UInt8] {
        let deflater = MessageDeflater()
        // The compressed bytes live in the deflater: copied out while it is alive.
        let piece = withExtendedLifetime(deflater) { [UInt8](repeating: 0, count: 1 << 20).withUnsafeBytes { Array(deflater.compress($0)!) } }
        var payload: [UInt8] = []
        payload.reserveCapacity((piece.count + 4) * mebibytes)
        for index in 0..<mebibytes {
            if index > 0 { payload += [0, 0, 0xFF, 0xFF] }
            payload += piece
        }
        return payload
    }

    private func status(_ field: String) -> Int {
        let text = (try? String(contentsOfProcFile: "/proc/self/status")) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    /// The limit is 1 MiB, the smallest that lets the bomb reach the inflater: its 1,061,884
    /// compressed bytes are more than 1 MiB but within what a compressed message may have
    /// (`maxCompressedMessageSize`, 1/8 + 1/64 more); a smaller limit refuses it by its compressed
    /// size, inflating nothing, and the test would prove nothing. While refusing it the server
    /// holds the compressed message and at most the limit plus one byte of output, which grows by
    /// doubling (a realloc may hold the old half and the new whole at once): about 2.5 MiB.
    func testAOneGibibyteZipBombGets1009WhileTheServersMemoryStaysWithinAFewMebibytes() throws {
        let limit = 1 << 20
        let (server, port) = try makeDeflateServer { $0.maxMessageSize = limit }
        defer { server.shutdown() }
        let bomb = zipBomb(mebibytes: 1024)
        XCTAssertGreaterThan(bomb.count, limit)
        XCTAssertLessThanOrEqual(bomb.count, WebSocketLimits(maxMessageSize: limit).maxCompressedMessageSize)
        let frame = FrameEncoder.frame(opcode: .binary, reservedBits: .rsv1, payload: bomb, maskKey: MaskKey(1, 2, 3, 4))
        // Warm up the inflate path (the loop's inflater, zlib's state) and the receive path with a small message.
        let client = try TestClient(port: port, path: "/echo", deflate: offer)
        client.sendCompressed(.text, Array(quotes(0).utf8), with: MessageDeflater())
        XCTAssertEqual(client.receiveFrame(), .text(quotes(0)))

        let before = status("VmRSS")
        try "5".write(toProcFile: "/proc/self/clear_refs")  // the peak (VmHWM) starts again from now
        client.send(frame)
        guard case .close(let code, let reason) = client.receiveFrame() else { return XCTFail("expected a close frame") }
        XCTAssertEqual(code, 1009, reason)
        let peak = status("VmHWM")
        let grew = peak - before
        print("zip bomb: RSS \(before) KiB before, peak \(peak) KiB (+\(grew) KiB) while refusing it, \(status("VmRSS")) KiB after")
        XCTAssertLessThan(grew * 1024, limit + limit / 2 + bomb.count + (1 << 20), "peak growth \(grew) KiB")
        XCTAssertLessThan(grew * 1024, 16 << 20, "nowhere near the 1 GiB it inflates to")

        // The loop's inflater serves the next client.
        let next = try TestClient(port: port, path: "/echo", deflate: offer)
        next.sendCompressed(.text, Array(quotes(1).utf8), with: MessageDeflater())
        XCTAssertEqual(next.receiveFrame(), .text(quotes(1)))
    }
}

private extension BroadcastMessage {
    init(_ frame: TestClient.Frame) {
        switch frame {
        case .text(let text): self.init(text: text)
        case .binary(let bytes): self.init(binary: bytes)
        default: fatalError("data messages only")
        }
    }
}

private extension String {
    /// A file under /proc, read whole (its size is not known up front).
    init(contentsOfProcFile path: String) throws {
        guard let file = fopen(path, "r") else { throw SystemError("fopen \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        self = String(decoding: bytes, as: UTF8.self)
    }

    func write(toProcFile path: String) throws {
        guard let file = fopen(path, "w") else { throw SystemError("fopen \(path)") }
        defer { fclose(file) }
        guard fputs(self, file) >= 0 else { throw SystemError("write \(path)") }
    }
}
