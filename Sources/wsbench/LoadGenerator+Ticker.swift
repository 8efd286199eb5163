import Reactor

// The ticker scenario: publishers send updates of keys (`KeyedUpdate`) to a
// room whose members conflate by key; full-speed receivers must get every
// update, as in broadcast, while slow subscribers may miss updates a newer
// one replaced. Every receiver must never get an older value of a key after
// a newer one (`KeyLedger`), and must end, once publishing stops and it has
// read what is left, holding the last value published of every key.
extension LoadGenerator {
    /// The next update of publisher `publisher`: one of its keys, at random,
    /// and that key's next value.
    @inline(__always)
    func nextUpdate(publisher: Int) -> (key: UInt32, value: UInt64) {
        let publishers = plan.publisherCount
        // Key k belongs to publisher k mod P: this one owns publisher, publisher + P, ...
        let ownKeys = (plan.keyCount &- 1 &- publisher) / publishers &+ 1
        let key = publisher &+ publishers &* Int(random.next() % UInt64(ownKeys))
        let value = publishedValues[key] &+ 1
        publishedValues[key] = value
        return (UInt32(key), UInt64(value))
    }

    /// One update to a room receiver: its publisher's sequence and its key's
    /// value checked, counted and, when measured, timed. A full-speed
    /// receiver's time is the update's latency (updates intended in the
    /// window); a slow subscriber's is the update's age when it reads it, its
    /// staleness (updates read at its pace while publishing goes on, so not
    /// what it reads at full speed once publishing stops).
    @inline(__always)
    func receiveKeyedUpdate(_ payload: UnsafeRawPointer, length: Int, now: UInt64, _ window: MeasuredSpan,
                            _ receiver: RoomReceiver) -> MessageOutcome {
        let publishers = plan.publisherCount
        guard let fields = KeyedUpdate.read(payload, count: length), let (key, value) = KeyedUpdate.keyAndValue(payload),
              Int(fields.sender) < publishers, !(receiver.role == .publisher && fields.sender == receiver.senderID),
              Int(key) < plan.keyCount, KeyLedger.owner(ofKey: Int(key), publishers: publishers) == Int(fields.sender),
              value > 0, value <= UInt64(UInt32.max) else { return .foreign }
        let statistics = self.statistics
        let slow = receiver.role == .slowSubscriber
        if keyLedger.observe(row: receiver.row, key: Int(key), value: UInt32(truncatingIfNeeded: value)) == .older {
            if slow { statistics.pointee.ticker.slowKeyRegressions &+= 1 } else { statistics.pointee.ticker.fastKeyRegressions &+= 1 }
        }
        let tracker = window.trackers + (receiver.row &* publishers &+ Int(fields.sender))
        let verdict = tracker.pointee.observe(fields.sequence)
        if slow {
            bookSlow(verdict, intendedTime: fields.intendedTime, now: now, window, statistics)
        } else {
            _ = book(verdict, intendedTime: fields.intendedTime, now: now, window, statistics)
        }
        return .none
    }

    /// A slow subscriber's arrival: a gap in its publisher's sequence is
    /// what it was spared (conflated), not loss; anything older is a fault.
    @inline(__always)
    private func bookSlow(_ verdict: SequenceTracker.Verdict, intendedTime: UInt64, now: UInt64, _ window: MeasuredSpan,
                          _ statistics: UnsafeMutablePointer<LoopStatistics>) {
        switch verdict {
        case .inOrder:
            break
        case .gap(let skipped):
            statistics.pointee.ticker.slowSkipped &+= skipped
        case .late, .lateBeyondWindow:
            statistics.pointee.ticker.slowReordered &+= 1
        case .duplicate:
            statistics.pointee.ticker.slowDuplicated &+= 1
            return
        }
        statistics.pointee.ticker.slowReceived &+= 1
        if now >= window.start && now < window.end {
            statistics.pointee.ticker.slowReceivedInWindow &+= 1
            statistics.pointee.ticker.staleness.record(now > intendedTime ? now &- intendedTime : 0)
        }
    }

    /// Each key's updates sent by this loop's publishers so far.
    func publishedKeyValues() -> [UInt32] {
        Array(UnsafeBufferPointer(start: publishedValues, count: plan.keyCount))
    }

    /// Publishing has stopped: `finals` holds the last value of every key,
    /// from every loop; the ledger counts what each receiver still lacks.
    func settleKeys(finals: [UInt32]) {
        keyLedger.settle(finals: finals)
    }

    /// After the drain: what each open receiver still lacks of the keys' last values, by group.
    func closeOutKeys() {
        for row in 0..<rowConnections.count {
            guard let connection = connections.connection(rowConnections[row]), connection.context.phase == .open else { continue }
            let lacking = UInt64(keyLedger.behind(row: row))
            if connection.context.role == .slowSubscriber {
                statistics.pointee.ticker.slowKeysNotFinal += lacking
            } else {
                statistics.pointee.ticker.fastKeysNotFinal += lacking
            }
        }
    }
}
