import Glibc
import Reactor

/// A slow subscriber (the ticker scenario's `--slow`) and what it may read.
struct SlowReader {
    var id: ConnectionID
    var allowance = ReadAllowance()
    /// Bytes taken from the socket but not received yet: the start of a frame
    /// (and, at most, a frame or two past the allowance). Usually empty.
    var carry: [UInt8] = []
    /// Closing: it reads whatever comes, at full speed, until the end of the stream.
    var finishing = false
}

// Slow subscribers. The reactor stops reading their sockets once they are
// established (EPOLLIN off); every `slowReadInterval` each one takes from its
// socket about the bytes of the messages it has earned, no more, and
// receives the whole frames among them through the usual receive path. The
// rest waits in the kernel: its receive buffer, then the server's send
// buffer, fill, and the server sees it behind, as it would a slow phone.
// What it took past a frame boundary waits in its carry for the next read (a
// socket must be drained past a partial frame, or the kernel, still charging
// the rest of the segment, may never reopen the window). Once publishing
// stops it reads at full speed: what waits for it in the kernel can be
// megabytes, minutes at its pace. Closing, it reads everything; at the end of
// the stream (or an error, or a frame too large to hold) it hands the socket
// back to the reactor, which sees the end.
extension LoadGenerator {
    /// How often slow subscribers read: one timer pass per loop, never a timer per subscriber.
    static let slowReadInterval: UInt64 = 10_000_000
    /// What a slow subscriber may save up: five reads' worth, so a tick a busy loop makes late
    /// (by up to 40 ms) costs it nothing, while one with nothing to read gains no burst.
    static let slowReadSaving: UInt64 = 5 * slowReadInterval

    /// Messages a second each slow subscriber reads: its fraction of the window's publish rate.
    var slowReadRate: Double { Double(window?.rate ?? 0) * plan.slowSpeed }

    /// Bytes of one update frame as the server sends it.
    var updateFrameSize: Int { plan.payloadSize + (plan.payloadSize < 126 ? 2 : plan.payloadSize < 65536 ? 4 : 10) }

    /// The subscriber is established: from now on it reads only what it has earned.
    func startReadingSlowly(_ connection: Connection<LoadGenerator>) {
        if slowScratch == nil {
            // Room for the largest allowance's read, and for several frames of any size wsbench sends.
            slowScratch = .allocate(byteCount: max(64 * 1024, 4 * (updateFrameSize + 256)), alignment: 16)
        }
        connection.pauseReading()
        if plan.slowReceiveBuffer > 0 {
            // What a slow link leaves in the phone's buffer is little: the backlog stays with the server.
            var size = Int32(plan.slowReceiveBuffer)
            _ = setsockopt(connection.descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        slowReaders.append(SlowReader(id: connection.id))
        lastSlowRead = monotonicNanoseconds()
    }

    /// Closing: the subscriber reads everything from now on, the server's close frame and end of stream included.
    func finishReadingSlowly(_ connection: Connection<LoadGenerator>) {
        guard let index = slowReaders.firstIndex(where: { $0.id == connection.id }) else { return }
        slowReaders[index].finishing = true
    }

    /// The reactor reads the socket again: for a connection that failed, or one at its end.
    func stopReadingSlowly(_ connection: Connection<LoadGenerator>) {
        slowReaders.removeAll { $0.id == connection.id }
        connection.resumeReading()
    }

    /// From the tick: every slow subscriber reads what it earned since the
    /// last time, when that is due. Returns the delay until the next time.
    func readSlowlyWhenDue(now: UInt64) -> UInt64 {
        let due = lastSlowRead &+ Self.slowReadInterval
        guard now >= due else { return due - now }
        let elapsed = now - lastSlowRead
        lastSlowRead = now
        let perSecond = slowReadRate
        let cap = perSecond * Double(Self.slowReadSaving) / 1e9
        let publishing = now < measureEnd
        var index = 0
        while index < slowReaders.count {
            guard let connection = connections.connection(slowReaders[index].id),
                  connection.context.phase == .open || connection.context.phase == .closing else {
                slowReaders.remove(at: index)
                continue
            }
            let messages: Int
            if slowReaders[index].finishing || !publishing {
                messages = .max
            } else {
                slowReaders[index].allowance.earn(perSecond: perSecond, over: elapsed, cap: cap)
                messages = slowReaders[index].allowance.messages
            }
            if messages > 0 {
                // A copy: receiving may close the connection, which changes the list (finishing, or removed).
                var reader = slowReaders[index]
                let outcome = readSlowly(connection, &reader, messages: messages)
                guard index < slowReaders.count && slowReaders[index].id == reader.id else { continue }  // removed meanwhile
                if outcome.handOver {
                    stopReadingSlowly(connection)
                    continue
                }
                if messages != .max { reader.allowance.spend(outcome.read) }
                reader.finishing = slowReaders[index].finishing
                slowReaders[index] = reader
            }
            index += 1
        }
        return Self.slowReadInterval
    }

    /// Takes from the socket about the bytes of `messages` updates, and
    /// receives the whole frames of at most `messages` messages from what it
    /// carried and took; returns how many messages, and whether the reactor
    /// must take the socket over.
    private func readSlowly(_ connection: Connection<LoadGenerator>, _ reader: inout SlowReader,
                            messages: Int) -> (read: Int, handOver: Bool) {
        let scratch = slowScratch!
        var filled = reader.carry.count
        reader.carry.withUnsafeBytes { scratch.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: filled) }
        reader.carry.removeAll(keepingCapacity: true)
        // Up to the allowance's frames and a control frame or two, and at least what completes a frame carried.
        let (frames, overflow) = messages.multipliedReportingOverflow(by: updateFrameSize)
        var target = overflow ? scratch.count : min(scratch.count, frames + 256)
        if filled > 0 {
            let carried = ServerFrames.whole(in: UnsafeRawBufferPointer(rebasing: scratch[0..<filled]), messages: .max)
            if let size = carried.partialFrameSize {
                guard carried.bytes + size <= scratch.count else { return (0, true) }  // a frame this large is for the reactor
                target = max(target, carried.bytes + size)
            }
        }
        var ended = false
        if target > filled {
            let taken = recv(connection.descriptor, scratch.baseAddress! + filled, target - filled, Int32(MSG_DONTWAIT))
            if taken > 0 {
                filled += taken
            } else if taken == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                ended = true  // the end of the stream, or an error: what came before it is received, then the reactor sees it
            }
        }
        let extent = ServerFrames.whole(in: UnsafeRawBufferPointer(rebasing: scratch[0..<filled]), messages: ended ? .max : messages)
        if extent.bytes > 0 {
            _ = receiveFrames(connection, UnsafeMutableRawBufferPointer(rebasing: scratch[0..<extent.bytes]))
        }
        if ended || (extent.bytes == 0 && (extent.partialFrameSize ?? 0) > scratch.count) { return (extent.messages, true) }
        reader.carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[extent.bytes..<filled]))
        return (extent.messages, false)
    }
}
