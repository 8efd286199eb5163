import CEpoll
import Glibc

/// Bytes as they are: one `recv` per readiness into the loop's receive
/// buffer, one `sendmsg` per write straight from the cork and the shared
/// frames (zero-copy), and a queue of references for what the kernel refuses.
struct PlainTCP: Transport {
    func opened<Handler>(_ slot: UInt32, in connections: Connections<Handler>, accepted: Bool) -> Bool { true }

    /// One read per readiness per pass: a busy peer cannot starve the others
    /// or the end-of-pass flush. Level-triggered epoll reports what is left.
    func readable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        let entry = connections.table[slot]
        let buffer = connections.loop.receiveBuffer
        let kept = connections.moveKeptInputToReceiveBuffer(entry)
        // With the buffer already full of kept input (a handler that paused reading), recv would be
        // asked for 0 bytes and answer 0, which reads as the peer's end: present the kept input instead.
        let room = buffer.count - kept
        let received = room > 0 ? recv(entry.pointee.descriptor, buffer.baseAddress! + kept, room, 0) : 0
        if received > 0 || room == 0 {
            connections.bytesReceived &+= UInt64(max(received, 0))
            connections.present(slot, entry, count: kept + received)
        } else if received == 0 {
            connections.inputEnded(slot, kept: kept)
        } else {
            connections.inputFailed(slot, kept: kept, errno: errno)
        }
    }

    /// One write for `copied` then the shared slices; what is refused is
    /// queued (the copied part copied, the shared parts referenced).
    @inline(__always)
    func transmit<Handler>(_ slot: UInt32, in connections: Connections<Handler>,
                           copied: UnsafeRawBufferPointer?, shared: UnsafeBufferPointer<SharedSlice>) {
        let entry = connections.table[slot]
        let copiedCount = copied?.count ?? 0
        if entry.pointee.flags.contains(.connecting) || !(entry.pointee.outboundReference?.isEmpty ?? true) {
            // Waiting for EPOLLOUT (the socket is full, or not connected yet): queue, do not try.
            let queue = entry.pointee.outbound ?? connections.makeOutboundQueue(entry)
            queue.append(copied: copied, shared: shared, skipping: 0)
            return
        }
        let vectors = connections.vectors
        var offered = 0
        var first = 0  // the first shared slice that fits in this call
        var written = 0
        if copiedCount > 0 || !shared.isEmpty {
            var vectorCount = 0
            if let copied, copiedCount > 0 {
                vectors[0] = iovec(iov_base: UnsafeMutableRawPointer(mutating: copied.baseAddress!), iov_len: copiedCount)
                vectorCount = 1
            }
            while first < shared.count && vectorCount < Connections<Handler>.maxVectors {
                let slice = shared[first]
                vectors[vectorCount] = iovec(iov_base: slice.buffer.base + slice.start, iov_len: slice.count)
                vectorCount += 1
                offered += slice.count
                first += 1
            }
            offered += copiedCount
            written = connections.send(slot, vectorCount: vectorCount)
            guard written >= 0 else { return }  // closed
            if written == offered && first == shared.count { return }
        }
        // Queue the rest: the unsent tail of the copy, then each unsent part of the shared slices.
        let queue = entry.pointee.outbound ?? connections.makeOutboundQueue(entry)
        queue.append(copied: copied, shared: shared, skipping: written)
        connections.updateInterest(slot)
    }

    /// EPOLLOUT: everything queued leaves in one sendmsg (IOV_MAX at a time).
    func writable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        let entry = connections.table[slot]
        guard let queue = entry.pointee.outbound else {
            connections.updateInterest(slot)
            return
        }
        let vectors = connections.vectors
        while !queue.isEmpty {
            let vectorCount = queue.gather(into: vectors, limit: Connections<Handler>.maxVectors)
            let written = connections.send(slot, vectorCount: vectorCount)
            guard written > 0 else { return }  // full again, or closed
            let offered = (0..<vectorCount).reduce(0) { $0 + vectors[$1].iov_len }
            queue.consume(written)
            if written < offered { return }
        }
        entry.pointee.outbound = nil
        connections.drained(slot)
    }

    func shutdownWrite<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {
        shutdown(connections.table[slot].pointee.descriptor, Int32(SHUT_WR))
    }

    func closing<Handler>(_ slot: UInt32, in connections: Connections<Handler>) {}

    func queuedBytes<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Int {
        connections.table[slot].pointee.outboundReference?.byteCount ?? 0
    }

    func wantsWritable<Handler>(_ slot: UInt32, in connections: Connections<Handler>) -> Bool {
        !(connections.table[slot].pointee.outboundReference?.isEmpty ?? true)
    }

    func flush<Handler>(_ connections: Connections<Handler>) {}
}
