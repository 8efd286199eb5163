/// The flags of one connection slot.
struct ConnectionFlags: OptionSet {
    let rawValue: UInt32
    static let open = ConnectionFlags(rawValue: 1 << 0)
    static let connecting = ConnectionFlags(rawValue: 1 << 1)
    static let writeArmed = ConnectionFlags(rawValue: 1 << 2)
    static let readEnded = ConnectionFlags(rawValue: 1 << 3)
    static let closeAfterFlush = ConnectionFlags(rawValue: 1 << 4)
    static let writeShutdown = ConnectionFlags(rawValue: 1 << 5)
    /// EPOLLIN is no longer registered (after the peer's end of stream).
    static let readDisarmed = ConnectionFlags(rawValue: 1 << 6)
    /// The handler paused reading (its peer has not read what it was sent).
    static let readPaused = ConnectionFlags(rawValue: 1 << 7)
    /// Accepted, but its transport's handshake (TLS) has not finished: the
    /// handler has not heard of it and will not hear of its end.
    static let unannounced = ConnectionFlags(rawValue: 1 << 8)

    // io_uring (`RingTCP`): what the ring holds for the connection.
    /// A multishot receive is armed.
    static let ringReceiving = ConnectionFlags(rawValue: 1 << 9)
    /// Flips with every receive armed, so a completion tells which one it is from.
    static let ringReceiveEpoch = ConnectionFlags(rawValue: 1 << 10)
    /// A receive is to be armed at the end of the pass.
    static let ringReceiveDue = ConnectionFlags(rawValue: 1 << 11)
    /// The descriptor is in the ring's registered-file table, at its own number.
    static let ringFileRegistered = ConnectionFlags(rawValue: 1 << 12)
    /// A send is with the kernel.
    static let ringSending = ConnectionFlags(rawValue: 1 << 13)
    /// Bytes are to be sent at the end of the pass.
    static let ringSendDue = ConnectionFlags(rawValue: 1 << 14)
    /// The kernel refused bytes: a send outlived the pass after it was
    /// submitted, or took only part. Cleared when everything has left.
    static let ringBehind = ConnectionFlags(rawValue: 1 << 15)
}

/// One connection's state, stored inline in its loop's table. An idle
/// connection owns nothing else: `pendingInput` is empty (no allocation) and
/// `outbound` is nil until the kernel refuses bytes.
struct ConnectionSlot<Context: ConnectionContext> {
    var descriptor: Int32 = -1
    /// Bumped at every close, so a stale `ConnectionID` never reaches a new occupant.
    var generation: UInt32 = 0
    /// Timeout tick (0: none); see `Connections.sweepTimeouts`.
    var deadline: UInt32 = 0
    var flags: ConnectionFlags = []
    var pendingInput: [UInt8] = []
    /// The slot's reference to its queue (+1, taken and given back through
    /// `outbound`): the per-write paths borrow the queue through it with
    /// `_withUnsafeGuaranteedRef`, where reading a strong property out of the
    /// table would retain and release it each time. Slots are never copied.
    var outboundReference: Unmanaged<OutboundQueue>?
    var context = Context()

    var outbound: OutboundQueue? {
        get { outboundReference?.takeUnretainedValue() }
        set {
            let old = outboundReference
            outboundReference = newValue.map { Unmanaged.passRetained($0) }
            old?.release()
        }
    }
}

/// Slots in fixed chunks, so a slot never moves and the table grows without
/// copying. Indices are reused through a free list.
struct ConnectionTable<Context: ConnectionContext> {
    private static var chunkShift: Int { 10 }
    private static var chunkSize: Int { 1 << chunkShift }

    // Raw storage only, no arrays: a slot lookup (every `connection.context`
    // read) copies the table, and each array in it would be retained and
    // released per lookup (callgrind, echo-server: about 16 of each per message).
    private var directory: UnsafeMutablePointer<UnsafeMutablePointer<ConnectionSlot<Context>>>?
    private var chunkCount = 0
    private var directoryCapacity = 0
    private var free = SlotStack()
    /// Slots closed during this pass; reused only after it, so a readiness
    /// event still pending for the old descriptor cannot hit a new connection.
    private var closedThisPass = SlotStack()

    var capacity: Int { chunkCount << Self.chunkShift }

    @inline(__always)
    subscript(slot: UInt32) -> UnsafeMutablePointer<ConnectionSlot<Context>> {
        let chunk = Int(slot) >> Self.chunkShift
        precondition(chunk < chunkCount, "connection slot out of range")
        return directory.unsafelyUnwrapped[chunk] + (Int(slot) & (Self.chunkSize - 1))
    }

    mutating func allocate() -> UInt32 {
        if free.isEmpty {
            let chunk = UnsafeMutablePointer<ConnectionSlot<Context>>.allocate(capacity: Self.chunkSize)
            chunk.initialize(repeating: ConnectionSlot(), count: Self.chunkSize)
            let first = UInt32(capacity)
            appendChunk(chunk)
            free.reserve(capacity)
            closedThisPass.reserve(capacity)
            for slot in (first..<UInt32(capacity)).reversed() { free.push(slot) }
        }
        return free.pop()
    }

    private mutating func appendChunk(_ chunk: UnsafeMutablePointer<ConnectionSlot<Context>>) {
        if chunkCount == directoryCapacity {
            let grown = UnsafeMutablePointer<UnsafeMutablePointer<ConnectionSlot<Context>>>.allocate(capacity: max(16, directoryCapacity * 2))
            if let directory {
                grown.moveInitialize(from: directory, count: chunkCount)
                directory.deallocate()
            }
            directory = grown
            directoryCapacity = max(16, directoryCapacity * 2)
        }
        (directory.unsafelyUnwrapped + chunkCount).initialize(to: chunk)
        chunkCount += 1
    }

    mutating func release(_ slot: UInt32) {
        closedThisPass.push(slot)
    }

    /// End of a pass: slots closed during it become reusable.
    mutating func recycleClosed() {
        while !closedThisPass.isEmpty { free.push(closedThisPass.pop()) }
    }

    func deallocateAll() {
        guard let directory else { return }
        for chunk in UnsafeBufferPointer(start: directory, count: chunkCount) {
            for index in 0..<Self.chunkSize { chunk[index].outbound = nil }  // (held unmanaged: not released by deinitialize)
            chunk.deinitialize(count: Self.chunkSize)
            chunk.deallocate()
        }
        directory.deallocate()
        free.deallocate()
        closedThisPass.deallocate()
    }
}

/// Slot numbers in raw storage (see `ConnectionTable`); room is reserved as
/// the table grows, so a push never allocates.
private struct SlotStack {
    private var base: UnsafeMutablePointer<UInt32>?
    private var capacity = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func reserve(_ wanted: Int) {
        guard wanted > capacity else { return }
        let grown = UnsafeMutablePointer<UInt32>.allocate(capacity: wanted)
        if let base {
            grown.moveInitialize(from: base, count: count)
            base.deallocate()
        }
        base = grown
        capacity = wanted
    }

    mutating func push(_ slot: UInt32) {
        precondition(count < capacity, "more slots than the table holds")
        (base.unsafelyUnwrapped + count).initialize(to: slot)
        count += 1
    }

    mutating func pop() -> UInt32 {
        precondition(count > 0, "no slot to take")
        count -= 1
        return base.unsafelyUnwrapped[count]
    }

    func deallocate() { base?.deallocate() }
}
