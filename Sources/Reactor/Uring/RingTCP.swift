import CEpoll
import CURing
import Glibc

/// Plain TCP on an io_uring loop (see `Transport` and `Ring`).
///
/// Receiving: one multishot receive per connection, armed when it opens,
/// into the loop's ring of provided buffers; each completion is presented
/// from its buffer (after any input the handler kept) and the buffer goes
/// back at once. No system call per receive.
///
/// Sending: what a connection writes during a pass is queued (the copied
/// part into the `SendArena`, shared frames by reference, as epoll queues
/// only what the kernel refuses), and at the end of the pass each connection
/// with bytes queued gets one send request, submitted with all the others
/// by the loop's next wait. One send at a time per connection keeps the
/// byte order. A connection with `sendNowThreshold` bytes waiting is sent
/// at once instead, on its own, and the kernel's answer read back at once:
/// a writer that produces while `queuedBytes` is low (a stream, a large
/// response) sees what the kernel refuses as soon as on epoll. A send that outlives the pass after its submission means the
/// kernel refused bytes: the connection is behind, `queuedBytes` counts what
/// it holds (what the slow-subscriber cap reads), and the handler hears
/// `connectionDrained` once all has left, as on epoll.
///
/// Descriptors are registered in the ring's file table at their own number
/// (one queued update each, no system call), so requests skip the lookup.
final class RingTCP: Transport {
    // Loop-confined and never touched by anything it calls back into, so no access can overlap
    // another: its state is unchecked (a run-time exclusivity check per access cost more than
    // the work; callgrind, write-1000-sockets-uring).
    private let ring: Ring
    /// Connections whose receive is armed at the end of the pass.
    @exclusivity(unchecked) private var receivesDue = PendingList<UInt32>()
    /// Connections with bytes to send at the end of the pass.
    @exclusivity(unchecked) private var sendsDue = PendingList<UInt32>()
    /// The sends submitted at the last flush: those still with the kernel at the next are behind.
    @exclusivity(unchecked) private var sendsSubmitted = PendingList<ConnectionID>()
    /// Queues of closed connections whose send the kernel still had, by its
    /// user data: they keep the bytes alive until the send's completion.
    @exclusivity(unchecked) private var retired: [UInt64: OutboundQueue] = [:]
    /// Emptied queues, for the next connection that writes: a stack of
    /// `spareQueueLimit` references this transport owns (+1 each), handed to
    /// a slot and back without a retain or release.
    private let spareQueues = UnsafeMutablePointer<Unmanaged<OutboundQueue>>.allocate(capacity: RingTCP.spareQueueLimit)
    @exclusivity(unchecked) private var spareCount = 0
    @exclusivity(unchecked) private var arena = SendArena()

    /// Enough for a broadcast to every connection of a large room: above it,
    /// each pass of a fan-out to 10,000 freed and made ~9,000 queues (four
    /// mallocs and frees per delivery). At most ~4 MiB per loop, held only
    /// after such a burst (a queue is ~250 bytes).
    private static var spareQueueLimit: Int { 16_384 }
    static var sendNowThreshold: Int { 64 * 1024 }
    /// Vectors per sendmsg; a longer queue goes in several sends.
    private static var vectorsPerSend: Int { 256 }

    init(ring: Ring) {
        self.ring = ring
    }

    deinit {
        for index in 0..<spareCount { spareQueues[index].release() }
        spareQueues.deallocate()
    }

    // MARK: Request identities

    /// A receive: the slot's generation (11 bits) and the epoch of the arm.
    private func receiveRequest<Handler>(_ slot: UInt32, _ entry: Connections<Handler>.SlotPointer, in connections: Connections<Handler>) -> UInt64 {
        let epoch: UInt32 = entry.pointee.flags.contains(.ringReceiveEpoch) ? 0x800 : 0
        return RingCompletion.userData(.receive, source: connections.sourceIndex, tag: entry.pointee.generation & 0x7FF | epoch, slot: slot)
    }

