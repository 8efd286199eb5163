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
    var outbound: OutboundQueue?
    var context = Context()
}

/// Slots in fixed chunks, so a slot never moves and the table grows without
/// copying. Indices are reused through a free list.
struct ConnectionTable<Context: ConnectionContext> {
    private static var chunkShift: Int { 10 }
    private static var chunkSize: Int { 1 << chunkShift }

    private var chunks: [UnsafeMutablePointer<ConnectionSlot<Context>>] = []
    private var free: [UInt32] = []
    /// Slots closed during this pass; reused only after it, so a readiness
    /// event still pending for the old descriptor cannot hit a new connection.
    private var closedThisPass: [UInt32] = []

    var capacity: Int { chunks.count << Self.chunkShift }

    @inline(__always)
    subscript(slot: UInt32) -> UnsafeMutablePointer<ConnectionSlot<Context>> {
        chunks[Int(slot) >> Self.chunkShift] + (Int(slot) & (Self.chunkSize - 1))
    }

    mutating func allocate() -> UInt32 {
        if free.isEmpty {
            let chunk = UnsafeMutablePointer<ConnectionSlot<Context>>.allocate(capacity: Self.chunkSize)
            chunk.initialize(repeating: ConnectionSlot(), count: Self.chunkSize)
            let first = UInt32(capacity)
            chunks.append(chunk)
            free.append(contentsOf: (first..<UInt32(capacity)).reversed())
        }
        return free.removeLast()
    }

    mutating func release(_ slot: UInt32) {
        closedThisPass.append(slot)
    }

    /// End of a pass: slots closed during it become reusable.
    mutating func recycleClosed() {
        free.append(contentsOf: closedThisPass)
        closedThisPass.removeAll(keepingCapacity: true)
    }

    func deallocateAll() {
        for chunk in chunks {
            chunk.deinitialize(count: Self.chunkSize)
            chunk.deallocate()
        }
    }
}
