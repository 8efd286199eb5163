import ChatStore
import XCTest

/// Friend chat: users by unique name, friendships stored once, messages only
/// between friends, conversations newest first in pages.
final class FriendChatTests: StoreTestCase {
    func testUsersByNameAndByID() async throws {
        let alice = try await store.createUser(named: "alice")
        let bob = try await store.createUser(named: "Bob")
        XCTAssertLessThan(alice.id, bob.id)
        let byName = try await store.user(named: "alice")
        XCTAssertEqual(byName, alice)
        let byOtherCase = try await store.user(named: "BOB")
        XCTAssertEqual(byOtherCase, bob, "names are unique regardless of ASCII case")
        let byID = try await store.user(id: bob.id)
        XCTAssertEqual(byID, bob)
        let nobody = try await store.user(named: "carol")
        XCTAssertNil(nobody)
        let noID = try await store.user(id: 999)
        XCTAssertNil(noID)
    }

    func testATakenNameIsRefused() async throws {
        _ = try await store.createUser(named: "alice")
        for name in ["alice", "ALICE"] {
            do {
                _ = try await store.createUser(named: name)
                XCTFail("\(name) was created twice")
            } catch {
                XCTAssertEqual(error, .nameTaken(name))
            }
        }
        do {
            _ = try await store.createUser(named: "")
            XCTFail("an empty name was accepted")
        } catch {
            XCTAssertEqual(error, .invalidArgument("a user name cannot be empty"))
        }
    }

    func testAFriendshipIsStoredOnceWhicheverWayRound() async throws {
        let alice = try await store.createUser(named: "alice")
        let bob = try await store.createUser(named: "bob")
        let carol = try await store.createUser(named: "carol")
        let friendship = try await store.addFriendship(bob.id, alice.id)
        XCTAssertEqual(friendship.first, alice.id)
        XCTAssertEqual(friendship.second, bob.id)
        let again = try await store.addFriendship(alice.id, bob.id)
        XCTAssertEqual(again, friendship)
        let ab = try await store.areFriends(alice.id, bob.id)
        let ba = try await store.areFriends(bob.id, alice.id)
        let ac = try await store.areFriends(alice.id, carol.id)
        XCTAssertTrue(ab)
        XCTAssertTrue(ba)
        XCTAssertFalse(ac)
        _ = try await store.addFriendship(carol.id, alice.id)
        let friendsOfAlice = try await store.friends(of: alice.id)
        XCTAssertEqual(friendsOfAlice, [bob, carol])
        let friendsOfBob = try await store.friends(of: bob.id)
        XCTAssertEqual(friendsOfBob, [alice])
    }

    func testBadFriendshipsAreRefused() async throws {
        let alice = try await store.createUser(named: "alice")
        await assertFails(.invalidArgument("a user cannot be their own friend")) { try await self.store.addFriendship(alice.id, alice.id) }
        await assertFails(.unknownUser(42)) { try await self.store.addFriendship(alice.id, 42) }
    }

    func testAMessageToANonFriendIsRefusedAndNotStored() async throws {
        let alice = try await store.createUser(named: "alice")
        let bob = try await store.createUser(named: "bob")
        await assertFails(.notFriends(alice.id, bob.id)) {
            try await self.store.appendFriendMessage(from: alice.id, to: bob.id, content: "hi", kind: .text)
        }
        await assertFails(.notFriends(alice.id, bob.id)) { try await self.store.conversation(between: alice.id, and: bob.id) }
        _ = try await store.addFriendship(alice.id, bob.id)
        let page = try await store.conversation(between: alice.id, and: bob.id)
        XCTAssertEqual(page.messages, [], "the refused message was stored")
        XCTAssertNil(page.nextBefore)
    }

    func testFriendMessagesRoundTrip() async throws {
        let alice = try await store.createUser(named: "alice")
        let bob = try await store.createUser(named: "bob")
        let friendship = try await store.addFriendship(alice.id, bob.id)
        var sent: [FriendMessage] = []
        for kind in MessageKind.allCases {
            sent.append(try await store.appendFriendMessage(from: alice.id, to: bob.id, content: "a \(kind)", kind: kind))
            sent.append(try await store.appendFriendMessage(from: bob.id, to: alice.id, content: "<b>\(kind)</b>", kind: kind))
        }
        XCTAssertEqual(Set(sent.map(\.friendship)), [friendship.id])
        let page = try await store.conversation(between: bob.id, and: alice.id)
        XCTAssertEqual(page.messages, sent.reversed(), "newest first, as stored")
        XCTAssertNil(page.nextBefore)
    }

    func testConversationPagesNewestFirst() async throws {
        let alice = try await store.createUser(named: "alice")
        let bob = try await store.createUser(named: "bob")
        let carol = try await store.createUser(named: "carol")
        _ = try await store.addFriendship(alice.id, bob.id)
        _ = try await store.addFriendship(alice.id, carol.id)
        var ids: [Int64] = []
        for index in 0..<25 {
            ids.append(try await store.appendFriendMessage(from: index % 2 == 0 ? alice.id : bob.id, to: index % 2 == 0 ? bob.id : alice.id,
                                                           content: "\(index)", kind: .text).id)
            // Another conversation in between, which must not show.
            _ = try await store.appendFriendMessage(from: carol.id, to: alice.id, content: "other \(index)", kind: .text)
        }
        var pages: [[Int64]] = []
        var before: Int64? = nil
        repeat {
            let page = try await store.conversation(between: alice.id, and: bob.id, before: before, limit: 10)
            pages.append(page.messages.map(\.id))
            before = page.nextBefore
            XCTAssertLessThanOrEqual(pages.count, 3, "paging does not end")
        } while before != nil && pages.count <= 3
        XCTAssertEqual(pages.map(\.count), [10, 10, 5])
        XCTAssertEqual(pages.flatMap { $0 }, ids.reversed())
        let exact = try await store.conversation(between: alice.id, and: bob.id, before: ids[5], limit: 5)
        XCTAssertEqual(exact.messages.map(\.id), ids[0..<5].reversed())
        XCTAssertNil(exact.nextBefore, "an exactly full last page has no next")
    }

    private func assertFails<Value>(_ expected: ChatStoreError, _ body: () async throws -> Value,
                                    file: StaticString = #filePath, line: UInt = #line) async {
        do {
            _ = try await body()
            XCTFail("succeeded; expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error as? ChatStoreError, expected, file: file, line: line)
        }
    }
}
