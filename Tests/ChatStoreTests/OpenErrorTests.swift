@testable import ChatStore
import Glibc
import TestSupport
import XCTest

/// Opening: a new file is created only where nothing is; a file that is not
/// a database, is corrupt or is newer is refused with a typed error and left
/// byte for byte as it was.
final class OpenErrorTests: ScratchTestCase {
    func testANewFileIsCreatedInWALModeAtTheCurrentSchema() throws {
        let path = scratch.file("new.db")
        try ChatStore(path: path).close()
        let connection = try rawConnection(path)
        XCTAssertEqual(try connection.integer("PRAGMA user_version"), Int64(ChatStore.schemaVersion))
        XCTAssertEqual(try connection.strings("PRAGMA journal_mode"), ["wal"])
        XCTAssertEqual(try connection.strings("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"),
                       ["friend_messages", "friendships", "room_messages", "user_keys", "users"])
    }

    func testAnEmptyFileIsAnEmptyDatabase() throws {
        let path = scratch.file("empty.db")
        writeFile(path, [])
        try ChatStore(path: path).close()
        XCTAssertEqual(try rawConnection(path).integer("PRAGMA user_version"), Int64(ChatStore.schemaVersion))
    }

    func testAMissingFileIsNotCreatedWhenCreationIsOff() {
        var configuration = ChatStoreConfiguration()
        configuration.createIfMissing = false
        let path = scratch.file("absent.db")
        XCTAssertOpenFails(path, .missingFile(path: path), configuration: configuration)
        XCTAssertFalse(fileExists(path))
    }

    func testAPathThatCannotBeOpened() {
        let inMissingDirectory = scratch.file("no-such-directory/chat.db")
        XCTAssertOpenFails(inMissingDirectory, .cannotOpen(path: inMissingDirectory, reason: "unable to open database file"))
        XCTAssertOpenFails(scratch.path, .cannotOpen(path: scratch.path, reason: "it is a directory"))
        XCTAssertOpenFails("", .cannotOpen(path: "", reason: "the path is empty"))
        let description = ChatStoreError.cannotOpen(path: inMissingDirectory, reason: "unable to open database file").description
        XCTAssertEqual(description, "cannot open the database \(inMissingDirectory): unable to open database file")
    }

    func testAFileThatIsNotADatabaseIsRefusedAndLeftUntouched() {
        let path = scratch.file("notes.txt")
        let text = Array(String(repeating: "my notes, not a database\n", count: 200).utf8)
        writeFile(path, text)
        XCTAssertOpenFails(path, .notADatabase(path: path))
        XCTAssertEqual(readFile(path), text, "the file was changed")
        XCTAssertFalse(fileExists(path + "-wal"))
        XCTAssertTrue(ChatStoreError.notADatabase(path: path).description.contains("\(path) is not an SQLite database"))
    }

    func testACorruptDatabaseIsRefusedAndLeftUntouched() throws {
        let path = scratch.file("corrupt.db")
        try fill(path, messages: 3000)
        let intact = try XCTUnwrap(readFile(path))
        let root = try Int(rawConnection(path).integer("SELECT rootpage FROM sqlite_master WHERE name = 'room_messages'"))
        XCTAssertGreaterThan(root, 1)
        XCTAssertGreaterThan(intact.count, 16 * 4096)
        // Two kinds of damage to the root page of the messages' b-tree (page 1, the header, stays
        // intact): its cell pointers overwritten, which quick_check reports; the whole page
        // scribbled over, which SQLite reports as soon as it reads the page.
        let page = (root - 1) * 4096
        let damage: [(name: String, range: Range<Int>, reportedBy: String)] = [
            ("cell pointers", page + 12..<page + 40, "quick_check: On tree page \(root)"),
            ("whole page", page..<page + 4096, ""),
        ]
        for (name, range, reportedBy) in damage {
            var bytes = intact
            for offset in range { bytes[offset] = UInt8(truncatingIfNeeded: 0xff &- offset &* 31) }
            writeFile(path, bytes)
            do {
                try ChatStore(path: path).close()
                XCTFail("\(name): a corrupt database was opened")
            } catch {
                guard case .corrupt(let reported, let detail) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(reported, path)
                XCTAssertTrue(detail.hasPrefix(reportedBy), "\(name): \(detail)")
                XCTAssertTrue(error.description.contains("is a corrupt SQLite database"), error.description)
            }
            XCTAssertEqual(readFile(path), bytes, "\(name): the file was changed")
            XCTAssertFalse(fileExists(path + "-wal"))
        }
    }

    func testANewerSchemaIsRefusedAndLeftUntouched() throws {
        let path = scratch.file("newer.db")
        try ChatStore(path: path).close()
        try rawConnection(path).execute("PRAGMA user_version = 99")
        let bytes = readFile(path)
        XCTAssertOpenFails(path, .newerSchema(path: path, version: 99, supported: ChatStore.schemaVersion))
        XCTAssertEqual(readFile(path), bytes, "the file was changed")
    }

    func testAFailedMigrationLeavesTheFileAtItsOldVersion() throws {
        // A file at version 0 that already has a table migration 1 creates last but one:
        // everything migration 1 did before it must be rolled back.
        let path = scratch.file("foreign.db")
        let foreign = try SQLiteConnection(path: path, create: true)
        try foreign.execute("CREATE TABLE friend_messages (x)")
        do {
            try ChatStore(path: path).close()
            XCTFail("the migration succeeded over a conflicting table")
        } catch {
            guard case .migrationFailed(path, ChatStore.schemaVersion, let reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("friend_messages already exists"), reason)
        }
        XCTAssertEqual(try foreign.integer("PRAGMA user_version"), 0)
        XCTAssertEqual(try foreign.strings("SELECT name FROM sqlite_master WHERE type = 'table'"), ["friend_messages"])
    }

    private func fill(_ path: String, messages: Int) throws {
        let store = try ChatStore(path: path)
        for index in 0..<messages {
            store.appendRoomMessage(from: "filler", room: index % 2 == 0 ? nil : "Red", to: nil,
                                    text: "message \(index) " + String(repeating: "x", count: 60)) { _ in }
        }
        store.close()
        XCTAssertFalse(fileExists(path + "-wal"), "the WAL was not checkpointed at close")
    }
}