    private func sendRequest<Handler>(_ slot: UInt32, _ entry: Connections<Handler>.SlotPointer, in connections: Connections<Handler>) -> UInt64 {
        RingCompletion.userData(.send, source: connections.sourceIndex, tag: entry.pointee.generation & 0xFFF, slot: slot)
    }

    // MARK: Transport

    func opened<Handler>(_ slot: UInt32, in connections: Connections<Handler>, accepted: Bool) -> Bool {
        scheduleReceive(slot, connections.table[slot])
        return true
    }

    /// Readiness reaches a ring connection only while it connects (see `Connections.finishConnect`).
    func readable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {}

    func writable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {}

    @inline(__always)
    func transmit<Handler>(_ slot: UInt32, in connections: Connections<Handler>,
                           copied: UnsafeRawBufferPointer?, shared: UnsafeBufferPointer<SharedSlice>) {
        let entry = connections.table[slot]
        let queue = entry.pointee.outboundReference ?? takeQueue(entry, in: connections)
        let queuedBytes = queue._withUnsafeGuaranteedRef { queue in
            if let copied, !copied.isEmpty {
                let (buffer, start) = arena.copy(copied)
                queue.append(buffer, start: start, end: start + copied.count)
            }
            for slice in shared { queue.append(slice.buffer, start: slice.start, end: slice.end) }
            return queue.byteCount
        }
        if _slowPath(queuedBytes >= Self.sendNowThreshold) && !entry.pointee.flags.contains(.ringSending)
            && !entry.pointee.flags.contains(.connecting) {
            sendNow(slot, entry, queue, connections)
        } else {
            scheduleSend(slot, entry)
        }
    }

