import Glibc

/// What a connection could not write yet: references into shared buffers,
/// never copies of them. Allocated when the kernel first refuses bytes and
/// dropped once the queue drains, so a caught-up connection owns none.
/// Its bytes are also counted in its loop's total (`Connections.queuedOutputBytes`).
final class OutboundQueue {
    private struct Entry {
        var buffer: SharedBuffer
        var start: Int
        var end: Int
    }

    // A ring with power-of-two capacity. One connection's, on its loop, and no method calls
    // out while it changes them, so no access can overlap another: unchecked. On io_uring every
    // write goes through a queue, where a run-time check per access cost more than the work.
    @exclusivity(unchecked) private var ring: UnsafeMutablePointer<Entry>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private var head = 0
    @exclusivity(unchecked) private(set) var count = 0
    /// Bytes queued in total.
    @exclusivity(unchecked) private(set) var byteCount = 0
    /// The loop's count this queue's bytes are part of; nil while the queue
    /// travels to another loop with its connection.
    @exclusivity(unchecked) private var tally: ByteTally?

    init(tally: ByteTally) {
        capacity = 8
        ring = .allocate(capacity: capacity)
        self.tally = tally
    }

    deinit {
        removeAll()
        ring.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// `consuming`: the caller's reference moves into the entry (one retain per queued range, not two).
    func append(_ buffer: consuming SharedBuffer, start: Int, end: Int) {
        guard end > start else { return }
        if count == capacity { grow() }
        (ring + ((head + count) & (capacity - 1))).initialize(to: Entry(buffer: buffer, start: start, end: end))
        count += 1
        byteCount += end - start
        tally?.bytes += end - start
    }

    /// Queues the bytes of one write from `skip` on: `copied` (only lent for
    /// the call) copied, the shared slices referenced.
    func append(copied: UnsafeRawBufferPointer?, shared: UnsafeBufferPointer<SharedSlice>, skipping skip: Int) {
        var skip = skip
        if let copied, skip < copied.count {
            append(SharedBuffer(copying: UnsafeRawBufferPointer(rebasing: copied[skip...])), start: 0, end: copied.count - skip)
        }
        skip = max(0, skip - (copied?.count ?? 0))
        for slice in shared {
            if skip >= slice.count {
                skip -= slice.count
                continue
            }
            append(slice.buffer, start: slice.start + skip, end: slice.end)
            skip = 0
        }
    }

    /// Fills `vectors` with up to `limit` pending ranges, oldest first.
    func gather(into vectors: UnsafeMutablePointer<iovec>, limit: Int) -> Int {
        let filled = Swift.min(count, limit)
        for i in 0..<filled {
            let entry = ring[(head + i) & (capacity - 1)]
            vectors[i] = iovec(iov_base: entry.buffer.base + entry.start, iov_len: entry.end - entry.start)
        }
        return filled
    }

    /// The oldest pending range (the queue is not empty).
    var first: UnsafeRawBufferPointer {
        let entry = ring + head
        return UnsafeRawBufferPointer(start: entry.pointee.buffer.base + entry.pointee.start,
                                      count: entry.pointee.end - entry.pointee.start)
    }

    /// Drops `written` bytes from the front.
    func consume(_ written: Int) {
        var remaining = written
        byteCount -= written
        tally?.bytes -= written
        while remaining > 0 {
            let slot = ring + head
            let length = slot.pointee.end - slot.pointee.start
            if remaining < length {
                slot.pointee.start += remaining
                return
            }
            remaining -= length
            slot.deinitialize(count: 1)
            head = (head + 1) & (capacity - 1)
            count -= 1
        }
    }

    func removeAll() {
        tally?.bytes -= byteCount
        while count > 0 {
            (ring + head).deinitialize(count: 1)
            head = (head + 1) & (capacity - 1)
            count -= 1
        }
        byteCount = 0
    }

    /// Counts the queue's bytes in another loop's total instead (nil: in none, while it moves).
    func recount(into newTally: ByteTally?) {
        tally?.bytes -= byteCount
        tally = newTally
        tally?.bytes += byteCount
    }

    private func grow() {
        let larger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity * 2)
        for i in 0..<count {
            (larger + i).moveInitialize(from: ring + ((head + i) & (capacity - 1)), count: 1)
        }
        ring.deallocate()
        ring = larger
        capacity *= 2
        head = 0
    }
}

/// A loop's count of the bytes its outbound queues hold. A class, held by
/// every queue that counts into it: on io_uring a queue can outlive its
/// connection set (a send in flight at shutdown, a spare), and must never
/// write to a count that is gone.
final class ByteTally {
    @exclusivity(unchecked) var bytes = 0  // on its loop only, never across a call out
}

/// Reads of a queue lent by the slot that owns it (`ConnectionSlot.outboundReference`),
/// without the retain and release a strong reference would cost.
extension Unmanaged where Instance == OutboundQueue {
    var isEmpty: Bool { _withUnsafeGuaranteedRef { $0.isEmpty } }
    var byteCount: Int { _withUnsafeGuaranteedRef { $0.byteCount } }
}
