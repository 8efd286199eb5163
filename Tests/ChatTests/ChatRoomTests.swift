import Chat
import ChatStore
import Events
import TestSupport
import XCTest

/// The chat room through the events protocol: names, where a message goes,
/// who is told of whom, and what a user gets on entering.
final class ChatRoomTests: StoredChatTestCase {
    func testTheFirstMessageIsTheNameAndATakenOneIsRefused() throws {
        let first = try ChatClient(port: chat.port)
        XCTAssertEqual(try first.event("welcome")[0]["keyRefused"], false)
        XCTAssertTrue(try first.event("system")[0].string?.contains("your first message is your name") == true)
        let reply = try first.say("  alice ")
        XCTAssertEqual(reply["name"], "alice", "the name is the message, trimmed")
        let history = try first.awaitEntered()
        XCTAssertEqual(first.me["name"], "alice")
        XCTAssertEqual(first.me["online"], ["alice"])
        XCTAssertTrue(SignInKeyFormat.matches(first.key), "no sign-in key: \(first.me)")
        XCTAssertEqual(history, [])

        let second = try ChatClient(port: chat.port)
        let taken = try second.say("ALICE")
        XCTAssertEqual(taken.refusal, "The name ALICE is taken. Please pick another.")
        try second.awaitSystem("The name ALICE is taken. Please pick another.")
        for (name, reason) in [("a b", "a name cannot contain spaces or control characters"), ("@bob", "a name cannot start with @"),
                               (String(repeating: "n", count: 33), "a name has at most 32 characters"), ("   ", "a name cannot be empty: type the name you want")] {
            XCTAssertEqual(try second.say(name).refusal, reason, name)
        }
        XCTAssertEqual(try second.say("bob")["name"], "bob")
        try second.awaitEntered()
        XCTAssertEqual(second.me["online"], ["alice", "bob"])
        XCTAssertEqual(try first.event("joined"), ["bob"])
        XCTAssertEqual(try second.say("hello")["ids"]?.array?.count, 1, "after the name, a message is a message")
    }

    func testAMessageGoesToTheSendersRoomsOrToEveryone() throws {
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let bob = try ChatClient.entering(chat.port, as: "bob")
        let carol = try ChatClient.entering(chat.port, as: "carol", rooms: ["Red"])
        XCTAssertEqual(try alice.request("join", ["Red"])["rooms"], ["Red"])
        XCTAssertEqual(try alice.request("join", ["Green"])["rooms"], ["Red", "Green"])

        let ids = try XCTUnwrap(alice.say("to my rooms")["ids"]?.array)
        XCTAssertEqual(ids.count, 2, "one stored message per room")
        let inRed = try carol.message()
        XCTAssertEqual(inRed["room"], "Red")
        XCTAssertEqual(inRed["from"], "alice")
        XCTAssertEqual(inRed["text"], "to my rooms")
        XCTAssertEqual(inRed["id"], ids[0])
        XCTAssertEqual(Set(try [alice.message(), alice.message()].map { $0["room"] }), ["Red", "Green"], "a member of both gets it in each")

        try bob.say("from no room")  // bob is in none: everyone, those in rooms too
        XCTAssertEqual(try bob.messages(through: "from no room"), ["from no room"], "bob got alice's room message")
        XCTAssertEqual(try carol.message()["room"], .null)
        XCTAssertEqual(try alice.message()["text"], "from no room")

        XCTAssertEqual(try alice.request("leave", ["Red"])["rooms"], ["Green"])
        try alice.say("green only")
        try bob.say("sentinel")
        XCTAssertEqual(try carol.messages(through: "sentinel"), ["sentinel"], "carol, in Red only, got a Green message")
    }

