import CEpoll
import Glibc

/// The connections one handler owns on one loop (uSockets' socket context,
/// NIO's channels of a loop): a table of inline slots, input presented from
/// the loop's receive buffer, corked writes and coarse timeouts. How bytes
/// reach the sockets is the transport's part (`Transport`): plain TCP over
/// epoll or over io_uring (as the loop's backend is), or TLS for a set made
/// with a `TLSContext`.
public final class Connections<Handler: ConnectionHandler>: EventSource {
    public let loop: EventLoop
    public let handler: Handler
    /// Set once; read by every request the io_uring transport queues. Unchecked (see `table`).
    @exclusivity(unchecked) private(set) var sourceIndex: UInt32 = 0
    /// Read on every event and every write. Its storage never moves, the
    /// subscript hands out slot pointers, and its own mutations (allocate,
    /// release) never call out, so no two accesses can overlap: the run-time
    /// exclusivity check on each access could never fire. Unchecked.
    @exclusivity(unchecked) var table = ConnectionTable<Handler.Context>()
    /// Connections currently open.
    public private(set) var count = 0
    /// Bytes read from and written to every connection since start, for
    /// metrics (touched on every read and write, on this loop only: no
    /// run-time exclusivity check).
    @exclusivity(unchecked) public internal(set) var bytesReceived: UInt64 = 0
    @exclusivity(unchecked) public internal(set) var bytesSent: UInt64 = 0
    /// Bytes held for the connections of this loop, kept exact as they
    /// change, so a memory budget can read them at any moment (unlike the
    /// scan of `queuedByteTotal`): input kept for a handler that has not
    /// consumed it (a request or frame not complete yet), and output queued
    /// because the kernel refused it.
    @exclusivity(unchecked) public private(set) var keptInputBytes = 0
    public var queuedOutputBytes: Int { outputTally.bytes }
    /// Where every outbound queue of this loop counts its bytes.
    let outputTally = ByteTally()

    // Corking: bytes written to one connection while the loop handles it leave
    // together. Only one connection is corked at a time. Read and written on
    // every write, never across a call out: unchecked, like `table`.
    private let cork: UnsafeMutableRawPointer
    private static var corkCapacity: Int { 64 * 1024 }
    @exclusivity(unchecked) private var corkCount = 0
    @exclusivity(unchecked) private var corkOwner: UInt32 = .max
    /// Scratch for the transport's vectored writes.
    let vectors: UnsafeMutablePointer<iovec>
    static var maxVectors: Int { 1024 }  // IOV_MAX on Linux
    /// The set's transport when it speaks TLS; nil: plain TCP. Every
    /// transport call below tests it once and calls a concrete type; the TLS
    /// side goes through `withTLS`, out of line, so a plain path pays the test
    /// and nothing else (callgrind: +0.4% per write, +0.2% per echo).
    let tls: TLSTransport?

    @inline(never)
    private func withTLS<Result>(_ body: (TLSTransport) -> Result) -> Result { body(tls.unsafelyUnwrapped) }
    /// The set's transport when its loop runs on io_uring and it does not
    /// speak TLS (TLS on such a loop waits for readiness, as on epoll); tested
    /// first, so each path pays one test more at most.
    let ring: RingTCP?
    /// `ring`, lent without a retain and release per call (`ring` keeps it
    /// alive as long as the set): two of each per echo otherwise (callgrind,
    /// echo-100-sockets-uring).
    private let lentRing: Unmanaged<RingTCP>?

    @inline(__always)
    private func withRing<Result>(_ body: (RingTCP) -> Result) -> Result {
        lentRing.unsafelyUnwrapped._withUnsafeGuaranteedRef(body)
    }

    // Timeouts: a tick counter advanced by one repeating timer; each slot keeps
    // the tick it expires at.
    public let tickInterval: UInt64
    @exclusivity(unchecked) private(set) var currentTick: UInt32 = 1
    @exclusivity(unchecked) private var lastSweep: UInt64  // read by every setTimeout (a heartbeat per message)

