import Chat
import ChatStore
import Events
import TestSupport
import XCTest

/// Friend chat through the events protocol: friendships, messages to every
/// connection of the recipient and the sender's other tabs, refusals,
/// conversations in pages.
final class FriendChatTests: StoredChatTestCase {
    func testAMessageReachesEveryTabOfBothFriendsButTheSendingOne() throws {
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let alicesOtherTab = try ChatClient(port: chat.port, key: alice.key)
        try alicesOtherTab.awaitEntered()
        let bob = try ChatClient.entering(chat.port, as: "bob")
        let bobsOtherTab = try ChatClient(port: chat.port, key: bob.key)
        try bobsOtherTab.awaitEntered()
        let carol = try ChatClient.entering(chat.port, as: "carol")

        let refused = try alice.request("friendMessage", [["to": JSON(bob.userID), "content": "hi", "type": "text"]])
        XCTAssertEqual(refused.refusal, "User \(bob.userID) is not your friend: befriend them first. The message was not sent.")

        let friend = try alice.request("befriend", ["BOB"])["friend"]
        XCTAssertEqual(friend?["id"]?.int, bob.userID)
        XCTAssertEqual(friend?["name"], "bob")
        XCTAssertEqual(friend?["online"], true)
        XCTAssertEqual(try bob.event("friend")[0]["name"], "alice")
        XCTAssertEqual(try bobsOtherTab.event("friend")[0]["name"], "alice")
        XCTAssertEqual(try alicesOtherTab.event("friend")[0]["name"], "bob")
        XCTAssertEqual(try bob.request("friends")["friends"], [["id": JSON(alice.userID), "name": "alice", "online": true]])

        let sent = try XCTUnwrap(alice.request("friendMessage", [["to": JSON(bob.userID), "content": "🎉", "type": "emoji"]])["message"])
        XCTAssertEqual(sent["from"]?.int, alice.userID)
        XCTAssertEqual(sent["to"]?.int, bob.userID)
        XCTAssertEqual(sent["type"], "emoji")
        XCTAssertEqual(sent["content"], "🎉")
        XCTAssertNotNil(sent["friend"]?.int)
        for tab in [bob, bobsOtherTab, alicesOtherTab] {
            XCTAssertEqual(try tab.event("friendMessage"), [sent])
        }
        let reply = try bob.request("friendMessage", [["to": JSON(alice.userID), "content": "thanks"]])
        XCTAssertEqual(reply["message"]?["type"], "text", "text is the default type")
        XCTAssertEqual(try alice.event("friendMessage")[0]["content"], "thanks")
        XCTAssertFalse(alice.holds("friendMessage"), "the sending tab got its own message as an event too")
        XCTAssertFalse(carol.holds("friendMessage") || carol.holds("friend"))
        XCTAssertEqual(try carol.request("conversation", [["with": JSON(alice.userID)]]).refusal, "User \(alice.userID) is not your friend.")
    }

    func testAConversationIsNewestFirstInPages() throws {
        let alice = try ChatClient.entering(chat.port, as: "alice")
        let bob = try ChatClient.entering(chat.port, as: "bob")
        XCTAssertNotNil(try alice.request("befriend", ["bob"])["friend"])
        XCTAssertNotNil(try bob.request("befriend", ["alice"])["friend"], "befriending again returns the friendship")
        var ids: [Int] = []
        for index in 1...5 {
            let sender = index % 2 == 0 ? bob : alice, recipient = index % 2 == 0 ? alice : bob
            let message = try sender.request("friendMessage", [["to": JSON(recipient.userID), "content": JSON("m\(index)"), "type": "text"]])
            ids.append(try XCTUnwrap(message["message"]?["id"]?.int))
        }
        let first = try bob.request("conversation", [["with": JSON(alice.userID), "limit": 2]])
        XCTAssertEqual(first["messages"]?.array?.map { $0["content"] }, ["m5", "m4"])
        XCTAssertEqual(first["nextBefore"]?.int, ids[3])
        let second = try bob.request("conversation", [["with": JSON(alice.userID), "limit": 2, "before": first["nextBefore"]!]])
        XCTAssertEqual(second["messages"]?.array?.map { $0["content"] }, ["m3", "m2"])
        let last = try bob.request("conversation", [["with": JSON(alice.userID), "limit": 2, "before": second["nextBefore"]!]])
        XCTAssertEqual(last["messages"]?.array?.map { $0["content"] }, ["m1"])
        XCTAssertEqual(last["nextBefore"], .null)
    }

    func testRefusalsSayWhy() throws {
        let alice = try ChatClient.entering(chat.port, as: "alice")
        _ = try ChatClient.entering(chat.port, as: "bob")
        XCTAssertEqual(try alice.request("befriend", ["nobody"]).refusal, "Nobody is named nobody.")
        XCTAssertEqual(try alice.request("befriend", ["Alice"]).refusal, "You cannot befriend yourself.")
        let bobID = try XCTUnwrap(alice.request("befriend", ["bob"])["friend"]?["id"])
        XCTAssertEqual(try alice.request("friendMessage", [["to": bobID, "content": "x", "type": "video"]]).refusal,
                       "a message's type is text, emoji or file")
        XCTAssertEqual(try alice.request("friendMessage", [["to": bobID, "content": " "]]).refusal, "a message cannot be empty")
        XCTAssertEqual(try alice.request("friendMessage", [["content": "x"]]).refusal,
                       "friendMessage takes {to: a user id, content: text, type: text|emoji|file}")
        let nameless = try ChatClient(port: chat.port)
        XCTAssertEqual(try nameless.request("friends").refusal, "Take a name first: your first chat message is your name.")
    }
}
