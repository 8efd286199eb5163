import ChatStore
import XCTest

/// The chat room's messages: what is stored comes back as it was, and each
/// user sees exactly the messages meant for them.
final class RoomChatTests: StoreTestCase {
    func testMessagesRoundTripByteForByte() async throws {
        let texts = ["hello", "", "<script>alert(1)</script> & \"quotes\"", "emoji 🦊 and ünïcode", "a\u{0}NUL inside", String(repeating: "long ", count: 5000)]
        var stored: [RoomMessage] = []
        for text in texts {
            stored.append(try await store.appendRoomMessage(from: "alice", room: nil, to: nil, text: text))
        }
        XCTAssertEqual(stored.map(\.text), texts)
        let history = try await store.roomHistory(for: "alice", rooms: [], limit: 20)
        XCTAssertEqual(history, stored, "history returns exactly what was acknowledged")
        XCTAssertEqual(history.map(\.text), texts)
    }

    func testAcknowledgementCarriesTheStoredRecord() async throws {
        let before = wallClock()
        let message = try await store.appendRoomMessage(from: "bob", room: "Red", to: nil, text: "in red")
        let after = wallClock()
        XCTAssertGreaterThan(message.id, 0)
        XCTAssertEqual(message.from, "bob")
        XCTAssertEqual(message.room, "Red")
        XCTAssertNil(message.to)
        XCTAssertTrue((before...after).contains(message.time), "time \(message.time) is not the store's wall clock in ms")
        let history = try await store.roomHistory(for: "bob", rooms: ["Red"])
        XCTAssertEqual(history, [message])
    }

    func testEachUserSeesPublicTheirRoomsAndTheirPrivateMessages() async throws {
        let everyone = try await store.appendRoomMessage(from: "carol", room: nil, to: nil, text: "hi all")
        let red = try await store.appendRoomMessage(from: "bob", room: "Red", to: nil, text: "red only")
        let green = try await store.appendRoomMessage(from: "carol", room: "Green", to: nil, text: "green only")
        let toAlice = try await store.appendRoomMessage(from: "bob", room: nil, to: "alice", text: "psst alice")
        let carolToBob = try await store.appendRoomMessage(from: "carol", room: nil, to: "bob", text: "psst bob")
        let aliceToCarol = try await store.appendRoomMessage(from: "alice", room: nil, to: "carol", text: "psst carol")

        let aliceInRed = try await store.roomHistory(for: "alice", rooms: ["Red"])
        XCTAssertEqual(aliceInRed, [everyone, red, toAlice, aliceToCarol])
        let aliceInNoRoom = try await store.roomHistory(for: "alice", rooms: [])
        XCTAssertEqual(aliceInNoRoom, [everyone, toAlice, aliceToCarol])
        let bobInBoth = try await store.roomHistory(for: "bob", rooms: ["Green", "Red", "Red"])
        XCTAssertEqual(bobInBoth, [everyone, red, green, toAlice, carolToBob])
        let stranger = try await store.roomHistory(for: "dave", rooms: ["Blue"])
        XCTAssertEqual(stranger, [everyone])
    }

    func testNamesMatchRegardlessOfASCIICase() async throws {
        let message = try await store.appendRoomMessage(from: "Bob", room: nil, to: "Alice", text: "case")
        let received = try await store.roomHistory(for: "alice", rooms: [])
        XCTAssertEqual(received, [message])
        let sent = try await store.roomHistory(for: "BOB", rooms: [])
        XCTAssertEqual(sent, [message])
    }

    func testAMessageToOneselfIsListedOnce() async throws {
        let note = try await store.appendRoomMessage(from: "alice", room: nil, to: "alice", text: "note to self")
        let history = try await store.roomHistory(for: "alice", rooms: [])
        XCTAssertEqual(history, [note])
    }

    func testHistoryIsTheNewestLimitOldestFirst() async throws {
        var ids: [Int64] = []
        for index in 0..<30 {
            // Interleave messages alice must not see, so the limit counts hers only.
            ids.append(try await store.appendRoomMessage(from: "bob", room: nil, to: nil, text: "\(index)").id)
            _ = try await store.appendRoomMessage(from: "bob", room: "Green", to: nil, text: "green \(index)")
            _ = try await store.appendRoomMessage(from: "bob", room: nil, to: "carol", text: "private \(index)")
        }
        let history = try await store.roomHistory(for: "alice", rooms: ["Red"])
        XCTAssertEqual(history.map(\.id), Array(ids.suffix(20)))
        XCTAssertEqual(history.map(\.text), (10..<30).map { "\($0)" })
        let five = try await store.roomHistory(for: "alice", rooms: [], limit: 5)
        XCTAssertEqual(five.map(\.id), Array(ids.suffix(5)))
    }

    func testHistoryRefusesABadLimitOrTooManyRooms() async throws {
        for limit in [0, -1, 1001] {
            do {
                _ = try await store.roomHistory(for: "alice", rooms: [], limit: limit)
                XCTFail("limit \(limit) accepted")
            } catch {
                XCTAssertEqual(error, .invalidArgument("limit must be 1 to 1000, not \(limit)"))
            }
        }
        do {
            _ = try await store.roomHistory(for: "alice", rooms: (0..<257).map { "room \($0)" })
            XCTFail("257 rooms accepted")
        } catch {
            XCTAssertEqual(error, .invalidArgument("at most 256 rooms, not 257"))
        }
    }

    private func wallClock() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

/// A message to several rooms is a row in each, stored together.
final class SeveralRoomsTests: StoreTestCase {
    func testOneMessageToSeveralRoomsIsARowInEach() async throws {
        let stored = try await store.appendRoomMessage(from: "alice", rooms: ["Red", "Green"], text: "to both")
        XCTAssertEqual(stored.map(\.room), ["Red", "Green"])
        XCTAssertEqual(stored.map(\.text), ["to both", "to both"])
        XCTAssertEqual(stored[1].id, stored[0].id + 1, "the rows are not consecutive")
        let inGreen = try await store.roomHistory(for: "bob", rooms: ["Green"])
        XCTAssertEqual(inGreen, [stored[1]])
        do {
            _ = try await store.appendRoomMessage(from: "alice", rooms: [], text: "to none")
            XCTFail("a message to no room was stored")
        } catch {
            XCTAssertEqual(error, .invalidArgument("a message to rooms needs at least one room"))
        }
    }
}
