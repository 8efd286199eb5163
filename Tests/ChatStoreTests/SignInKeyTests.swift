@testable import ChatStore
import XCTest

/// Sign-in keys (schema version 2): a user made with a key's digest is found
/// by its id and that digest only; a file of version 1 is migrated and keeps
/// its users.
final class SignInKeyTests: StoreTestCase {
    func testAUserIsFoundByItsKeyAndNoOther() async throws {
        let alice = try await store.createUser(named: "alice", keyDigest: "d1")
        let bob = try await store.createUser(named: "bob")  // no key: nothing signs in as bob
        let signedIn = try await store.user(id: alice.id, keyDigest: "d1")
        XCTAssertEqual(signedIn, alice)
        let wrongKey = try await store.user(id: alice.id, keyDigest: "d2")
        XCTAssertNil(wrongKey)
        let otherUser = try await store.user(id: bob.id, keyDigest: "d1")
        XCTAssertNil(otherUser)
        let keyless = try await store.user(id: bob.id, keyDigest: "")
        XCTAssertNil(keyless)
    }

    func testATakenNameStoresNoKey() async throws {
        let alice = try await store.createUser(named: "alice", keyDigest: "first")
        do {
            _ = try await store.createUser(named: "ALICE", keyDigest: "second")
            XCTFail("the name was taken twice")
        } catch {
            XCTAssertEqual(error, .nameTaken("ALICE"))
        }
        let withSecond = try await store.user(id: alice.id, keyDigest: "second")
        XCTAssertNil(withSecond, "the refused request's key signs in as the name's owner")
        do {
            _ = try await store.createUser(named: "carol", keyDigest: "")
            XCTFail("an empty digest was accepted")
        } catch {
            XCTAssertEqual(error, .invalidArgument("a key digest cannot be empty"))
        }
    }
}

final class SchemaMigrationTests: ScratchTestCase {
    func testAVersionOneFileGetsKeysAndKeepsItsRows() async throws {
        let path = scratch.file("v1.db")
        do {
            let old = try SQLiteConnection(path: path, create: true)
            try old.execute(Schema.migrations[0])
            try old.execute("INSERT INTO users (name, created) VALUES ('alice', 1); PRAGMA user_version = 1")
        }
        let store = try ChatStore(path: path)
        defer { store.close() }
        let alice = try await store.user(named: "alice")
        XCTAssertEqual(alice?.id, 1)
        let bob = try await store.createUser(named: "bob", keyDigest: "k")
        let signedIn = try await store.user(id: bob.id, keyDigest: "k")
        XCTAssertEqual(signedIn, bob)
        XCTAssertEqual(try rawConnection(path).integer("PRAGMA user_version"), 2)
    }
}
