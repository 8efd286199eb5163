import Broadcast
import Reactor
@testable import RedisRooms
import XCTest

/// The message format rooms keep in Redis (README, "Rooms across nodes").
final class RoomMessageCodecTests: XCTestCase {
    private let sender = SubscriberID(loop: 1, connection: ConnectionID(slot: 42, generation: 7))

    func testAPlainTextMessageReadsAsTheREADMEShowsIt() {
        let encoded = RoomMessageCodec.encode(BroadcastMessage(text: "hello"), exclusion: Exclusion(), origin: "a")
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), "f2 a t - - - -\nhello")
    }

    func testEverythingRoundTripsOnTheNodeThatPublished() throws {
        let message = BroadcastMessage(binary: [0, 10, 13, 32, 255], name: "tick tock,\n%", key: "AAPL %", isVolatile: true)
        let exclusion = Exclusion(subscriber: sender, membersOf: ["red room", "a,b", "-", ""])
        let encoded = RoomMessageCodec.encode(message, exclusion: exclusion, origin: "eu-1")
        let decoded = try XCTUnwrap(RoomMessageCodec.decode(encoded[...], localNode: "eu-1"))
        XCTAssertEqual(decoded.message.opcode, .binary)
        XCTAssertEqual(decoded.message.payload, [0, 10, 13, 32, 255])
        XCTAssertEqual(decoded.message.name, "tick tock,\n%")
        XCTAssertEqual(decoded.message.key, "AAPL %", "conflation on every node goes by the same key")
        XCTAssertTrue(decoded.message.isVolatile)
        XCTAssertEqual(decoded.exclusion, exclusion)
        let header = String(decoding: encoded.prefix { $0 != 10 }, as: UTF8.self)
        XCTAssertEqual(header, "f2 eu-1 bv 1.42.7 =tick%20tock%2C%0A%25 =red%20room,a%2Cb,-, =AAPL%20%25")
    }

    /// A node not yet upgraded still writes f1: read without key or volatility.
    func testTheFormerFormatIsStillRead() throws {
        let decoded = try XCTUnwrap(RoomMessageCodec.decode(Array("f1 a t - =tick -\nhello".utf8)[...], localNode: "b"))
        XCTAssertEqual(decoded.message.payload, Array("hello".utf8))
        XCTAssertEqual(decoded.message.name, "tick")
        XCTAssertNil(decoded.message.key)
        XCTAssertFalse(decoded.message.isVolatile)
    }

    /// A subscriber id means something on its own node only: another node drops it, keeps the rooms.
    func testAnotherNodeKeepsTheRoomsButNotTheSubscriber() throws {
        let encoded = RoomMessageCodec.encode(BroadcastMessage(text: "x"), exclusion: Exclusion(subscriber: sender, membersOf: ["muted"]),
                                              origin: "a")
        let decoded = try XCTUnwrap(RoomMessageCodec.decode(encoded[...], localNode: "b"))
        XCTAssertNil(decoded.exclusion.subscriber)
        XCTAssertEqual(decoded.exclusion.membersOf, ["muted"])
    }

    func testThePublishedFormCarriesTheSequence() throws {
        let published = Array("1234 ".utf8) + RoomMessageCodec.encode(BroadcastMessage(text: "a b\nc"), exclusion: Exclusion(), origin: "n")
        let decoded = try XCTUnwrap(RoomMessageCodec.decodePublished(published, localNode: "n"))
        XCTAssertEqual(decoded.sequence, 1234)
        XCTAssertEqual(decoded.message.payload, Array("a b\nc".utf8), "the payload is kept byte for byte, newlines and all")
        XCTAssertEqual(RoomMessageCodec.sequence(ofEntry: "1234-0"), 1234)
        XCTAssertNil(RoomMessageCodec.sequence(ofEntry: "1234-1"))
    }

    func testWhatIsNotThisFormatIsRefused() {
        for text in ["", "hello", "f3 a t - - - -\nx", "f2 a t - - -\nx", "f1 a t - - - -\nx", "f1 a tv - - -\nx", "f2 a tx - - - -\nx",
                     "f2 a t - - - KEY\nx", "f1 a t - -\nx", "f1 a q - - -\nx", "f1 a t 1.2 - -\nx", "f1 a t - name -\nx",
                     "f1 a t - =%G0 -\nx", "f1 a t - - -"] {
            XCTAssertNil(RoomMessageCodec.decode(Array(text.utf8)[...], localNode: "a"), text)
        }
        XCTAssertNil(RoomMessageCodec.decode((Array("f1 a t - - -\n".utf8) + [0xFF])[...], localNode: "a"), "text that is not UTF-8")
        XCTAssertNil(RoomMessageCodec.decodePublished(Array("x f1 a t - - -\nx".utf8), localNode: "a"))
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