    func testAtNameIsPrivateAndAnAbsentNameIsNotOnline() throws {
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let bob = try ChatClient.entering(chat.port, as: "bob")
        let carol = try ChatClient.entering(chat.port, as: "carol", rooms: ["Red"])
        let reply = try bob.say("@ALICE  psst, alice")
        XCTAssertEqual(reply["ids"]?.array?.count, 1)
        let received = try alice.message()
        XCTAssertEqual(received["to"], "alice", "the recipient's name as stored")
        XCTAssertEqual(received["from"], "bob")
        XCTAssertEqual(received["text"], "psst, alice")
        XCTAssertEqual(received["room"], .null)
        XCTAssertEqual(try bob.message(), received, "the sender sees it, marked private by its recipient")

        XCTAssertEqual(try bob.say("@dave hello").refusal, "dave is not online.")
        try bob.awaitSystem("dave is not online.")
        XCTAssertEqual(try bob.say("@alice").refusal, "Write something after @alice.")
        try bob.say("sentinel")
        XCTAssertEqual(try carol.messages(through: "sentinel"), ["sentinel"], "carol saw a private message")
    }

    func testEveryoneElseIsToldWhoJoinedAndLeftOncePerUser() throws {
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let bob = try ChatClient.entering(chat.port, as: "bob")
        XCTAssertEqual(try alice.event("joined"), ["bob"])
        let bobsSecondTab = try ChatClient(port: chat.port, key: bob.key)
        try bobsSecondTab.awaitEntered()
        XCTAssertEqual(bobsSecondTab.me["name"], "bob")
        XCTAssertNil(bobsSecondTab.me["key"], "a key is handed out once, when the name is taken")
        bob.close()  // bob still has a tab: nobody is told
        usleep(200_000)
        try alice.say("sentinel")
        XCTAssertEqual(try alice.messages(through: "sentinel"), ["sentinel"])
        XCTAssertFalse(alice.holds("left"), "bob left while a tab of his was open")
        bobsSecondTab.close()
        XCTAssertEqual(try alice.event("left"), ["bob"])
        let carol = try ChatClient.entering(chat.port, as: "carol")
        XCTAssertEqual(carol.me["online"], ["alice", "carol"])
        XCTAssertEqual(try alice.event("joined"), ["carol"])
    }

    func testEnteringShowsTheNewestMessagesTheUserMaySeeOldestFirst() throws {
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let bob = try ChatClient.entering(chat.port, as: "bob", rooms: ["Red"])
        for index in 1...22 { try alice.say("public \(index)") }
        try bob.say("red 1")
        try bob.say("@alice private 1")
        try bob.say("@bob note to self")

        let dave = try ChatClient(port: chat.port)
        try dave.say("dave")
        let daves = try dave.awaitEntered().map { $0["text"]?.string ?? "" }
        XCTAssertEqual(daves, (3...22).map { "public \($0)" }, "dave sees public messages only, the newest 20")

        let aliceAgain = try ChatClient(port: chat.port, key: alice.key, rooms: ["Red"])
        let alices = try aliceAgain.awaitEntered().map { $0["text"]?.string ?? "" }
        XCTAssertEqual(alices, (5...22).map { "public \($0)" } + ["red 1", "private 1"])
        XCTAssertEqual(aliceAgain.me["rooms"], ["Red"], "the rooms the page says it was in")
    }

    func testAKeyThatDoesNotSignInIsForgottenNotRefused() throws {
        for key in ["1.00000000000000000000000000000000", "garbage", "999.0123456789abcdef0123456789abcdef"] {
            let client = try ChatClient(port: chat.port, key: key)
            XCTAssertEqual(try client.event("welcome")[0]["keyRefused"], true, key)
            XCTAssertEqual(try client.say("someone\(key.count)")["name"]?.string, "someone\(key.count)", "the connection starts nameless")
        }
    }
}

/// The sign-in key's shape: `ID.` and 32 hexadecimal digits.
enum SignInKeyFormat {
    static func matches(_ key: String) -> Bool {
        let parts = key.split(separator: ".")
        return parts.count == 2 && Int(parts[0]) != nil && parts[1].count == 32 && parts[1].allSatisfy(\.isHexDigit)
    }
}
