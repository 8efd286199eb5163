import Broadcast
import Reactor
@testable import RedisRooms
import XCTest

/// The message format rooms keep in Redis (README, "Rooms across nodes").
final class RoomMessageCodecTests: XCTestCase {
    private let sender = SubscriberID(loop: 1, connection: ConnectionID(slot: 42, generation: 7))
    /// Node eu-1 as it runs now (boot 1,000,000: `lfls` in base 36).
    private let eu1 = RoomMessageCodec.Process(node: "eu-1", boot: 1_000_000)

    func testAPlainTextMessageReadsAsTheREADMEShowsIt() {
        let encoded = RoomMessageCodec.encode(BroadcastMessage(text: "hello"), exclusion: Exclusion(), writer: .init(node: "a", boot: 1))
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), "f3 a t - - - -\nhello")
    }

    func testEverythingRoundTripsInTheProcessThatPublished() throws {
        let message = BroadcastMessage(binary: [0, 10, 13, 32, 255], name: "tick tock,\n%", key: "AAPL %", isVolatile: true)
        let exclusion = Exclusion(subscriber: sender, membersOf: ["red room", "a,b", "-", ""])
        let encoded = RoomMessageCodec.encode(message, exclusion: exclusion, writer: eu1)
        let decoded = try XCTUnwrap(RoomMessageCodec.decode(encoded[...], reader: eu1))
        XCTAssertEqual(decoded.message.opcode, .binary)
        XCTAssertEqual(decoded.message.payload, [0, 10, 13, 32, 255])
        XCTAssertEqual(decoded.message.name, "tick tock,\n%")
        XCTAssertEqual(decoded.message.key, "AAPL %", "conflation on every node goes by the same key")
        XCTAssertTrue(decoded.message.isVolatile)
        XCTAssertEqual(decoded.exclusion, exclusion)
        let header = String(decoding: encoded.prefix { $0 != 10 }, as: UTF8.self)
        XCTAssertEqual(header, "f3 eu-1 bv lfls.1.42.7 =tick%20tock%2C%0A%25 =red%20room,a%2Cb,-, =AAPL%20%25")
    }

    /// Entries written before this format are read: f1 without key or volatility, and the
    /// subscriber either names left out, never applied (it was another process's).
    func testTheFormerFormatsAreStillRead() throws {
        let f1 = try XCTUnwrap(RoomMessageCodec.decode(Array("f1 eu-1 t 1.42.7 =tick -\nhello".utf8)[...], reader: eu1))
        XCTAssertEqual(f1.message.payload, Array("hello".utf8))
        XCTAssertEqual(f1.message.name, "tick")
        XCTAssertNil(f1.message.key)
        XCTAssertFalse(f1.message.isVolatile)
        XCTAssertEqual(f1.exclusion, Exclusion())
        let f2 = try XCTUnwrap(RoomMessageCodec.decode(Array("f2 eu-1 tv 1.42.7 - =muted =AAPL\nhello".utf8)[...], reader: eu1))
        XCTAssertEqual(f2.message.key, "AAPL")
        XCTAssertTrue(f2.message.isVolatile)
        XCTAssertEqual(f2.exclusion, Exclusion(membersOf: ["muted"]))
    }

    /// A subscriber id means something in its own process only: another node, and the same node
    /// after a restart, drop it and keep the rooms.
    func testAnotherProcessKeepsTheRoomsButNotTheSubscriber() throws {
        let encoded = RoomMessageCodec.encode(BroadcastMessage(text: "x"), exclusion: Exclusion(subscriber: sender, membersOf: ["muted"]),
                                              writer: eu1)
        for reader in [RoomMessageCodec.Process(node: "eu-2", boot: eu1.boot), RoomMessageCodec.Process(node: "eu-1", boot: 2)] {
            let decoded = try XCTUnwrap(RoomMessageCodec.decode(encoded[...], reader: reader))
            XCTAssertNil(decoded.exclusion.subscriber, "\(reader)")
            XCTAssertEqual(decoded.exclusion.membersOf, ["muted"])
        }
    }

    func testThePublishedFormCarriesTheSequence() throws {
        let published = Array("1234 ".utf8) + RoomMessageCodec.encode(BroadcastMessage(text: "a b\nc"), exclusion: Exclusion(), writer: eu1)
        let decoded = try XCTUnwrap(RoomMessageCodec.decodePublished(published, reader: eu1))
        XCTAssertEqual(decoded.sequence, 1234)
        XCTAssertEqual(decoded.message.payload, Array("a b\nc".utf8), "the payload is kept byte for byte, newlines and all")
        XCTAssertEqual(RoomMessageCodec.sequence(ofEntry: "1234-0"), 1234)
        XCTAssertNil(RoomMessageCodec.sequence(ofEntry: "1234-1"))
    }

    func testWhatIsNotThisFormatIsRefused() {
        for text in ["", "hello", "f4 a t - - - -\nx", "f3 a t - - -\nx", "f2 a t - - -\nx", "f1 a t - - - -\nx", "f1 a tv - - -\nx",
                     "f2 a tx - - - -\nx", "f2 a t - - - KEY\nx", "f1 a t - -\nx", "f1 a q - - -\nx", "f1 a t 1.2 - -\nx",
                     "f1 a t - name -\nx", "f1 a t - =%G0 -\nx", "f1 a t - - -", "f3 a t 1.42.7 - - -\nx", "f3 a t -1.1.42.7 - - -\nx",
                     "f3 a t ?.1.42.7 - - -\nx", "f2 a t lfls.1.42.7 - - -\nx"] {
            XCTAssertNil(RoomMessageCodec.decode(Array(text.utf8)[...], reader: eu1), text)
        }
        XCTAssertNil(RoomMessageCodec.decode((Array("f1 a t - - -\n".utf8) + [0xFF])[...], reader: eu1), "text that is not UTF-8")
        XCTAssertNil(RoomMessageCodec.decodePublished(Array("x f1 a t - - -\nx".utf8), reader: eu1))
    }

    func testKeysShareTheRoomsHashTag() {
        let keys = RedisRoomKeys(prefix: "fanout")
        XCTAssertEqual(keys.sequence("lobby"), "fanout:{lobby}:seq")
        XCTAssertEqual(keys.stream("lobby"), "fanout:{lobby}:log")
        XCTAssertEqual(keys.channel("lobby"), "fanout:{lobby}")
        XCTAssertEqual(keys.room(ofChannel: "fanout:{a}b}"), "a}b")
        XCTAssertNil(keys.room(ofChannel: "other:{a}"))
    }

    func testNodeIDs() throws {
        XCTAssertTrue(RedisRoomsConfiguration.isValid(nodeID: "eu-1.a_b"))
        XCTAssertFalse(RedisRoomsConfiguration.isValid(nodeID: "has space"))
        XCTAssertFalse(RedisRoomsConfiguration.isValid(nodeID: ""))
        XCTAssertFalse(RedisRoomsConfiguration.isValid(nodeID: String(repeating: "x", count: 65)))
        let generated = RedisRoomsConfiguration.generatedNodeID()
        XCTAssertTrue(RedisRoomsConfiguration.isValid(nodeID: generated))
        XCTAssertTrue(generated.hasPrefix("node-") && generated.count == 17, generated)
    }
}