    /// Creates the set on `loop` (call on that loop). `tickInterval` is the
    /// granularity of connection timeouts, in nanoseconds. With `tls`, every
    /// connection speaks TLS: accepted ones as a server (the handler hears of
    /// one once its handshake is done), connected ones as a client.
    public init(loop: EventLoop, handler: Handler, tickInterval: UInt64 = 1_000_000_000, tls: TLSContext? = nil) {
        loop.assertInLoop()
        self.loop = loop
        self.handler = handler
        self.tickInterval = tickInterval
        self.tls = tls.map { TLSTransport(context: $0) }
        self.ring = tls == nil ? loop.ring.map { RingTCP(ring: $0) } : nil
        lentRing = ring.map { Unmanaged.passUnretained($0) }
        lastSweep = monotonicNanoseconds()
        cork = .allocate(byteCount: Self.corkCapacity, alignment: 16)
        vectors = .allocate(capacity: Self.maxVectors)
        // The loop calls these closures, not the protocol: created here, where
        // Handler is concrete, they run the specialised read and write paths.
        // They lend the set rather than own it (Unmanaged, guaranteed): the
        // loop holds the set, as its source, for as long as it holds them, so
        // a retain and release per event (or a checked unowned's strong retain)
        // would buy nothing.
        sourceIndex = loop.addSource(self, dispatch: { [lent = Unmanaged.passUnretained(self)] events, slot in
                                         lent._withUnsafeGuaranteedRef { $0.handleEvent(events, slot: slot) }
                                     },
                                     complete: { [lent = Unmanaged.passUnretained(self)] completion in
                                         lent._withUnsafeGuaranteedRef { $0.handleCompletion(completion) }
                                     },
                                     flush: { [unowned(unsafe) self] in flush() })
        loop.scheduleRepeating(every: tickInterval) { [unowned self] in sweepTimeouts() }
        handler.attached(to: self)
    }

    deinit {
        table.deallocateAll()
        cork.deallocate()
        vectors.deallocate()
    }

    // MARK: Opening

    /// Takes ownership of an accepted, non-blocking descriptor.
    @discardableResult
    public func adopt(_ descriptor: Int32) -> Connection<Handler>? {
        loop.assertInLoop()
        _ = cepoll_set_nodelay(descriptor)
        guard let connection = insert(descriptor, flags: [.open], events: EventMask.readable) else { return nil }
        let ready = ring != nil ? withRing { $0.opened(connection.slot, in: self, accepted: true) }
            : _slowPath(tls != nil) ? withTLS { $0.opened(connection.slot, in: self, accepted: true) }
            : PlainTCP().opened(connection.slot, in: self, accepted: true)
        if ready {
            handler.connectionOpened(connection)
            finishCallback(connection.slot)
        } else if connection.isOpen {
            table[connection.slot].pointee.flags.insert(.unannounced)  // its handshake runs first
        }
        return connection
    }

