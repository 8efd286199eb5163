@testable import ChatStore
import Glibc
import Reactor
import Synchronization
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

/// A directory of its own for each test, removed with what is in it.
final class ScratchDirectory {
    let path: String

    init() {
        var template = Array("/tmp/chatstore-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(directory)
        }
        rmdir(path)
    }

    func file(_ name: String) -> String { path + "/" + name }
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(descriptor >= 0, "cannot create \(path)")
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

func readFile(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count <= 0 { return bytes }
        bytes += chunk[0..<count]
    }
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
