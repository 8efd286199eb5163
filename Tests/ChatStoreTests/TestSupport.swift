@testable import ChatStore
import Glibc
import Reactor
import Synchronization
import TestSupport
import XCTest

/// A test with a directory of its own, removed after it. (XCTest keeps
/// every test case object until the process ends, so the directory goes in
/// tearDown, not when the object does.)
class ScratchTestCase: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws {
        scratch = ScratchDirectory()
    }

    override func tearDown() {
        scratch = nil
    }
}

/// A test with a fresh store in a directory of its own.
class StoreTestCase: ScratchTestCase {
    var store: ChatStore!

    override func setUpWithError() throws {
        try super.setUpWithError()
        store = try ChatStore(path: scratch.file("chat.db"))
    }

    override func tearDown() {
        store?.close()
        store = nil
        super.tearDown()
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(descriptor >= 0, "cannot create \(path)")
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Opening must fail with `expected`.
func XCTAssertOpenFails(_ path: String, _ expected: ChatStoreError, configuration: ChatStoreConfiguration = .init(),
                        file: StaticString = #filePath, line: UInt = #line) {
    do {
        let store = try ChatStore(path: path, configuration: configuration)
        store.close()
        XCTFail("opened \(path); expected \(expected)", file: file, line: line)
    } catch {
        XCTAssertEqual(error, expected, file: file, line: line)
    }
}

/// A connection of the test's own on a store's file, beside the store's.
func rawConnection(_ path: String) throws -> SQLiteConnection {
    try SQLiteConnection(path: path, create: false)
}

/// Waits for a completion-style call from a synchronous test.
func waitFor<Value: Sendable>(_ start: (@escaping Completion<Value>) -> Void) -> Result<Value, ChatStoreError> {
    let done = Semaphore()
    let box = Mutex<Result<Value, ChatStoreError>?>(nil)
    start { result in
        box.withLock { $0 = result }
        done.signal()
    }
    XCTAssertTrue(done.wait(timeout: 10_000_000_000), "no completion within 10 s")
    return box.withLock { $0 } ?? .failure(.closed)
}
