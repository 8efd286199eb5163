@testable import ChatStore
import Glibc
import Reactor
import Synchronization
import XCTest

/// The writer thread: ids in commit order, group commit, acknowledgement
/// only after COMMIT, refusals that spare their batch, draining on close.
final class WriterTests: StoreTestCase {
    func testIDsIncreaseInCommitOrder() {
        let completionOrder = Mutex<[Int64]>([])
        let bySender = Mutex<[Int: [Int64]]>([:])
        let done = Semaphore()
        let store = self.store!
        runConcurrently(threads: 8) { sender in
            for index in 0..<250 {
                store.appendRoomMessage(from: "sender\(sender)", room: nil, to: nil, text: "\(index)") { result in
                    guard case .success(let message) = result else { return XCTFail("\(result)") }
                    completionOrder.withLock { $0.append(message.id) }
                    bySender.withLock { $0[sender, default: []].append(message.id) }
                    done.signal()
                }
            }
        }
        for _ in 0..<2000 { XCTAssertTrue(done.wait(timeout: 10_000_000_000)) }
        let order = completionOrder.withLock { $0 }
        XCTAssertEqual(order.count, 2000)
        XCTAssertEqual(order, order.sorted(), "completions did not run in id order")
        XCTAssertEqual(Set(order).count, 2000, "an id was given twice")
        for (sender, ids) in bySender.withLock({ $0 }) {
            XCTAssertEqual(ids, ids.sorted(), "sender \(sender)'s messages were stored out of their order")
        }
    }

    func testConcurrentWritesShareTransactions() {
        let appends = 2000
        let done = Semaphore()
        let store = self.store!
        runConcurrently(threads: 4) { sender in
            for index in 0..<appends / 4 {
                store.appendRoomMessage(from: "s\(sender)", room: nil, to: nil, text: "\(index)") { result in
                    if case .failure(let error) = result { XCTFail("\(error)") }
                    done.signal()
                }
            }
        }
        for _ in 0..<appends { XCTAssertTrue(done.wait(timeout: 10_000_000_000)) }
        let statistics = store.statistics()
        XCTAssertEqual(statistics.writes, appends)
        XCTAssertEqual(statistics.failedTransactions, 0)
        XCTAssertEqual(statistics.pendingWrites, 0)
        XCTAssertLessThanOrEqual(statistics.transactions, appends / 4, "group commit did not group: \(statistics)")
        XCTAssertGreaterThan(statistics.largestBatch, 1)
    }

    func testWithoutGroupCommitEachWriteIsItsOwnTransaction() throws {
        var configuration = ChatStoreConfiguration()
        configuration.maxBatchSize = 1
        let single = try ChatStore(path: scratch.file("single.db"), configuration: configuration)
        defer { single.close() }
        let done = Semaphore()
        for index in 0..<50 {
            single.appendRoomMessage(from: "a", room: nil, to: nil, text: "\(index)") { _ in done.signal() }
        }
        for _ in 0..<50 { XCTAssertTrue(done.wait(timeout: 10_000_000_000)) }
        XCTAssertEqual(single.statistics().transactions, 50)
        XCTAssertEqual(single.statistics().largestBatch, 1)
    }

    func testACompletionRunsOnlyOnceItsWriteIsCommitted() throws {
        // Another connection sees only committed rows: each completion looks for its own.
        let observer = Mutex(try rawConnection(store.path))
        let missing = Atomic<Int>(0)
        let done = Semaphore()
        for index in 0..<300 {
            store.appendRoomMessage(from: "alice", room: nil, to: nil, text: "\(index)") { result in
                guard case .success(let message) = result else { return XCTFail("\(result)") }
                let visible = observer.withLock { connection in
                    (try? connection.integer("SELECT count(*) FROM room_messages WHERE id = \(message.id)")) == 1
                }
                if !visible { missing.add(1, ordering: .relaxed) }
                done.signal()
            }
        }
        for _ in 0..<300 { XCTAssertTrue(done.wait(timeout: 10_000_000_000)) }
        XCTAssertEqual(missing.load(ordering: .relaxed), 0, "acknowledged before another connection could see the row")
    }

    func testARefusedRequestDoesNotFailItsBatch() {
        let results = Mutex<[String]>([])
        let done = Semaphore()
        func record<Value>(_ label: String) -> Completion<Value> {
            { result in
                let outcome: String
                switch result {
                case .success: outcome = "ok"
                case .failure(let error): outcome = "\(error)"
                }
                results.withLock { $0.append("\(label): \(outcome)") }
                done.signal()
            }
        }
        // Submitted without waiting, so they share batches.
        store.appendRoomMessage(from: "a", room: nil, to: nil, text: "1", completion: record("m1"))
        store.createUser(named: "dup", completion: record("u1"))
        store.createUser(named: "DUP", completion: record("u2"))
        store.appendFriendMessage(from: 1, to: 2, content: "x", kind: .text, completion: record("f"))
        store.appendRoomMessage(from: "a", room: nil, to: nil, text: "2", completion: record("m2"))
        for _ in 0..<5 { XCTAssertTrue(done.wait(timeout: 10_000_000_000)) }
        XCTAssertEqual(results.withLock { $0 }, ["m1: ok", "u1: ok", "u2: the name DUP is taken",
                                                 "f: users 1 and 2 are not friends", "m2: ok"])
        XCTAssertEqual(store.statistics().failedTransactions, 0)
    }

