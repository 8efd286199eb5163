import Glibc
/// Names a connection across time: stays valid to hold after a callback, and
/// stops matching once the connection closes (the slot's generation moves on).
public struct ConnectionID: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
    public let slot: UInt32
    public let generation: UInt32

    public init(slot: UInt32, generation: UInt32) {
        self.slot = slot
        self.generation = generation
    }

    public var description: String { "\(slot).\(generation)" }
}

/// A handle to one connection, valid during the callback that received it
/// (use `id` to find the connection again later). Costs nothing to copy.
public struct Connection<Handler: ConnectionHandler> {
    /// The set it belongs to, which outlives every callback. Held unmanaged and
    /// lent to each call (`lend`): an `unowned(unsafe)` reference was retained
    /// and released around every method called through it, ~40 instructions each.
    @usableFromInline let owner: Unmanaged<Connections<Handler>>
    public let slot: UInt32

    @inline(__always)
    init(connections: Connections<Handler>, slot: UInt32) {
        owner = Unmanaged.passUnretained(connections)
        self.slot = slot
    }

    public var connections: Connections<Handler> { owner.takeUnretainedValue() }

    /// The set's handler, lent for `body`: read through `connections`, it is
    /// retained and released around its use (on every message, for a handler
    /// that reads its state per message).
    @inlinable
    public func withHandler<Result>(_ body: (Handler) -> Result) -> Result {
        owner._withUnsafeGuaranteedRef { body($0.handler) }
    }

    @inline(__always)
    private func lend<Result>(_ body: (Connections<Handler>) -> Result) -> Result {
        owner._withUnsafeGuaranteedRef(body)
    }

    @inline(__always)
    private var entry: UnsafeMutablePointer<ConnectionSlot<Handler.Context>> { lend { $0.table[slot] } }

    public var id: ConnectionID { ConnectionID(slot: slot, generation: entry.pointee.generation) }
    public var loop: EventLoop { lend { $0.loop } }
    public var isOpen: Bool { entry.pointee.flags.contains(.open) }
    public var descriptor: Int32 { entry.pointee.descriptor }
    /// The peer's address (a system call: read it once, when the connection opens or upgrades).
    public var peerAddress: SocketAddress? { try? SocketAddress(peerAddressOf: entry.pointee.descriptor) }

    /// The handler's inline per-connection state.
    public var context: Handler.Context {
        // Read in place: a getter would copy the whole context (retaining what it holds) to read one field.
        _read { yield entry.pointee.context }
        nonmutating _modify { yield &entry.pointee.context }
    }

    /// Copies `bytes` out; they leave with everything else written to this
    /// connection during the current callback, in one system call.
    public func write(_ bytes: UnsafeRawBufferPointer) { lend { $0.write(slot, bytes) } }

    public func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { bytes in lend { $0.write(slot, bytes) } } }

    /// Encodes in place: `fill` gets `capacity` bytes of the write buffer and
    /// returns how many it used.
    public func write(reserving capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) {
        lend { $0.write(slot, reserving: capacity, fill) }
    }

    /// Sends `buffer[range]` without copying it.
    public func write(_ buffer: SharedBuffer, range: Range<Int>) {
        lend { $0.write(slot, buffer, start: range.lowerBound, end: range.upperBound) }
    }

    /// Sends several shared ranges (after anything corked) in one system call.
    public func write(slices: UnsafeBufferPointer<SharedSlice>) { lend { $0.write(slot, slices: slices) } }

    /// Sends what is corked now instead of at the end of the callback.
    public func flush() { lend { $0.flushCork(slot) } }

    /// Bytes written but not yet taken by the kernel.
    public var queuedBytes: Int { lend { $0.queuedBytes(slot) } }

    /// Closes at once, dropping anything queued.
    public func close(reason: CloseReason = .local) { lend { $0.closeSlot(slot, reason: reason) } }

    /// Sends what is queued, half-closes, and closes when the peer finishes
    /// (or the connection's timeout expires).
    public func closeAfterFlush() { lend { $0.closeAfterFlush(slot) } }

    /// Stops reading until `resumeReading()`: for a peer that must first read
    /// what it was sent (see `Connections.pauseReading`).
    public func pauseReading() { lend { $0.pauseReading(slot) } }

    /// Reads again, beginning with any input kept back; true when there is
    /// such input (it is presented on the loop's next pass).
    @discardableResult
    public func resumeReading() -> Bool { lend { $0.resumeReading(slot) } }

    public var isReadingPaused: Bool { lend { $0.isReadingPaused(slot) } }

    /// Presents input this connection's handler left unconsumed to it again,
    /// on the loop's next pass (see `Connections.resumeInput`); false when
    /// there is none.
    @discardableResult
    public func resumeInput() -> Bool { lend { $0.resumeInput(slot) } }

    /// Takes the connection off this loop, socket open, for `Connections.adopt`
    /// on another: the way to hand a request to the loop that owns what it is
    /// about. Call from one of its callbacks; the handle is dead afterwards.
    /// Nil when the connection closed instead (sending what was corked met a reset).
    public func detach(unconsumedInput: UnsafeRawBufferPointer) -> DetachedConnection? {
        lend { $0.detach(slot, unconsumedInput: unconsumedInput) }
    }

    /// Caps the bytes the kernel holds for this connection that it has not
    /// yet sent (`TCP_NOTSENT_LOWAT`): past them a write takes no more, and the
    /// rest waits in this process, where the owner can still choose what goes.
    /// Without it Linux grows a socket's send buffer to `tcp_wmem`'s maximum
    /// (4 MiB by default) for a peer that reads slowly. False if the kernel refused.
    @discardableResult
    public func limitUnsentBytes(_ bytes: Int) -> Bool {
        var value = Int32(clamping: bytes)
        return setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Times the connection out `nanoseconds` from now (coarse: one tick).
    public func setTimeout(nanoseconds: UInt64) { lend { $0.setTimeout(slot, nanoseconds: nanoseconds) } }

    public func clearTimeout() { lend { $0.clearTimeout(slot) } }
}
