import Synchronization

public typealias Completion<Value> = @Sendable (Result<Value, ChatStoreError>) -> Void

/// A write request: what to run in the batch's transaction, and whom to tell.
struct WriteJob: Sendable {
    /// Runs inside the transaction; returns the report to make once it commits.
    let perform: @Sendable (WriteStatements) throws(ChatStoreError) -> () -> Void
    /// Reports a failure instead: the request's own, or its batch's.
    let fail: @Sendable (ChatStoreError) -> Void

    init<Value: Sendable>(_ body: @escaping @Sendable (WriteStatements) throws(ChatStoreError) -> Result<Value, ChatStoreError>,
                          completion: @escaping Completion<Value>) {
        perform = { statements throws(ChatStoreError) in
            let result = try body(statements)
            return { completion(result) }
        }
        fail = { completion(.failure($0)) }
    }
}

/// The writer thread's work: it owns the write connection, takes every
/// waiting write, runs them all in one transaction (group commit: one fsync
/// for the batch), and reports to each caller only after COMMIT has returned,
/// so nothing is acknowledged before it is durable. Reports run in queue
/// order, which is id order.
final class Writer {
    private let connection: SQLiteConnection
    private let statements: WriteStatements
    private let begin: Statement
    private let commit: Statement
    private let rollback: Statement
    private let queue: WorkQueue<WriteJob>
    private let counters: WriterCounters
    private let maxBatchSize: Int

    init(_ connection: SQLiteConnection, queue: WorkQueue<WriteJob>, counters: WriterCounters, maxBatchSize: Int) throws(ChatStoreError) {
        self.connection = connection
        self.queue = queue
        self.counters = counters
        self.maxBatchSize = max(1, maxBatchSize)
        statements = try WriteStatements(connection)
        // IMMEDIATE takes the write lock up front, so COMMIT cannot meet a busy lock.
        begin = try connection.prepare("BEGIN IMMEDIATE")
        commit = try connection.prepare("COMMIT")
        rollback = try connection.prepare("ROLLBACK")
    }

    /// The thread's body: returns once the queue is closed and drained.
    func run() {
        while let batch = queue.take(upTo: maxBatchSize) { write(batch) }
    }

    private func write(_ batch: [WriteJob]) {
        var reports: [() -> Void] = []
        reports.reserveCapacity(batch.count)
        do throws(ChatStoreError) {
            try begin.run()
            for job in batch {
                do throws(ChatStoreError) {
                    reports.append(try job.perform(statements))
                } catch let error where error.isStatementOnly && connection.inTransaction {
                    // SQLite undid that statement alone: refuse this request, keep the batch.
                    reports.append { job.fail(error) }
                }
            }
            try commit.run()
        } catch {
            if connection.inTransaction { try? rollback.run() }
            counters.recordFailure()
            for job in batch { job.fail(error) }
            return
        }
        counters.recordCommit(batch.count)
        for report in reports { report() }
    }
}

/// The writer's counters, readable from any thread.
final class WriterCounters: Sendable {
    private let transactions = Atomic<Int>(0)
    private let writes = Atomic<Int>(0)
    private let failedTransactions = Atomic<Int>(0)
    private let largestBatch = Atomic<Int>(0)

    func recordCommit(_ count: Int) {
        writes.add(count, ordering: .relaxed)
        largestBatch.max(count, ordering: .relaxed)
        transactions.add(1, ordering: .releasing)
    }

    func recordFailure() { failedTransactions.add(1, ordering: .relaxed) }

    func snapshot(pendingWrites: Int) -> ChatStoreStatistics {
        ChatStoreStatistics(transactions: transactions.load(ordering: .acquiring), writes: writes.load(ordering: .relaxed),
                            failedTransactions: failedTransactions.load(ordering: .relaxed),
                            largestBatch: largestBatch.load(ordering: .relaxed), pendingWrites: pendingWrites)
    }
}