    /// Starts a non-blocking connect; `connectionOpened` (or `connectionClosed`
    /// with `.connectFailed`) follows on this loop.
    public func connect(to address: SocketAddress, from source: SocketAddress? = nil) throws(SystemError) -> Connection<Handler> {
        loop.assertInLoop()
        let descriptor = cepoll_tcp_socket(address.family)
        guard descriptor >= 0 else { throw SystemError("socket") }
        if let source {
            // Let connect() pick the port, so one source address serves many destinations' 4-tuples.
            var one: Int32 = 1
            _ = setsockopt(descriptor, Int32(IPPROTO_IP), 24 /* IP_BIND_ADDRESS_NO_PORT */, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = source.withSockAddr { bind(descriptor, $0, $1) }
            guard bound == 0 else {
                let error = SystemError("bind \(source)")
                close(descriptor)
                throw error
            }
        }
        _ = cepoll_set_nodelay(descriptor)
        let status = address.withSockAddr { Glibc.connect(descriptor, $0, $1) }
        guard status == 0 || errno == EINPROGRESS else {
            let error = SystemError("connect \(address)")
            close(descriptor)
            throw error
        }
        guard let connection = insert(descriptor, flags: [.open, .connecting, .writeArmed], events: EventMask.writable | EventMask.readable) else {
            throw SystemError("epoll_ctl")
        }
        return connection
    }

    private func insert(_ descriptor: Int32, flags: ConnectionFlags, events: UInt32) -> Connection<Handler>? {
        let slot = table.allocate()
        let entry = table[slot]
        entry.pointee.descriptor = descriptor
        entry.pointee.flags = flags
        entry.pointee.deadline = 0
        entry.pointee.context = Handler.Context()  // fresh even if a handler wrote to the slot after it closed
        // On io_uring the transport's requests replace readiness, except while a connect is in progress.
        let needsReadiness = ring == nil || flags.contains(.connecting)
        guard !needsReadiness || loop.register(descriptor, events: events, source: sourceIndex, slot: slot) else {
            close(descriptor)
            entry.pointee.flags = []
            table.release(slot)
            return nil
        }
        count += 1
        return Connection(connections: self, slot: slot)
    }

    // MARK: Moving between loops

    /// Takes the connection off this loop without closing its socket, for
    /// `adopt` on another loop: what is corked is sent first, what the kernel
    /// refused goes along, and so does `unconsumedInput` (the request the
    /// handler wants the other loop to read). The handler is not called: the
    /// connection moves, it does not close; its context is dropped.
    func detach(_ slot: UInt32, unconsumedInput: UnsafeRawBufferPointer) -> DetachedConnection? {
        if corkOwner == slot { uncork() }
        let entry = table[slot]
        // Sending what was corked may have met a reset, which closed (and released) the slot already.
        guard entry.pointee.flags.contains(.open) else { return nil }
        var session: TLSSession?
        var input = Array(unconsumedInput)
        if ring != nil {
            // What its receive took after the handler's bytes; nil: sending what it wrote met a reset, it closed.
            guard let received = withRing({ $0.detach(slot, in: self) }) else { return nil }
            input += received
        } else if _slowPath(tls != nil) {
            session = withTLS { $0.detach(slot) }
            guard session != nil else { return nil }  // mid-handshake: nothing to move for
        }
        entry.pointee.outbound?.recount(into: nil)  // counted on the loop it arrives at
        let detached = DetachedConnection(descriptor: entry.pointee.descriptor, outbound: entry.pointee.outbound,
                                          input: input, tls: session)
        loop.deregister(entry.pointee.descriptor)
        entry.pointee.flags = []
        count -= 1
        release(slot)
        return detached
    }

    /// Takes over a connection detached from another loop: `connectionOpened`,
    /// then its input is presented as if just received.
    @discardableResult
    public func adopt(_ detached: DetachedConnection) -> Connection<Handler>? {
        loop.assertInLoop()
        guard let connection = insert(detached.descriptor, flags: [.open], events: EventMask.readable) else { return nil }
        if let session = detached.tls {
            guard _slowPath(tls != nil) else { preconditionFailure("a TLS connection moved to a loop without TLS") }
            withTLS { $0.adopt(session, at: connection.slot) }
        }
        if let queue = detached.outbound, !queue.isEmpty {
            queue.recount(into: outputTally)
            table[connection.slot].pointee.outbound = queue
        }
        updateInterest(connection.slot)  // io_uring: its receive (and send); epoll: EPOLLOUT if bytes wait
        handler.connectionOpened(connection)
        if connection.isOpen && !detached.input.isEmpty {
            keepInput(table[connection.slot], detached.input)
            presentPendingInput(connection.id)
        } else {
            finishCallback(connection.slot)
        }
        return connection
    }

    /// The connection `id` names, if it is still open; with `orClosing`, also
    /// during its `connectionClosed` callback (its state is still readable then).
    public func connection(_ id: ConnectionID, orClosing: Bool = false) -> Connection<Handler>? {
        guard Int(id.slot) < table.capacity else { return nil }
        let entry = table[id.slot]
        // The generation moves on right after the close callback: until then the slot is still this connection's.
        guard entry.pointee.generation == id.generation, orClosing || entry.pointee.flags.contains(.open) else { return nil }
        return Connection(connections: self, slot: id.slot)
    }

    /// Calls `body` with every open connection the handler has heard of.
    public func forEach(_ body: (Connection<Handler>) -> Void) {
        for slot in 0..<UInt32(table.capacity) {
            let flags = table[slot].pointee.flags
            guard flags.contains(.open) && !flags.contains(.unannounced) else { continue }
            body(Connection(connections: self, slot: slot))
        }
    }

    // MARK: Events

    /// A completion of one of the ring transport's requests.
    func handleCompletion(_ completion: RingCompletion) {
        switch completion.request {
        case .receive: withRing { $0.completeReceive(completion, in: self) }
        case .send: withRing { $0.completeSend(completion, in: self) }
        default: break
        }
    }

    func handleEvent(_ events: UInt32, slot: UInt32) {
        let entry = table[slot]
        guard entry.pointee.flags.contains(.open) else { return }  // closed earlier in this pass
        if entry.pointee.flags.contains(.connecting) {
            finishConnect(slot)
            return
        }
        if events & (EventMask.readable | EventMask.hangUp | EventMask.error) != 0 {
            if _slowPath(tls != nil) { withTLS { $0.readable(slot, in: self) } } else { PlainTCP().readable(slot, in: self) }
        }
        if events & EventMask.writable != 0 && entry.pointee.flags.contains(.open) {
            if _slowPath(tls != nil) { withTLS { $0.writable(slot, in: self) } } else { PlainTCP().writable(slot, in: self) }
        }
    }

    private func finishConnect(_ slot: UInt32) {
        let entry = table[slot]
        let error = cepoll_socket_error(entry.pointee.descriptor)
        guard error == 0 else {
            closeSlot(slot, reason: .connectFailed(SystemError("connect", errno: error)))
            return
        }
        entry.pointee.flags.remove(.connecting)
        if ring != nil { loop.deregister(entry.pointee.descriptor) }  // connected: the ring's requests take over
        updateInterest(slot)
        let ready = ring != nil ? withRing { $0.opened(slot, in: self, accepted: false) }
            : _slowPath(tls != nil) ? withTLS { $0.opened(slot, in: self, accepted: false) }
            : PlainTCP().opened(slot, in: self, accepted: false)
        guard ready else { return }
        handler.connectionOpened(Connection(connections: self, slot: slot))
        finishCallback(slot)
    }

    /// The transport's handshake is done: the handler hears of the connection now.
    func secured(_ slot: UInt32) {
        let entry = table[slot]
        if entry.pointee.flags.contains(.unannounced) {
            entry.pointee.flags.remove(.unannounced)
            entry.pointee.deadline = 0  // the handshake's; the handler sets its own
        }
        updateInterest(slot)  // writes queued during the handshake can go now
        handler.connectionOpened(Connection(connections: self, slot: slot))
        finishCallback(slot)
    }

    // MARK: Input (from the transport)

    /// A slot's state; the table's slots never move, so a pointer stays good.
    typealias SlotPointer = UnsafeMutablePointer<ConnectionSlot<Handler.Context>>

    /// Moves the input the handler left unconsumed to the front of the loop's
    /// receive buffer, where the transport reads to next; returns its size.
    @inline(__always)
    func moveKeptInputToReceiveBuffer(_ entry: SlotPointer) -> Int {
        entry.pointee.pendingInput.isEmpty ? 0 : moveKeptInput(entry)
    }

    private func moveKeptInput(_ entry: SlotPointer) -> Int {
        let kept = entry.pointee.pendingInput.count
        entry.pointee.pendingInput.withUnsafeBytes { loop.receiveBuffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: kept) }
        keepInput(entry, [])
        return kept
    }

