/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    let value: UInt64
}

/// A loop's timers: a binary min-heap of deadlines. Few timers live here
/// (sweeps, retries, periodic work); per-connection timeouts are a field
/// swept once per tick, never an entry each.
struct TimerQueue {
    private struct Entry {
        var deadline: UInt64
        var id: UInt64
    }

    private final class Timer {
        let interval: UInt64?
        let body: () -> Void
        init(interval: UInt64?, body: @escaping () -> Void) {
            self.interval = interval
            self.body = body
        }
    }

    private var heap: [Entry] = []
    private var timers: [UInt64: Timer] = [:]
    private var nextID: UInt64 = 1

    var isEmpty: Bool { timers.isEmpty }
    /// Timers scheduled and not cancelled.
    var count: Int { timers.count }

    mutating func schedule(at deadline: UInt64, interval: UInt64?, _ body: @escaping () -> Void) -> TimerID {
        let id = nextID
        nextID += 1
        timers[id] = Timer(interval: interval, body: body)
        push(Entry(deadline: deadline, id: id))
        return TimerID(value: id)
    }

    mutating func cancel(_ timer: TimerID) {
        timers[timer.value] = nil
    }

    /// The earliest live deadline, dropping cancelled entries on the way.
    mutating func nextDeadline() -> UInt64? {
        while let top = heap.first {
            if timers[top.id] != nil { return top.deadline }
            popTop()
        }
        return nil
    }

    /// Runs every timer due at `now`, rescheduling repeating ones. A timer
    /// scheduled by a running body waits for the next call.
    mutating func runExpired(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let top = heap.first, top.deadline <= now {
            popTop()
            guard let timer = timers[top.id] else { continue }
            due.append(timer.body)
            if let interval = timer.interval {
                // Skip missed periods instead of firing a burst after a stall.
                var next = top.deadline &+ interval
                if next <= now { next = now &+ interval }
                push(Entry(deadline: next, id: top.id))
            } else {
                timers[top.id] = nil
            }
        }
        return due
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            let right = left + 1
            let smaller = right < heap.count && heap[right].deadline < heap[left].deadline ? right : left
            guard heap[smaller].deadline < heap[parent].deadline else { break }
            heap.swapAt(smaller, parent)
            parent = smaller
        }
    }
}
