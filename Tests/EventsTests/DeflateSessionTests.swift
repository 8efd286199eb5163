import Events
import EventsTestSupport
import PushServer
import TestSupport
import WebSocketCodec
import XCTest

/// An events session over a WebSocket that agreed to permessage-deflate (as every browser's
/// does): what is sent to the session alone is compressed, room packets stay plain frames (the
/// sessions' own format), and both arrive intact beside a session without the extension.
final class DeflateSessionTests: XCTestCase {
    func testASessionOverADeflateWebSocketGetsAcksCompressedAndRoomPacketsIntact() throws {
        let (server, io, port) = try makeEventServer(server: { $0.deflate = PerMessageDeflate.ServerPolicy() })
        defer { server.shutdown() }
        io.onConnection { socket in
            socket.join("feed")
            socket.on("echo") { arguments, ack in ack.reply(arguments) }
            socket.on("publish") { arguments, _ in io.to("feed").emit("message", arguments: arguments) }
        }
        let compressed = try EventsClient(port: port, transport: .webSocket, deflate: PerMessageDeflate.ClientOffer())
        let plain = try EventsClient(port: port, transport: .webSocket)
        XCTAssertNotNil(compressed.deflate)
        XCTAssertNil(plain.deflate)
        for client in [compressed, plain] { XCTAssertEqual(try client.connect()["type"], "connect") }

        let quote = JSON.string(String(repeating: #"{"s":"AAPL","b":189.25,"a":189.27}"#, count: 40))
        try compressed.emit("echo", [quote, 7], ack: 1)
        XCTAssertEqual(try compressed.next("ack")["args"], [quote, 7])
        XCTAssertTrue(compressed.lastPacketWasCompressed, "a 1.4 KB acknowledgement goes compressed")
        try plain.emit("echo", [quote], ack: 2)
        XCTAssertEqual(try plain.next("ack")["args"], [quote])
        XCTAssertFalse(plain.lastPacketWasCompressed)

        for (index, sender) in [compressed, plain].enumerated() {
            try sender.emit("publish", [quote, .number(Double(index))])
            for client in [compressed, plain] {
                let message = try client.skip(to: "event")
                XCTAssertEqual(message["event"], "message")
                XCTAssertEqual(message["args"], [quote, .number(Double(index))])
            }
        }
    }
}
