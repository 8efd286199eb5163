/// Puts one room's messages back in order on a process that does not number
/// them (a backend did, for every process alike). Messages arrive numbered,
/// in any order and possibly twice: pub/sub after a reconnection, answers to
/// fetches that overlap live ones. It releases them once each, in sequence
/// order, holds those above a gap, and says which range to fetch to fill the
/// gap; what the backend no longer has is skipped, and counted.
///
/// Sans-I/O, like the codecs: sequences in, what to release and what to ask
/// for out. The home loop of the room runs it; it knows nothing of loops.
struct Resequencer<Element> {
    /// What one call decided.
    struct Outcome {
        /// To append to the room, in this order (consecutive sequences, save after a skip).
        var released: [(sequence: UInt64, element: Element)] = []
        /// Ask the backend for the messages after `after` through `through`, then call `fetched`.
        var fetch: (after: UInt64, through: UInt64)?
        /// Sequences this process will never have (no longer kept by the backend, or numbers never used).
        var skipped: UInt64 = 0
        var duplicates = 0
        /// The room continues from this sequence, not from what this process last had: it began
        /// listening (mid-stream, where the backend stands), or the room started over.
        var startsAt: UInt64?
        /// The backend's sequence went back (it lost the room: a Redis restarted without its data):
        /// the room starts over from 0; what this process holds of it (history) no longer matches.
        var startedOver = false
    }

    /// The last sequence released or skipped.
    private(set) var last: UInt64 = 0
    /// False until the backend said where the room stands (`synchronize`), and again after a
    /// reconnection (`desynchronize`) until it says so again. Meanwhile everything is held.
    private(set) var isSynchronized = false
    /// Synchronized once before: a later `synchronize` continues from `last` (filling what was
    /// missed) instead of starting where the backend is.
    private var hasStarted = false
    /// Messages that cannot be released yet, by sequence.
    private var held: [UInt64: Element] = [:]
    /// The highest sequence known to exist (told by `synchronize`, or seen).
    private var known: UInt64 = 0
    /// The fill asked for and not yet answered.
    private(set) var fillInFlight: (after: UInt64, through: UInt64)?
    /// Past this many held messages, the gap below them is given up (skipped).
    let maxHeld: Int

    init(maxHeld: Int) {
        precondition(maxHeld > 0, "a resequencer holds at least one message")
        self.maxHeld = maxHeld
    }

    var heldCount: Int { held.count }

    /// A message as numbered by the backend.
    mutating func receive(_ sequence: UInt64, _ element: Element) -> Outcome {
        var outcome = Outcome()
        guard isSynchronized else {
            // Not known yet whether it is new: kept, and judged once synchronized.
            if held[sequence] == nil { held[sequence] = element } else { outcome.duplicates += 1 }
            if held.count > maxHeld, let oldest = held.keys.min() {
                held[oldest] = nil
                outcome.skipped += 1
            }
            return outcome
        }
        guard sequence > last, held[sequence] == nil else {
            outcome.duplicates += 1
            return outcome
        }
        held[sequence] = element
        known = max(known, sequence)
        settle(&outcome)
        return outcome
    }

    /// Where the backend's room stands: its last sequence now. The first time, the room starts
    /// there (a process that begins to listen mid-stream gets what follows); after a
    /// reconnection, what was published meanwhile is fetched; a sequence that went back means
    /// the backend started the room over.
    mutating func synchronize(lastSequence current: UInt64) -> Outcome {
        var outcome = Outcome()
        if !hasStarted {
            last = current
            known = current
            outcome.startsAt = current
        } else if current < last {
            outcome.startedOver = true
            outcome.startsAt = 0
            last = 0
            known = current
            // What is held above `current` predates the restart; what came since is at most `current`.
            held = held.filter { $0.key <= current }
        } else {
            known = max(known, current)
        }
        hasStarted = true
        isSynchronized = true
        fillInFlight = nil
        let stale = held.keys.filter { $0 <= last }
        outcome.duplicates += stale.count
        for sequence in stale { held[sequence] = nil }
        settle(&outcome)
        return outcome
    }

    /// The backend's connection was lost and made again: hold everything until `synchronize`.
    mutating func desynchronize() {
        isSynchronized = false
        fillInFlight = nil
    }

    /// This process stopped listening; when it listens again, it starts afresh.
    mutating func reset() {
        self = Resequencer(maxHeld: maxHeld)
    }

    /// The answer to the fill asked for: the messages the backend still has in that range, in
    /// order. `complete` is false when it sent only the first part (a count limit): the rest is
    /// asked for next. What the answer shows missing is skipped.
    mutating func fetched(_ entries: [(sequence: UInt64, element: Element)], complete: Bool) -> Outcome {
        var outcome = Outcome()
        guard isSynchronized, let fill = fillInFlight else { return outcome }  // answered after a reconnection: stale
        fillInFlight = nil
        for entry in entries where entry.sequence <= fill.through {
            if entry.sequence > last && held[entry.sequence] == nil {
                held[entry.sequence] = entry.element
            } else {
                outcome.duplicates += 1
            }
        }
        let covered = complete ? fill.through : (entries.last.map { min($0.sequence, fill.through) } ?? fill.through)
        release(&outcome)
        while last < covered {
            // Not in the answer, so not kept: skip up to the next message there is.
            let next = held.keys.filter { $0 > last }.min().map { min($0, covered + 1) } ?? covered + 1
            outcome.skipped += next - last - 1
            last = next - 1
            release(&outcome)
        }
        settle(&outcome)
        return outcome
    }

    /// The fill could not be made (the backend is unavailable): asked again once more arrives,
    /// at the next `retry`, or after the next synchronization.
    mutating func fetchFailed() {
        fillInFlight = nil
    }

    /// Asks again for what is missing, when no fill is in flight (one failed, and nothing has
    /// arrived since to ask for it).
    mutating func retry() -> Outcome {
        var outcome = Outcome()
        settle(&outcome)
        return outcome
    }

    /// Releases what follows `last`, gives up a gap held up too long, asks for what is missing.
    private mutating func settle(_ outcome: inout Outcome) {
        release(&outcome)
        if held.count > maxHeld, let lowest = held.keys.min() {
            outcome.skipped += lowest - last - 1
            last = lowest - 1
            release(&outcome)
        }
        guard fillInFlight == nil else { return }
        let through = held.isEmpty ? known : held.keys.min()! - 1
        if through > last {
            fillInFlight = (last, through)
            outcome.fetch = (last, through)
        }
    }

    private mutating func release(_ outcome: inout Outcome) {
        while let next = held.removeValue(forKey: last + 1) {
            last += 1
            outcome.released.append((last, next))
        }
    }
}