    func testAFailingDatabaseFailsTheWholeBatchAndAcknowledgesNothingOfIt() throws {
        // A size cap stands in for a full disk: SQLITE_FULL, which may undo the whole transaction.
        var configuration = ChatStoreConfiguration()
        configuration.maxDatabaseBytes = 256 * 1024
        let path = scratch.file("capped.db")
        let capped = try ChatStore(path: path, configuration: configuration)
        let outcomes = Mutex<[(text: String, result: Result<RoomMessage, ChatStoreError>)]>([])
        let done = Semaphore()
        let page = String(repeating: "x", count: 4000)
        for round in 0..<10 {  // rounds of 20 at once, so the cap is passed in the middle of a batch
            for index in 0..<20 {
                let text = "\(round).\(index) \(page)"
                capped.appendRoomMessage(from: "a", room: nil, to: nil, text: text) { result in
                    outcomes.withLock { $0.append((text, result)) }
                    done.signal()
                }
            }
            for _ in 0..<20 { XCTAssertTrue(done.wait(timeout: 10_000_000_000)) }
        }
        let statistics = capped.statistics()
        capped.close()
        let all = outcomes.withLock { $0 }
        let acknowledged = all.compactMap { try? $0.result.get() }
        let failures = all.compactMap { outcome -> ChatStoreError? in
            if case .failure(let error) = outcome.result { return error }
            return nil
        }
        XCTAssertFalse(acknowledged.isEmpty)
        XCTAssertFalse(failures.isEmpty, "the cap was never reached")
        for failure in failures {
            guard case .sqlite(let code, _) = failure, code & 0xff == 13 else { return XCTFail("\(failure)") }  // SQLITE_FULL
        }
        XCTAssertGreaterThanOrEqual(statistics.failedTransactions, 1)
        XCTAssertEqual(statistics.writes, acknowledged.count, "a committed batch held a failed write")
        let stored = try rawConnection(path).prepare("SELECT id, text FROM room_messages ORDER BY id").rows { ($0.int64(0), $0.text(1)) }
        XCTAssertEqual(stored.map(\.0), acknowledged.map(\.id), "stored rows are not exactly the acknowledged ones")
        XCTAssertEqual(stored.map(\.1), acknowledged.map(\.text))
    }

    func testCloseFinishesEveryQueuedWriteThenRefuses() throws {
        let succeeded = Atomic<Int>(0)
        for index in 0..<1000 {
            store.appendRoomMessage(from: "a", room: nil, to: nil, text: "\(index)") { result in
                if case .success = result { succeeded.add(1, ordering: .relaxed) }
            }
        }
        store.close()
        XCTAssertEqual(succeeded.load(ordering: .relaxed), 1000, "close returned before every queued write was reported")
        XCTAssertFalse(fileExists(store.path + "-wal"), "the last connection to close checkpoints and removes the WAL")
        let refused = waitFor { store.appendRoomMessage(from: "a", room: nil, to: nil, text: "late", completion: $0) }
        XCTAssertEqual(refused.map(\.id), .failure(.closed))
        let refusedRead = waitFor { store.user(id: 1, completion: $0) }
        XCTAssertEqual(refusedRead, .failure(.closed))

        let reopened = try ChatStore(path: store.path)
        defer { reopened.close() }
        let history = waitFor { reopened.roomHistory(for: "a", rooms: [], limit: 3, completion: $0) }
        XCTAssertEqual(try history.get().map(\.text), ["997", "998", "999"])
        let next = waitFor { reopened.appendRoomMessage(from: "a", room: nil, to: nil, text: "after", completion: $0) }
        XCTAssertEqual(try next.get().id, 1001, "ids continue after a reopen")
    }

    func testCloseFromACompletionDoesNotDeadlock() {
        let done = Semaphore()
        let store = self.store!
        store.appendRoomMessage(from: "a", room: nil, to: nil, text: "x") { _ in
            store.close()
            done.signal()
        }
        XCTAssertTrue(done.wait(timeout: 10_000_000_000))
        let refused = waitFor { store.createUser(named: "late", completion: $0) }
        XCTAssertEqual(refused, .failure(.closed))
    }
}

/// Runs `body(i)` on `threads` threads at once and waits for all.
func runConcurrently(threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let started = (0..<threads).map { index in
        try! startThread(named: "test-\(index)") { body(index) }
    }
    for thread in started { pthread_join(thread, nil) }
}
