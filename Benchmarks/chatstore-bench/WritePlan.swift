import ChatStore
import Glibc
import Reactor
import Synchronization

/// Messages/s stored for each write policy: `inFlight` senders, each sending
/// its next message when the store acknowledges the last (as chat clients
/// waiting for their acks do), for `seconds` each, into a fresh file.
struct WritePlan {
    let directory: String
    let seconds: Int
    let inFlight: Int
    let size: Int

    struct Outcome {
        let synchronous: ChatStoreConfiguration.Synchronous
        let groupCommit: Bool
        let messages: Int
        let elapsedSeconds: Double
        let statistics: ChatStoreStatistics
        let latencies: [UInt64]

        var perSecond: Double { Double(messages) / elapsedSeconds }
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return .nan }
            return Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e6
        }
    }

    func runAll() -> String {
        mkdir(directory, 0o755)
        var lines = [
            "| synchronous | group commit | messages/s | transactions | mean batch | ack p50 ms | ack p99 ms |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for synchronous in [ChatStoreConfiguration.Synchronous.full, .normal] {
            for groupCommit in [true, false] {
                let outcome = run(synchronous: synchronous, groupCommit: groupCommit)
                let batch = Double(outcome.statistics.writes) / Double(max(outcome.statistics.transactions, 1))
                lines.append("| \(synchronous.rawValue.uppercased()) | \(groupCommit ? "on" : "off (1 per transaction)") "
                    + "| \(Int(outcome.perSecond.rounded())) | \(outcome.statistics.transactions) | \(rounded(batch, 1)) "
                    + "| \(rounded(outcome.percentile(0.5), 2)) | \(rounded(outcome.percentile(0.99), 2)) |")
                StandardError.write("chatstore-bench: \(synchronous.rawValue), group commit \(groupCommit ? "on" : "off"): done")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func run(synchronous: ChatStoreConfiguration.Synchronous, groupCommit: Bool) -> Outcome {
        let path = "\(directory)/bench-\(synchronous.rawValue)-\(groupCommit ? "group" : "single").db"
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        var configuration = ChatStoreConfiguration()
        configuration.synchronous = synchronous
        configuration.maxBatchSize = groupCommit ? ChatStoreConfiguration().maxBatchSize : 1
        let store: ChatStore
        do {
            store = try ChatStore(path: path, configuration: configuration)
        } catch {
            fail(error.description, status: 1)
        }
        let senders = Senders(store: store, text: String(repeating: "x", count: size),
                              until: monotonicNanoseconds() + UInt64(seconds) * 1_000_000_000)
        let start = monotonicNanoseconds()
        for _ in 0..<inFlight { senders.send() }
        senders.finished.wait()
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        let statistics = store.statistics()
        store.close()
        unlink(path)
        let latencies = senders.latencies.withLock { $0.sorted() }
        return Outcome(synchronous: synchronous, groupCommit: groupCommit, messages: latencies.count,
                       elapsedSeconds: elapsed, statistics: statistics, latencies: latencies)
    }
}

/// The closed loop: each acknowledgement sends the next message until the deadline.
private final class Senders: Sendable {
    let store: ChatStore
    let text: String
    let deadline: UInt64
    let latencies = Mutex<[UInt64]>([])
    let active = Atomic<Int>(0)
    let finished = Semaphore()

    init(store: ChatStore, text: String, until deadline: UInt64) {
        self.store = store
        self.text = text
        self.deadline = deadline
    }

    func send() {
        active.add(1, ordering: .relaxed)
        let sent = monotonicNanoseconds()
        store.appendRoomMessage(from: "bench", room: nil, to: nil, text: text) { result in
            let now = monotonicNanoseconds()
            if case .failure(let error) = result { fail("append: \(error)", status: 1) }
            self.latencies.withLock { $0.append(now - sent) }
            if now < self.deadline { self.send() }
            if self.active.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { self.finished.signal() }
        }
    }
}

func rounded(_ value: Double, _ places: Int) -> String {
    guard value.isFinite else { return "-" }
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let whole = scaled / Int(scale)
    let fraction = String(scaled % Int(scale))
    return "\(whole).\(String(repeating: "0", count: places - fraction.count))\(fraction)"
}
