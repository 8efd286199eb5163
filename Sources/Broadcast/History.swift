/// A room's recent messages, kept on its home loop as references into the
/// batches that carried them (no copies), bounded by count and by bytes
/// (every wire format's encoding counts). A message larger than the byte
/// bound is not kept at all: a resume from before it is a gap.
struct History {
    struct Entry {
        let sequence: UInt64
        let batch: Batch
        let index: Int
        /// Counted once, on the way in: the same figure must come off on the way out.
        let size: Int
    }

    let maxCount: Int
    let maxBytes: Int
    private var entries: [Entry] = []
    private var head = 0
    private(set) var bytes = 0

    init(maxCount: Int, maxBytes: Int) {
        self.maxCount = maxCount
        self.maxBytes = maxBytes
    }

    var count: Int { entries.count - head }
    /// The oldest sequence still held, if any.
    var oldestSequence: UInt64? { count > 0 ? entries[head].sequence : nil }

    mutating func append(_ batch: Batch) {
        guard maxCount > 0 else { return }
        for index in 0..<batch.count {
            let entry = Entry(sequence: batch.firstSequence + UInt64(index), batch: batch, index: index, size: batch.storedSize(of: index))
            entries.append(entry)
            bytes += entry.size
        }
        while count > maxCount || bytes > maxBytes {
            bytes -= entries[head].size
            head += 1
        }
        if head > 1024 && head * 2 > entries.count {  // compact now and then
            entries.removeFirst(head)
            head = 0
        }
    }

    enum Replay {
        /// Every message after the asked sequence, oldest first.
        case messages([Entry])
        /// Messages after the asked sequence were already dropped; the oldest held is given.
        case gapTooOld(oldestAvailable: UInt64?)
    }

    /// Whether every message after `sequence` is held, given the room's last assigned sequence.
    func covers(after sequence: UInt64, lastAssigned: UInt64) -> Bool {
        sequence >= lastAssigned || oldestSequence.map { $0 <= sequence + 1 } ?? false
    }

    /// The messages after `sequence`, given the room's last assigned sequence.
    func messages(after sequence: UInt64, lastAssigned: UInt64) -> Replay {
        if sequence >= lastAssigned { return .messages([]) }
        guard covers(after: sequence, lastAssigned: lastAssigned) else { return .gapTooOld(oldestAvailable: oldestSequence) }
        // Searched, not computed: with a backend that numbers elsewhere, a room's sequence may skip
        // numbers this process never got.
        var low = head, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].sequence <= sequence { low = middle + 1 } else { high = middle }
        }
        return .messages(Array(entries[low...]))
    }

    /// Forgets every message (the room started over).
    mutating func removeAll() {
        entries.removeAll()
        head = 0
        bytes = 0
    }
}
