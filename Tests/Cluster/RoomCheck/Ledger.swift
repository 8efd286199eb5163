import Histograms
import Reactor
import Synchronization

/// Everything the run records, in raw memory allocated once: each subscriber's
/// and each publisher's entries are written by the one loop that owns the
/// connection, and read by the main thread only once the loops are quiet.
final class Ledger: @unchecked Sendable {
    /// What a subscriber received.
    struct Subscriber {
        var received = 0
        var duplicates = 0
        /// A publisher's message before one of its earlier ones (each publisher's are in send order).
        var reordered = 0
        var foreign = 0
        /// FNV-1a over the message ids in arrival order: equal digests, equal orders.
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        var sawProbe = false
        var open = false
        var closedEarly = false
        var closeCode: UInt16 = 0
    }

    enum Outcome: UInt8 {
        case notSent = 0, acknowledged, refused, unknown, otherStatus
    }

    let options: RoomCheckOptions
    let subscribers: UnsafeMutablePointer<Subscriber>
    /// One bit per message per subscriber: received.
    let bits: UnsafeMutablePointer<UInt64>
    let wordsPerSubscriber: Int
    /// Each publisher's last message number seen, per subscriber (for per-publisher order).
    let lastSeen: UnsafeMutablePointer<Int32>
    /// Per message: how its publish ended, and the room sequence of an acknowledged one.
    let outcomes: UnsafeMutablePointer<Outcome>
    let sequences: UnsafeMutablePointer<UInt64>
    /// Per loop: latencies of every delivery.
    let histograms: [UnsafeMutablePointer<LatencyHistogram>]
    let answered = Atomic<Int>(0)
    let opened = Atomic<Int>(0)
    let failedConnections = Atomic<Int>(0)
    let firstError = Mutex<String?>(nil)

    init(options: RoomCheckOptions, loops: Int) {
        self.options = options
        let subscriberCount = options.subscriberCount
        subscribers = .allocate(capacity: max(1, subscriberCount))
        subscribers.initialize(repeating: Subscriber(), count: max(1, subscriberCount))
        wordsPerSubscriber = (options.publisherCount * options.perPublisher + 63) / 64
        bits = .allocate(capacity: max(1, wordsPerSubscriber * subscriberCount))
        bits.initialize(repeating: 0, count: max(1, wordsPerSubscriber * subscriberCount))
        lastSeen = .allocate(capacity: max(1, subscriberCount * options.publisherCount))
        lastSeen.initialize(repeating: -1, count: max(1, subscriberCount * options.publisherCount))
        let messageSlots = options.publisherCount * options.perPublisher
        outcomes = .allocate(capacity: messageSlots)
        outcomes.initialize(repeating: .notSent, count: messageSlots)
        sequences = .allocate(capacity: messageSlots)
        sequences.initialize(repeating: 0, count: messageSlots)
        histograms = (0..<loops).map { _ in
            let histogram = UnsafeMutablePointer<LatencyHistogram>.allocate(capacity: 1)
            histogram.initialize(to: LatencyHistogram())
            return histogram
        }
    }

    func fail(_ message: String) {
        firstError.withLock { if $0 == nil { $0 = message } }
    }

    /// A message received by subscriber `subscriber`: publisher and its number.
    @inline(__always)
    func record(subscriber: Int, publisher: Int, number: Int, latency: UInt64, loop: Int) {
        let record = subscribers + subscriber
        let id = publisher * options.perPublisher + number
        let word = bits + (subscriber * wordsPerSubscriber + id / 64)
        let bit: UInt64 = 1 << UInt64(id % 64)
        if word.pointee & bit != 0 {
            record.pointee.duplicates += 1
            return
        }
        word.pointee |= bit
        record.pointee.received += 1
        let last = lastSeen + (subscriber * options.publisherCount + publisher)
        if Int32(number) < last.pointee { record.pointee.reordered += 1 } else { last.pointee = Int32(number) }
        var digest = record.pointee.digest
        var value = UInt64(id)
        for _ in 0..<4 {
            digest = (digest ^ (value & 0xFFFF)) &* 0x100_0000_01b3
            value >>= 16
        }
        record.pointee.digest = digest
        histograms[loop].pointee.record(latency)
    }

    func hasReceived(subscriber: Int, message id: Int) -> Bool {
        bits[subscriber * wordsPerSubscriber + id / 64] & (1 << UInt64(id % 64)) != 0
    }
}
