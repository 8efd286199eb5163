import Chat
import ChatStore
import Events
import TestSupport
import XCTest

/// Storage as the chat uses it: stored before delivered, kept over a
/// restart, and a run with storage off that speaks the same protocol.
final class ChatStorageTests: XCTestCase {
    func testADeliveredMessageIsAlreadyStored() async throws {
        let scratch = ScratchDirectory()
        let chat = try ChatTestServer(storage: try ChatStore(path: scratch.file("chat.db")))
        defer {
            chat.stop()
            chat.storage.close()
        }
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let bob = try ChatClient.entering(chat.port, as: "bob")
        for index in 1...20 {
            let ack = try alice.say("m\(index)")
            let delivered = try bob.message()
            XCTAssertEqual(ack["ids"], [delivered["id"]!], "the acknowledgement carries the delivered message's id")
            // Read on the store's second connection: a delivery comes after the COMMIT.
            let stored = try await chat.storage.roomHistory(for: "carol", rooms: [], limit: 1)
            XCTAssertEqual(stored.last?.id, Int64(try XCTUnwrap(delivered["id"]?.int)), "delivered before it was stored")
            XCTAssertEqual(stored.last?.text, "m\(index)")
        }
    }

    func testTheSameFileAfterARestartHasTheUsersAndTheHistory() throws {
        let scratch = ScratchDirectory()
        var chat = try ChatTestServer(storage: try ChatStore(path: scratch.file("chat.db")))
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let bob = try ChatClient.entering(chat.port, as: "bob")
        try alice.say("before the restart")
        XCTAssertNotNil(try alice.say("@bob only for bob")["ids"])
        XCTAssertNotNil(try alice.request("befriend", ["bob"])["friend"])
        alice.close()
        bob.close()
        chat.stop()
        chat.storage.close()

        chat = try ChatTestServer(storage: try ChatStore(path: scratch.file("chat.db")))
        defer {
            chat.stop()
            chat.storage.close()
        }
        let aliceAgain = try ChatClient(port: chat.port, key: alice.key)
        let history = try aliceAgain.awaitEntered()
        XCTAssertEqual(aliceAgain.me["name"], "alice")
        XCTAssertEqual(history.map { $0["text"] }, ["before the restart", "only for bob"])
        XCTAssertEqual(try aliceAgain.request("friends")["friends"]?[0]?["name"], "bob")
        let impostor = try ChatClient(port: chat.port)
        XCTAssertEqual(try impostor.say("alice").refusal, "The name alice is taken. Please pick another.")
    }

    func testWithStorageOffTheChatWorksAndKeepsNothing() throws {
        let chat = try ChatTestServer(storage: MemoryStorage())
        defer { chat.stop() }
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let bob = try ChatClient.entering(chat.port, as: "bob")
        let ids = [try alice.say("one"), try alice.say("two")].compactMap { $0["ids"]?[0]?.int }
        XCTAssertEqual(ids.count, 2)
        XCTAssertLessThan(ids[0], ids[1], "ids still increase")
        XCTAssertEqual(try bob.messages(through: "two"), ["one", "two"])
        let carol = try ChatClient(port: chat.port)
        try carol.say("carol")
        XCTAssertEqual(try carol.awaitEntered(), [], "storage off: no history")
        XCTAssertNotNil(try carol.request("befriend", ["alice"])["friend"], "users and friendships live in memory")
        XCTAssertEqual(try ChatClient(port: chat.port).say("ALICE").refusal, "The name ALICE is taken. Please pick another.")
    }

    func testNamesAndTextsAreDataNotMarkup() throws {
        let chat = try ChatTestServer(storage: MemoryStorage())
        defer { chat.stop() }
        let name = "<img/src=x/onerror=alert(1)>"
        let text = "<script>alert(\"x\")</script> & </div>"
        let mallory = try ChatClient.entering(chat.port, as: name)
        let alice = try ChatClient.entering(chat.port, as: "alice")
        try mallory.say(text)
        let message = try alice.message()
        XCTAssertEqual(message["from"]?.string, name, "a name travels as it was typed")
        XCTAssertEqual(message["text"]?.string, text, "a text travels as it was typed")
    }
}
