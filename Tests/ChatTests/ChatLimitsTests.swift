import Chat
import ChatStore
import Events
import TestSupport
import XCTest

/// What the chat refuses, and that it says why: floods, long texts, too many rooms.
final class ChatLimitsTests: XCTestCase {
    func testAFloodIsRefusedWithTheReasonAndTheBucketRefills() throws {
        let chat = try ChatTestServer(storage: MemoryStorage()) { $0.floodRate = 2; $0.floodBurst = 3 }
        defer { chat.stop() }
        let alice = try ChatClient(port: chat.port)
        XCTAssertEqual(try alice.say("alice")["name"], "alice")  // the name counts too
        try alice.awaitEntered()
        XCTAssertNotNil(try alice.say("one")["ids"])
        XCTAssertNotNil(try alice.say("two")["ids"])
        let refused = try alice.say("three")
        let reason = "You are sending too fast: at most 2 messages a second, 3 at once. Wait a moment; this one was not sent."
        XCTAssertEqual(refused.refusal, reason)
        try alice.awaitSystem(reason)  // the chat room shows the reason
        XCTAssertEqual(try alice.request("join", ["Red"]).refusal, reason, "every event counts")
        usleep(600_000)  // one token back
        XCTAssertNotNil(try alice.say("four")["ids"])
        XCTAssertNotNil(try alice.say("five").refusal)
    }

    func testLengthsAndRoomsHaveLimits() throws {
        let chat = try ChatTestServer(storage: MemoryStorage()) { $0.maxMessageLength = 10; $0.maxRooms = 2 }
        defer { chat.stop() }
        let alice = try ChatClient.entering(chat.port, as: "alice")
        XCTAssertNotNil(try alice.say("ten chars!")["ids"])
        XCTAssertEqual(try alice.say("eleven chars").refusal, "a message has at most 10 characters (this one has 12)")
        XCTAssertNotNil(try alice.say("ünïcödé 🦊")["ids"], "characters, not bytes")
        XCTAssertEqual(try alice.say("bell\u{7}").refusal, "a message cannot contain control characters")
        XCTAssertEqual(try alice.request("join", [.string(String(repeating: "r", count: 33))]).refusal, "a room name has at most 32 characters")
        XCTAssertEqual(try alice.request("join", [""]).refusal, "a room name cannot be empty")
        XCTAssertEqual(try alice.request("join", ["Red"])["rooms"], ["Red"])
        XCTAssertEqual(try alice.request("join", ["Red"])["rooms"], ["Red"], "joining twice is joining once")
        XCTAssertEqual(try alice.request("join", ["Green"])["rooms"], ["Red", "Green"])
        XCTAssertEqual(try alice.request("join", ["Blue"]).refusal, "You are in 2 rooms, the most there may be: leave one first.")
        XCTAssertEqual(try alice.request("leave", ["Blue"])["rooms"], ["Red", "Green"], "leaving a room one is not in changes nothing")
    }
}