    func shutdownWrite<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        shutdown(connections.table[slot].pointee.descriptor, Int32(SHUT_WR))
    }

    /// Cancels what the ring holds for the connection; a send the kernel is
    /// still working on keeps its bytes (its queue is retired until the send
    /// completes). What the connection wrote earlier in this pass still
    /// leaves, as on epoll, where it left when written: its send is queued
    /// on the registered file, which keeps the socket alive after close(2)
    /// until the table update behind it lets go (then the peer sees the bytes,
    /// then the end). An unregistered descriptor cannot outlive close(2): its
    /// bytes are dropped.
    func closing<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        let entry = connections.table[slot]
        let flags = entry.pointee.flags
        if flags.contains(.ringReceiving) { ring.cancel(receiveRequest(slot, entry, in: connections)) }
        if let reference = entry.pointee.outboundReference {
            entry.pointee.outboundReference = nil  // the slot's reference is now this one
            if flags.contains(.ringSending) {
                let request = sendRequest(slot, entry, in: connections)
                ring.cancel(request)
                retired[request] = reference.takeRetainedValue()
            } else if !reference.isEmpty && flags.contains(.ringFileRegistered) && !flags.contains(.connecting) {
                submitSend(slot, entry, reference, connections)
                retired[sendRequest(slot, entry, in: connections)] = reference.takeRetainedValue()
            } else {
                recycle(reference)
            }
        }
        if flags.contains(.ringFileRegistered) { ring.updateFile(entry.pointee.descriptor, to: -1) }
    }

    /// What the handler counts as held: bytes only while the kernel refuses
    /// them (its send outlived a pass, or took part). Bytes written this pass
    /// leave at its end: on epoll they would have gone already.
    func queuedBytes<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Int {
        let entry = connections.table[slot]
        guard !entry.pointee.flags.isDisjoint(with: [.ringSending, .ringBehind]) else { return 0 }
        return entry.pointee.outboundReference?.byteCount ?? 0
    }

    /// Whether any written byte has not left yet (what a close after flush waits for).
    func holdsBytes<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Bool {
        !(connections.table[slot].pointee.outboundReference?.isEmpty ?? true)
    }

    func wantsWritable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Bool { false }

    /// Keeps the ring's requests in step with the slot: a receive while it
    /// reads, none while it pauses; a send when bytes wait.
    func updateInterest<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        let entry = connections.table[slot]
        let flags = entry.pointee.flags
        guard flags.contains(.open), !flags.contains(.connecting) else { return }
        if flags.contains(.readPaused) {
            if flags.contains(.ringReceiving) {
                ring.cancel(receiveRequest(slot, entry, in: connections))
                entry.pointee.flags.remove(.ringReceiving)
            }
        } else if !flags.contains(.readEnded) {
            scheduleReceive(slot, entry)
        }
        if !(entry.pointee.outboundReference?.isEmpty ?? true) { scheduleSend(slot, entry) }
    }

    /// The end of the pass: receives armed and sends queued for submission.
    func flush<Handler>(_ connections: Connections<Handler>) {
        sendsSubmitted.forEach { id in
            let entry = connections.table[id.slot]
            if entry.pointee.generation == id.generation && entry.pointee.flags.contains(.ringSending) {
                entry.pointee.flags.insert(.ringBehind)
            }
        }
        sendsSubmitted.removeAll()
        receivesDue.forEach { slot in
            let entry = connections.table[slot]
            entry.pointee.flags.remove(.ringReceiveDue)
            let flags = entry.pointee.flags
            guard flags.contains(.open), flags.isDisjoint(with: [.connecting, .readEnded, .readPaused, .ringReceiving]) else { return }
            armReceive(slot, entry, connections)
        }
        receivesDue.removeAll()
        sendsDue.forEach { slot in
            let entry = connections.table[slot]
            entry.pointee.flags.remove(.ringSendDue)
            let flags = entry.pointee.flags
            guard flags.contains(.open), flags.isDisjoint(with: [.connecting, .ringSending]),
                  let queue = entry.pointee.outboundReference, !queue.isEmpty else { return }
            submitSend(slot, entry, queue, connections)
        }
        sendsDue.removeAll()
    }

    // MARK: Receiving

    private func scheduleReceive<Context>(_ slot: UInt32, _ entry: UnsafeMutablePointer<ConnectionSlot<Context>>) {
        guard entry.pointee.flags.isDisjoint(with: [.ringReceiving, .ringReceiveDue]) else { return }
        entry.pointee.flags.insert(.ringReceiveDue)
        receivesDue.append(slot)
    }

    private func armReceive<Handler>(_ slot: UInt32, _ entry: Connections<Handler>.SlotPointer, _ connections: Connections<Handler>) {
        let fixed = registerFile(entry)
        entry.pointee.flags.formSymmetricDifference(.ringReceiveEpoch)
        entry.pointee.flags.insert(.ringReceiving)
        // A registered descriptor's index is its own number.
        curing_prep_recv_multishot(ring.entry(), entry.pointee.descriptor, fixed ? 1 : 0, Ring.bufferGroup,
                                   receiveRequest(slot, entry, in: connections))
    }

    /// Registers the descriptor at its own number, once; true when requests may use it as a registered file.
    private func registerFile<Context>(_ entry: UnsafeMutablePointer<ConnectionSlot<Context>>) -> Bool {
        if entry.pointee.flags.contains(.ringFileRegistered) { return true }
        let descriptor = entry.pointee.descriptor
        guard ring.isRegistrable(descriptor) else { return false }
        ring.updateFile(descriptor, to: descriptor)
        entry.pointee.flags.insert(.ringFileRegistered)
        return true
    }

    /// A receive's completion: bytes in a provided buffer, the peer's end, or
    /// an error; without `hasMore` the receive has ended.
    @inline(__always)
    func completeReceive<Handler>(_ completion: RingCompletion, in connections: Connections<Handler>) {
        let slot = completion.slot
        let entry = connections.table[slot]
        let buffer = completion.buffer
        defer { if let buffer { ring.recycle(buffer) } }
        let flags = entry.pointee.flags
        guard flags.contains(.open), entry.pointee.generation & 0x7FF == completion.tag & 0x7FF else { return }
        // Completions of a receive cancelled earlier (a pause) still carry bytes, in order; only the current one's end counts.
        let current = flags.contains(.ringReceiveEpoch) == (completion.tag & 0x800 != 0)
        let result = completion.result
        if result > 0, let buffer {
            connections.bytesReceived &+= UInt64(result)
            var last = completion
            if let next = ring.peekFollowing(1, for: completion.userData), next.result > 0 {
                last = presentBurst(slot, entry, first: completion, buffer, next, connections)
            } else {
                connections.present(slot, entry, received: UnsafeMutableRawBufferPointer(start: ring.buffer(buffer), count: Int(result)))
            }
            if current && !last.hasMore {
                entry.pointee.flags.remove(.ringReceiving)
                if entry.pointee.flags.contains(.open) { scheduleReceive(slot, entry) }
            }
            return
        }
        guard current else { return }
        if !completion.hasMore { entry.pointee.flags.remove(.ringReceiving) }
        switch result {
        case 0:
            connections.inputEnded(slot, kept: 0)
        case -ENOBUFS, -EAGAIN, -EINTR:
            scheduleReceive(slot, entry)  // out of buffers: armed again once this pass has given them back
        case -ECANCELED:
            break
        default:
            connections.inputFailed(slot, kept: 0, errno: -result)
        }
    }

    /// Several completions of one receive in a row (a burst the kernel read
    /// in one go, a buffer each): copied together into the loop's receive
    /// buffer and presented once, as one `recv` would have read them. With
    /// input kept from before, or reading paused, or once the receive buffer
    /// is full, each is presented (or kept) on its own instead. Returns the
    /// last completion taken.
    private func presentBurst<Handler>(_ slot: UInt32, _ entry: Connections<Handler>.SlotPointer, first: RingCompletion, _ firstBuffer: UInt16,
                                       _ second: RingCompletion, _ connections: Connections<Handler>) -> RingCompletion {
        let receiveBuffer = connections.loop.receiveBuffer
        var gathering = entry.pointee.pendingInput.isEmpty && !entry.pointee.flags.contains(.readPaused)
        var total = 0
        var last = first
        func take(_ completion: RingCompletion, _ buffer: UInt16) {
            last = completion
            let count = Int(completion.result)
            if gathering && total + count > receiveBuffer.count {
                connections.present(slot, entry, count: total)
                gathering = false
            }
            guard entry.pointee.flags.contains(.open) else { return }
            if gathering {
                (receiveBuffer.baseAddress! + total).copyMemory(from: ring.buffer(buffer), byteCount: count)
                total += count
            } else {
                connections.present(slot, entry, received: UnsafeMutableRawBufferPointer(start: ring.buffer(buffer), count: count))
            }
        }
        take(first, firstBuffer)
        var distance: UInt32 = 0
        var next: RingCompletion? = second
        while let completion = next, completion.result > 0, let buffer = completion.buffer {
            // (A completion that is not bytes, the peer's end or an error, is left to its own turn.)
            distance += 1
            ring.skipFollowing(distance)
            connections.bytesReceived &+= UInt64(completion.result)
            take(completion, buffer)
            ring.recycle(buffer)
            next = completion.hasMore ? ring.peekFollowing(distance + 1, for: first.userData) : nil
        }
        if gathering && total > 0 && entry.pointee.flags.contains(.open) { connections.present(slot, entry, count: total) }
        return last
    }

    // MARK: Sending

    @inline(__always)
    private func scheduleSend<Context>(_ slot: UInt32, _ entry: UnsafeMutablePointer<ConnectionSlot<Context>>) {
        guard entry.pointee.flags.isDisjoint(with: [.ringSending, .ringSendDue]) else { return }
        entry.pointee.flags.insert(.ringSendDue)
        sendsDue.append(slot)
    }

    /// A spare queue when there is one, else a new one, made the slot's. A
    /// spare already counts into this set's total of queued bytes: every
    /// queue this transport recycles was made by its set or recounted into it
    /// on arrival (`Connections.adopt`), and the transport goes with the set.
    private func takeQueue<Handler>(_ entry: Connections<Handler>.SlotPointer, in connections: Connections<Handler>) -> Unmanaged<OutboundQueue> {
        guard spareCount > 0 else {
            _ = connections.makeOutboundQueue(entry)
            return entry.pointee.outboundReference!
        }
        spareCount -= 1
        entry.pointee.outboundReference = spareQueues[spareCount]  // the spare's reference moves to the slot
        return spareQueues[spareCount]
    }

    /// Takes a queue whose reference the caller owns (taken from its slot): emptied and kept as a spare, or let go.
    private func recycle(_ queue: Unmanaged<OutboundQueue>) {
        queue._withUnsafeGuaranteedRef { $0.removeAll() }  // (which takes its bytes out of the set's total)
        if spareCount < Self.spareQueueLimit {
            spareQueues[spareCount] = queue
            spareCount += 1
        } else {
            queue.release()
        }
    }

    private func submitSend<Handler>(_ slot: UInt32, _ entry: Connections<Handler>.SlotPointer, _ queue: Unmanaged<OutboundQueue>,
                                     _ connections: Connections<Handler>) {
        let fixed = registerFile(entry)
        let descriptor = entry.pointee.descriptor
        let request = sendRequest(slot, entry, in: connections)
        queue._withUnsafeGuaranteedRef { queue in
            let count = min(queue.count, Self.vectorsPerSend)
            if count == 1 {
                let range = queue.first
                curing_prep_send(ring.entry(), descriptor, fixed ? 1 : 0, range.baseAddress, UInt32(clamping: range.count), request)
            } else {
                let sqe = ring.entry(vectors: count, message: true)
                let (message, vectors) = ring.message(vectors: count)
                _ = queue.gather(into: vectors, limit: count)
                curing_prep_sendmsg(sqe, descriptor, fixed ? 1 : 0, message, request)
            }
        }
        entry.pointee.flags.insert(.ringSending)
        sendsSubmitted.append(ConnectionID(slot: slot, generation: entry.pointee.generation))
    }

    /// Submits the connection's send now, alone, and applies its completion
    /// if the kernel answered at once (it took the bytes, or part); else the
    /// send waits for room in the socket and the connection is behind.
    /// The handler hears nothing from here (it is writing).
    private func sendNow<Handler>(_ slot: UInt32, _ entry: Connections<Handler>.SlotPointer, _ queue: Unmanaged<OutboundQueue>,
                                  _ connections: Connections<Handler>) {
        entry.pointee.flags.remove(.ringSendDue)  // (a stale entry in sendsDue finds nothing to do)
        submitSend(slot, entry, queue, connections)
        ring.submitQueued()
        let request = sendRequest(slot, entry, in: connections)
        var answer: RingCompletion?
        ring.takeQueued(matching: { $0 == request }) { answer = $0 }
        if let answer {
            completeSend(answer, in: connections, quietly: true)
        } else {
            entry.pointee.flags.insert(.ringBehind)
        }
    }

    /// A send's completion: what it wrote leaves the queue; the rest (a
    /// partial send, or bytes written while it was with the kernel) goes at
    /// the end of this pass, and the connection counts as behind till then.
    /// `quietly`: the handler is not told it drained (it is the one writing).
    @inline(__always)
    func completeSend<Handler>(_ completion: RingCompletion, in connections: Connections<Handler>, quietly: Bool = false) {
        let slot = completion.slot
        let entry = connections.table[slot]
        guard entry.pointee.flags.contains(.open), entry.pointee.flags.contains(.ringSending),
              entry.pointee.generation & 0xFFF == completion.tag else {
            retired.removeValue(forKey: completion.userData)  // a closed connection's send: its bytes can go now
            return
        }
        entry.pointee.flags.remove(.ringSending)
        guard let queue = entry.pointee.outboundReference else { return }
        let result = completion.result
        // Everything queued has left (the common case): recycling empties the queue, so it is not walked first.
        let allSent = result > 0 && Int(result) == queue.byteCount
        if result > 0 {
            if !allSent { queue._withUnsafeGuaranteedRef { $0.consume(Int(result)) } }
            connections.bytesSent &+= UInt64(result)
        } else if result < 0 {
            switch -result {
            case EAGAIN, EINTR, ENOBUFS:
                break  // try again at the end of the pass
            case EPIPE, ECONNRESET:
                connections.closeSlot(slot, reason: .reset)
                return
            default:
                connections.closeSlot(slot, reason: .failed(SystemError("sendmsg", errno: -result)))
                return
            }
        }
        if allSent || queue.isEmpty {
            entry.pointee.outboundReference = nil  // its reference goes to recycle
            recycle(queue)
            let wasBehind = entry.pointee.flags.contains(.ringBehind)
            entry.pointee.flags.remove(.ringBehind)
            if !quietly && (wasBehind || entry.pointee.flags.contains(.closeAfterFlush)) { connections.drained(slot) }
        } else {
            entry.pointee.flags.insert(.ringBehind)
            scheduleSend(slot, entry)
        }
    }

    // MARK: Moving between loops

    /// The connection leaves this loop: what it wrote is sent first (as on
    /// epoll, a reset found then closes it: nil), its receive and send are
    /// cancelled now, and what they did before the cancel (bytes received,
    /// bytes sent) is taken out of the completion queue. Returns the bytes
    /// received that the handler has not seen, to go with the connection.
    func detach<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> [UInt8]? {
        let entry = connections.table[slot]
        if let queue = entry.pointee.outboundReference, !queue.isEmpty, !entry.pointee.flags.contains(.ringSending) {
            sendNow(slot, entry, queue, connections)
            guard entry.pointee.flags.contains(.open) else { return nil }
        }
        let receive = receiveRequest(slot, entry, in: connections)
        let send = sendRequest(slot, entry, in: connections)
        if entry.pointee.flags.contains(.ringReceiving) { ring.cancelNow(receive) }
        if entry.pointee.flags.contains(.ringSending) { ring.cancelNow(send) }
        let source = UInt64(connections.sourceIndex)
        let generation = entry.pointee.generation
        var input: [UInt8] = []
        ring.takeQueued(matching: { userData in
            let completion = RingCompletion(userData: userData, result: 0, flags: 0)
            guard UInt64(completion.source) == source, completion.slot == slot else { return false }
            switch completion.request {
            case .receive: return completion.tag & 0x7FF == generation & 0x7FF
            case .send: return completion.tag == generation & 0xFFF
            default: return false
            }
        }) { completion in
            if completion.request == .receive {
                if let buffer = completion.buffer {
                    if completion.result > 0 {
                        input.append(contentsOf: UnsafeRawBufferPointer(start: ring.buffer(buffer), count: Int(completion.result)))
                        connections.bytesReceived &+= UInt64(completion.result)
                    }
                    ring.recycle(buffer)
                }
            } else if completion.result > 0 {
                entry.pointee.outbound?.consume(Int(completion.result))
                connections.bytesSent &+= UInt64(completion.result)
            }
        }
        entry.pointee.flags.remove([.ringReceiving, .ringSending])
        if entry.pointee.flags.contains(.ringFileRegistered) {
            ring.updateFile(entry.pointee.descriptor, to: -1)
            entry.pointee.flags.remove(.ringFileRegistered)
        }
        return input
    }
}