    /// What the slot keeps of its input from now on, counted in `keptInputBytes`.
    @inline(__always)
    private func keepInput(_ entry: SlotPointer, _ bytes: [UInt8]) {
        keptInputBytes += bytes.count - entry.pointee.pendingInput.count
        entry.pointee.pendingInput = bytes
    }

    /// A new outbound queue for the slot at `entry`, counting into this loop's total.
    func makeOutboundQueue(_ entry: SlotPointer) -> OutboundQueue {
        let queue = OutboundQueue(tally: outputTally)
        entry.pointee.outbound = queue
        return queue
    }

    /// Hands the first `total` bytes of the receive buffer (kept input, then
    /// what was read) to the handler of `slot` (at `entry`), and keeps what it leaves.
    @inline(__always)
    func present(_ slot: UInt32, _ entry: SlotPointer, count total: Int) {
        let buffer = loop.receiveBuffer
        let connection = Connection(connections: self, slot: slot)
        let consumed = handler.connection(connection, received: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<total]))
        if entry.pointee.flags.contains(.open) && consumed < total {
            if consumed == 0 && total == buffer.count && !entry.pointee.flags.contains(.readPaused) {
                // The handler cannot make progress with a full buffer; its limits failed.
                // (One that paused reading will take it when it resumes: EPOLLIN is off till then.)
                closeSlot(slot, reason: .failed(SystemError("input exceeds the receive buffer", errno: ENOBUFS)))
                return
            }
            keepInput(entry, Array(UnsafeRawBufferPointer(rebasing: buffer[consumed..<total])))
        }
        finishCallback(slot)
    }

    /// Hands bytes a completion brought (a provided buffer, `received`,
    /// valid during the call) to the handler: in place when it kept no input,
    /// else after the kept input, appended to it. What it leaves is kept.
    /// While reading is paused (a receive completed before its cancel), the
    /// bytes are only kept, for when it resumes.
    @inline(__always)
    func present(_ slot: UInt32, _ entry: SlotPointer, received: UnsafeMutableRawBufferPointer) {
        if _slowPath(!entry.pointee.pendingInput.isEmpty || entry.pointee.flags.contains(.readPaused)) {
            presentAfterKeptInput(slot, entry, received: received)
            return
        }
        let consumed = handler.connection(Connection(connections: self, slot: slot), received: received)
        if entry.pointee.flags.contains(.open) && consumed < received.count {
            keepInput(entry, Array(UnsafeRawBufferPointer(rebasing: received[consumed...])))
        }
        finishCallback(slot)
    }

    private func presentAfterKeptInput(_ slot: UInt32, _ entry: SlotPointer, received: UnsafeMutableRawBufferPointer) {
        // Taken out of the slot while the handler runs (it may close or detach the connection).
        var input = entry.pointee.pendingInput
        keepInput(entry, [])
        input.append(contentsOf: UnsafeRawBufferPointer(received))
        guard !entry.pointee.flags.contains(.readPaused) else {
            keepInput(entry, input)
            return
        }
        let total = input.count
        let consumed = input.withUnsafeMutableBytes { handler.connection(Connection(connections: self, slot: slot), received: $0) }
        if entry.pointee.flags.contains(.open) && consumed < total {
            if consumed == 0 && total >= loop.receiveBuffer.count && !entry.pointee.flags.contains(.readPaused) {
                // As with a full receive buffer on epoll: the handler cannot make progress; its limits failed.
                closeSlot(slot, reason: .failed(SystemError("input exceeds the receive buffer", errno: ENOBUFS)))
                return
            }
            if consumed > 0 { input.removeFirst(consumed) }
            keepInput(entry, input)
        }
        finishCallback(slot)
    }

    /// The peer's end of stream; `kept` bytes of kept input lie in the receive buffer.
    func inputEnded(_ slot: UInt32, kept: Int) {
        let entry = table[slot]
        if entry.pointee.flags.contains(.readEnded) {
            closeSlot(slot, reason: .peerClosed)  // hung up entirely
            return
        }
        keepAgain(slot, kept: kept)
        entry.pointee.flags.insert(.readEnded)
        updateInterest(slot)
        handler.connectionReadEnded(Connection(connections: self, slot: slot))
        finishCallback(slot)
    }

    /// Reading failed with `error` (errno); `kept` bytes of kept input lie in the receive buffer.
    func inputFailed(_ slot: UInt32, kept: Int, errno error: Int32) {
        keepAgain(slot, kept: kept)
        switch error {
        case EAGAIN, EWOULDBLOCK, EINTR: return
        case ECONNRESET, EPIPE, ETIMEDOUT: closeSlot(slot, reason: .reset)
        default: closeSlot(slot, reason: .failed(SystemError("recv", errno: error)))
        }
    }

    private func keepAgain(_ slot: UInt32, kept: Int) {
        if kept > 0 {
            keepInput(table[slot], Array(UnsafeRawBufferPointer(rebasing: loop.receiveBuffer[0..<kept])))
        }
    }

    /// Stops reading from the connection (EPOLLIN off) until `resumeReading`:
    /// backpressure for a peer that sends but does not read what it is sent.
    /// Its further input waits in the kernel, and then in the peer.
    func pauseReading(_ slot: UInt32) {
        guard !table[slot].pointee.flags.contains(.readPaused) else { return }
        table[slot].pointee.flags.insert(.readPaused)
        updateInterest(slot)
    }

    /// Reads again, starting with any input kept back earlier.
    /// Returns whether kept input is being presented again.
    func resumeReading(_ slot: UInt32) -> Bool {
        guard table[slot].pointee.flags.contains(.readPaused) else { return false }
        table[slot].pointee.flags.remove(.readPaused)
        updateInterest(slot)
        return resumeInput(slot)
    }

    func isReadingPaused(_ slot: UInt32) -> Bool { table[slot].pointee.flags.contains(.readPaused) }

    /// Presents the input kept back earlier (the handler consumed less than
    /// it was given) to the handler again, during the loop's next pass: for a
    /// handler that paused a connection (a held long-poll with pipelined
    /// requests behind it) and can go on now. Without it those bytes would
    /// wait for the peer's next packet, which may never come.
    /// Returns whether there was input to present.
    func resumeInput(_ slot: UInt32) -> Bool {
        guard !table[slot].pointee.pendingInput.isEmpty else { return false }
        let id = ConnectionID(slot: slot, generation: table[slot].pointee.generation)
        let bound = LoopBound(self, loop: loop)
        loop.execute { bound.value.presentPendingInput(id) }
        return true
    }

    private func presentPendingInput(_ id: ConnectionID) {
        guard let connection = connection(id) else { return }
        let entry = table[id.slot]
        var input = entry.pointee.pendingInput
        guard !input.isEmpty else { return }  // new input came first and took it
        keepInput(entry, [])
        let consumed = input.withUnsafeMutableBytes { handler.connection(connection, received: $0) }
        if entry.pointee.flags.contains(.open) && consumed < input.count {
            keepInput(entry, Array(input[consumed...]))
        }
        finishCallback(id.slot)
    }

    /// After a callback: what it corked for this connection leaves now.
    @inline(__always)
    private func finishCallback(_ slot: UInt32) {
        if corkOwner == slot { uncork() }
    }

    // MARK: Writing

    /// Copies `bytes` into the cork; they leave at the end of the callback or pass.
    func write(_ slot: UInt32, _ bytes: UnsafeRawBufferPointer) {
        guard canWrite(slot), !bytes.isEmpty else { return }
        if corkOwner != slot {
            uncork()
            corkOwner = slot
        }
        if bytes.count > Self.corkCapacity - corkCount {
            uncork()
            if bytes.count > Self.corkCapacity {
                transmit(slot, copied: bytes, shared: UnsafeBufferPointer(start: nil, count: 0))
                return
            }
            corkOwner = slot
        }
        (cork + corkCount).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        corkCount += bytes.count
    }

    /// Lends the cork's free space to `fill`, which returns how much it wrote.
    func write(_ slot: UInt32, reserving capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) {
        guard canWrite(slot) else { return }
        if capacity > Self.corkCapacity {
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
            defer { scratch.deallocate() }
            let written = fill(scratch)
            write(slot, UnsafeRawBufferPointer(rebasing: scratch[0..<written]))
            return
        }
        if corkOwner != slot || capacity > Self.corkCapacity - corkCount {
            uncork()
            corkOwner = slot
        }
        let written = fill(UnsafeMutableRawBufferPointer(start: cork + corkCount, count: capacity))
        assert(written <= capacity)
        corkCount += written
    }

    /// Sends from a shared buffer without copying; only what the kernel
    /// refuses keeps a reference.
    func write(_ slot: UInt32, _ buffer: SharedBuffer, start: Int, end: Int) {
        guard end > start else { return }
        var slice = SharedSlice(buffer, start: start, end: end)
        withUnsafeMutablePointer(to: &slice) { write(slot, slices: UnsafeBufferPointer(start: $0, count: 1)) }
    }

    /// Sends several shared ranges, after anything corked, in one system call.
    func write(_ slot: UInt32, slices: UnsafeBufferPointer<SharedSlice>) {
        guard canWrite(slot), !slices.isEmpty else { return }
        if corkOwner == slot {
            let corked = UnsafeRawBufferPointer(start: cork, count: corkCount)
            corkCount = 0
            corkOwner = .max
            transmit(slot, copied: corked, shared: slices)
        } else {
            transmit(slot, copied: nil, shared: slices)
        }
    }

    private func canWrite(_ slot: UInt32) -> Bool {
        let flags = table[slot].pointee.flags
        return flags.contains(.open) && !flags.contains(.writeShutdown) && !flags.contains(.closeAfterFlush)
    }

    func flushCork(_ slot: UInt32) {
        if corkOwner == slot { uncork() }
    }

    /// Writes the cork out.
    func uncork() {
        guard corkOwner != .max else { return }
        let slot = corkOwner
        let corked = UnsafeRawBufferPointer(start: cork, count: corkCount)
        corkOwner = .max
        corkCount = 0
        if !corked.isEmpty { transmit(slot, copied: corked, shared: UnsafeBufferPointer(start: nil, count: 0)) }
    }

    /// One function, as before the seam: the write paths that call it stay small
    /// enough to inline into the handlers, and plain TCP's body is inlined here.
    @inline(never)
    private func transmit(_ slot: UInt32, copied: UnsafeRawBufferPointer?, shared: UnsafeBufferPointer<SharedSlice>) {
        if ring != nil {
            withRing { $0.transmit(slot, in: self, copied: copied, shared: shared) }
        } else if _slowPath(tls != nil) {
            withTLS { $0.transmit(slot, in: self, copied: copied, shared: shared) }
        } else {
            PlainTCP().transmit(slot, in: self, copied: copied, shared: shared)
        }
    }

    /// sendmsg over the first `vectorCount` of `vectors`; the byte count, or
    /// -1 if the connection was closed because of an error.
    func send(_ slot: UInt32, vectorCount: Int) -> Int {
        let descriptor = table[slot].pointee.descriptor
        while true {
            let written = vectorCount == 1
                ? cepoll_send(descriptor, vectors[0].iov_base, vectors[0].iov_len)
                : cepoll_sendv(descriptor, vectors, Int32(vectorCount))
            if written >= 0 {
                bytesSent &+= UInt64(written)
                return written
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            case EPIPE, ECONNRESET: closeSlot(slot, reason: .reset)
            default: closeSlot(slot, reason: .failed(SystemError("sendmsg")))
            }
            return -1
        }
    }

    /// The transport holds nothing more for the slot: a half-close waiting for
    /// that goes on, or the handler hears it may write more.
    func drained(_ slot: UInt32) {
        updateInterest(slot)
        if table[slot].pointee.flags.contains(.closeAfterFlush) {
            finishClosingAfterFlush(slot)
        } else {
            handler.connectionDrained(Connection(connections: self, slot: slot))
            finishCallback(slot)
        }
    }

    /// Keeps epoll's interest in step with the slot: EPOLLOUT only while
    /// the transport holds something (or a connect is pending), EPOLLIN until the peer's end.
    func updateInterest(_ slot: UInt32) {
        if ring != nil { return withRing { $0.updateInterest(slot, in: self) } }
        let entry = table[slot]
        let flags = entry.pointee.flags
        let wantWrite = flags.contains(.connecting)
            || (_slowPath(tls != nil) ? withTLS { $0.wantsWritable(slot, in: self) } : PlainTCP().wantsWritable(slot, in: self))
        let wantRead = !flags.contains(.readEnded) && !flags.contains(.readPaused)
        guard wantWrite != flags.contains(.writeArmed) || wantRead == flags.contains(.readDisarmed) else { return }
        var events: UInt32 = 0
        if wantRead { events |= EventMask.readable }
        if wantWrite { events |= EventMask.writable }
        _ = loop.modify(entry.pointee.descriptor, events: events, source: sourceIndex, slot: slot)
        if wantWrite { entry.pointee.flags.insert(.writeArmed) } else { entry.pointee.flags.remove(.writeArmed) }
        if wantRead { entry.pointee.flags.remove(.readDisarmed) } else { entry.pointee.flags.insert(.readDisarmed) }
    }

    /// Bytes written and not yet taken by the kernel.
    func queuedBytes(_ slot: UInt32) -> Int {
        transportQueuedBytes(slot) + (corkOwner == slot ? corkCount : 0)
    }

    private func transportQueuedBytes(_ slot: UInt32) -> Int {
        ring != nil ? withRing { $0.queuedBytes(slot, in: self) }
            : _slowPath(tls != nil) ? withTLS { $0.queuedBytes(slot, in: self) } : PlainTCP().queuedBytes(slot, in: self)
    }

    /// Whether any byte written has not left yet.
    private func transportHoldsBytes(_ slot: UInt32) -> Bool {
        ring != nil ? withRing { $0.holdsBytes(slot, in: self) } : transportQueuedBytes(slot) > 0
    }

    /// Bytes queued over every connection: a scan of the table, meant for
    /// statistics taken a few times a second, not for the write path.
    public var queuedByteTotal: Int {
        var total = 0
        for slot in 0..<UInt32(table.capacity) where table[slot].pointee.flags.contains(.open) {
            total += queuedBytes(slot)
        }
        return total
    }

    // MARK: Closing

    /// Closes at once; queued bytes are dropped.
    func closeSlot(_ slot: UInt32, reason: CloseReason) {
        let entry = table[slot]
        guard entry.pointee.flags.contains(.open) else { return }
        if corkOwner == slot {
            corkOwner = .max
            corkCount = 0
        }
        if ring != nil {
            withRing { $0.closing(slot, in: self) }
        } else if _slowPath(tls != nil) {
            withTLS { $0.closing(slot, in: self) }
        } else {
            PlainTCP().closing(slot, in: self)
        }
        loop.deregister(entry.pointee.descriptor)
        close(entry.pointee.descriptor)
        let announced = !entry.pointee.flags.contains(.unannounced)
        entry.pointee.flags = []
        count -= 1
        if announced { handler.connectionClosed(Connection(connections: self, slot: slot), reason: reason) }
        release(slot)
    }

    /// The slot, its connection gone or moved, is reset and can serve another
    /// (after this pass); its generation moves on so no old id reaches the next.
    private func release(_ slot: UInt32) {
        let entry = table[slot]
        entry.pointee.generation &+= 1
        entry.pointee.descriptor = -1
        entry.pointee.deadline = 0
        keepInput(entry, [])
        entry.pointee.outbound = nil
        entry.pointee.context = Handler.Context()
        table.release(slot)
    }

    /// Sends what is queued, then half-closes (FIN) and waits for the peer's
    /// end, bounded by the connection's timeout.
    func closeAfterFlush(_ slot: UInt32) {
        guard table[slot].pointee.flags.contains(.open) else { return }
        if corkOwner == slot { uncork() }
        let entry = table[slot]
        guard entry.pointee.flags.contains(.open) else { return }
        entry.pointee.flags.insert(.closeAfterFlush)
        if !transportHoldsBytes(slot) { finishClosingAfterFlush(slot) }
    }

    private func finishClosingAfterFlush(_ slot: UInt32) {
        let entry = table[slot]
        if entry.pointee.flags.contains(.readEnded) {
            closeSlot(slot, reason: .local)
        } else if !entry.pointee.flags.contains(.writeShutdown) {
            entry.pointee.flags.insert(.writeShutdown)
            if ring != nil {
                withRing { $0.shutdownWrite(slot, in: self) }
            } else if _slowPath(tls != nil) {
                withTLS { $0.shutdownWrite(slot, in: self) }
            } else {
                PlainTCP().shutdownWrite(slot, in: self)
            }
        }
    }

    // MARK: Timeouts

    /// Sets the slot to time out `nanoseconds` from now, never early and at
    /// most one tick late: the first sweep at or after the deadline fires it.
    func setTimeout(_ slot: UInt32, nanoseconds: UInt64) {
        let sinceSweep = monotonicNanoseconds() &- lastSweep
        // Saturating: a timeout of centuries is "never" enough, not an overflow.
        let total = min(nanoseconds, UInt64.max / 4) + sinceSweep + tickInterval - 1
        let ticks = total / tickInterval
        // Deadlines compare as Int32 distances from the current tick, so at most 2^31 - 1 ticks ahead.
        table[slot].pointee.deadline = currentTick &+ UInt32(min(max(ticks, 1), UInt64(Int32.max)))
    }

    func clearTimeout(_ slot: UInt32) {
        table[slot].pointee.deadline = 0
    }

    private func sweepTimeouts() {
        lastSweep = monotonicNanoseconds()
        currentTick &+= 1
        if currentTick == 0 { currentTick = 1 }
        for slot in 0..<UInt32(table.capacity) {
            let entry = table[slot]
            let deadline = entry.pointee.deadline
            guard deadline != 0, Int32(bitPattern: currentTick &- deadline) >= 0,
                  entry.pointee.flags.contains(.open) else { continue }
            entry.pointee.deadline = 0
            if entry.pointee.flags.contains(.closeAfterFlush) || entry.pointee.flags.contains(.unannounced) {
                closeSlot(slot, reason: .timedOut)  // (an unannounced one: its TLS handshake did not finish in time)
            } else {
                handler.connectionTimedOut(Connection(connections: self, slot: slot))
                finishCallback(slot)
            }
        }
    }

    // MARK: EventSource

    public func flush() {
        uncork()
        if ring != nil {
            withRing { $0.flush(self) }
        } else if _slowPath(tls != nil) {
            withTLS { $0.flush(self) }
        } else {
            PlainTCP().flush(self)
        }
        table.recycleClosed()
    }

    public func beginShutdown() {
        forEachOpenSlot { slot in
            if table[slot].pointee.flags.contains(.unannounced) {
                closeSlot(slot, reason: .shutdown)  // a handshake in progress: nothing to close politely
            } else {
                handler.connectionShuttingDown(Connection(connections: self, slot: slot))
            }
        }
        uncork()
    }

    public var isIdle: Bool { count == 0 }

    public func closeAll() {
        forEachOpenSlot { closeSlot($0, reason: .shutdown) }
    }

    private func forEachOpenSlot(_ body: (UInt32) -> Void) {
        for slot in 0..<UInt32(table.capacity) where table[slot].pointee.flags.contains(.open) { body(slot) }
    }
}
