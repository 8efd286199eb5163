import CEpoll
import CURing
import Glibc
import Synchronization

/// One thread, one epoll instance or io_uring (`IOBackend`). Everything
/// registered with a loop lives its whole life on that loop, so nothing on
/// the hot path takes a lock.
///
/// A pass: wait for readiness or completions (or the next timer), dispatch
/// them, run expired timers and posted tasks, run the pre-flush hooks (the
/// broadcaster seals its batches there), then let every source flush its
/// corked writes. On io_uring the requests a pass queued (its sends, above
/// all) are submitted by the wait that begins the next pass.
///
/// Only `execute`, `inEventLoop` and `index` may be used from other threads;
/// everything else asserts, in debug builds, that it runs on the loop.
public final class EventLoop: @unchecked Sendable {
    /// Position in the group; stable for the loop's life.
    public let index: Int
    /// How this loop waits and moves bytes. Settled on the loop's thread
    /// before its group's `init` returns (a ring belongs to the thread that
    /// set it up: see `startBackend`); read-only after.
    public private(set) var backend: IOBackend
    /// Size of the per-loop receive buffer every connection reads into.
    public static let receiveBufferSize = 256 * 1024
    private static let maxEventsPerWait: Int32 = 1024
    private static let mailboxToken: UInt64 = UInt64.max

    /// The epoll instance (epoll backend), or -1.
    private var epoll: Int32 = -1
    /// The ring (io_uring backend), or nil. Set when the loop starts.
    private(set) var ring: Ring?
    private let mailbox: Mailbox
    private let thread = Atomic<UInt>(0)

    // Loop-confined state.
    private var sources: [EventSource] = []
    /// Each source's handlers, by source index (see `SourceHandlers`). Read per
    /// event and changed only when a source is added: unchecked.
    @exclusivity(unchecked) private var handlers: [SourceHandlers] = []
    /// `handlers`, lent: a box or closure copied out of an array costs a retain
    /// and a release per event (and, for an optional closure, a thunk).
    @exclusivity(unchecked) private var lentHandlers: [Unmanaged<SourceHandlers>] = []
    private var readiness = RingReadiness()
    private var timers = TimerQueue()
    private var preFlushHooks: [() -> Void] = []
    private var tokens: UnsafeMutablePointer<UInt64>
    private var readyMasks: UnsafeMutablePointer<UInt32>
    private var state: State = .running
    private var drainDeadline: UInt64 = 0
    /// Monotonic time at the start of the current pass.
    public private(set) var now: UInt64 = monotonicNanoseconds()
    /// Where every connection on this loop reads to; parsed in place.
    public let receiveBuffer: UnsafeMutableRawBufferPointer

    private enum State { case running, refusingWork, draining, stopping }

    init(index: Int, backend: IOBackend = .epoll) throws(SystemError) {
        self.index = index
        self.backend = backend
        mailbox = try Mailbox()
        tokens = .allocate(capacity: Int(Self.maxEventsPerWait))
        readyMasks = .allocate(capacity: Int(Self.maxEventsPerWait))
        receiveBuffer = .allocate(byteCount: Self.receiveBufferSize, alignment: 16)
        if backend == .epoll { try openEpoll() }
    }

    private func openEpoll() throws(SystemError) {
        let descriptor = cepoll_create()
        guard descriptor >= 0 else { throw SystemError("epoll_create1") }
        epoll = descriptor
        _ = cepoll_ctl(epoll, 1, mailbox.wakeDescriptor, EventMask.readable, Self.mailboxToken)
    }

    /// On the loop's thread, first: its ring, when it runs on io_uring. A ring
    /// is set up, used and closed by this thread alone: the kernel interrupts
    /// the next blocking call of every thread that touched a ring when the ring
    /// closes, which another thread (the caller's main thread) must not see.
    /// A ring that cannot be set up leaves this loop on epoll.
    private func startBackend() {
        guard backend == .uring else { return }
        do {
            let ring = try Ring()
            try ring.start()
            self.ring = ring
            armMailbox(ring)
        } catch {
            IOBackend.announceFallback("loop \(index): \(error)")
            backend = .epoll
            do { try openEpoll() } catch { fatalError("loop \(index): \(error)") }
        }
    }

    deinit {
        if epoll >= 0 { close(epoll) }
        tokens.deallocate()
        readyMasks.deallocate()
        receiveBuffer.deallocate()
    }

    // MARK: Any thread

    /// True when called on this loop's thread.
    public var inEventLoop: Bool {
        thread.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self()))
    }

    @inline(__always)
    public func assertInLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(inEventLoop, "loop-bound state touched off its loop", file: file, line: line)
    }

    /// Runs `task` on this loop during its next pass. Safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        mailbox.post(task)
    }

    // MARK: On the loop

    /// Adds a source; readiness of the descriptors it registers under the
    /// returned index goes to `dispatch(events, slot)`.
    public func addSource(_ source: EventSource, dispatch: @escaping (_ events: UInt32, _ slot: UInt32) -> Void) -> UInt32 {
        addSource(source, dispatch: dispatch, complete: nil)
    }

    /// Adds a source that also queues io_uring requests under its index;
    /// their completions go to `complete`.
    func addSource(_ source: EventSource, dispatch: @escaping (_ events: UInt32, _ slot: UInt32) -> Void,
                   complete: ((RingCompletion) -> Void)?, flush: (() -> Void)? = nil) -> UInt32 {
        assertInLoop()
        precondition(sources.count < 1 << 16, "more than 65,536 sources on one loop")
        sources.append(source)
        let added = SourceHandlers(dispatch: dispatch, complete: complete, flush: flush ?? { source.flush() })
        handlers.append(added)
        lentHandlers.append(Unmanaged.passUnretained(added))
        return UInt32(sources.count - 1)
    }

    /// Registers `descriptor` for `events` (level-triggered).
    public func register(_ descriptor: Int32, events: UInt32, source: UInt32, slot: UInt32) -> Bool {
        if let ring {
            readiness.register(descriptor, events: events, token: Self.token(source: source, slot: slot), ring: ring)
            return true
        }
        return cepoll_ctl(epoll, 1, descriptor, events, Self.token(source: source, slot: slot)) == 0
    }

    public func modify(_ descriptor: Int32, events: UInt32, source: UInt32, slot: UInt32) -> Bool {
        if let ring {
            readiness.modify(descriptor, events: events, token: Self.token(source: source, slot: slot), ring: ring)
            return true
        }
        return cepoll_ctl(epoll, 3, descriptor, events, Self.token(source: source, slot: slot)) == 0
    }

    public func deregister(_ descriptor: Int32) {
        if let ring {
            readiness.deregister(descriptor, ring: ring)
            return
        }
        _ = cepoll_ctl(epoll, 2, descriptor, 0, 0)
    }

    /// Runs `body` once, `delay` nanoseconds from now (millisecond precision).
    @discardableResult
    public func schedule(after delay: UInt64, _ body: @escaping () -> Void) -> TimerID {
        assertInLoop()
        return timers.schedule(at: monotonicNanoseconds() &+ delay, interval: nil, body)
    }

    /// Runs `body` every `interval` nanoseconds, starting one interval from now.
    @discardableResult
    public func scheduleRepeating(every interval: UInt64, _ body: @escaping () -> Void) -> TimerID {
        assertInLoop()
        return timers.schedule(at: monotonicNanoseconds() &+ interval, interval: interval, body)
    }

    public func cancel(_ timer: TimerID) {
        assertInLoop()
        timers.cancel(timer)
    }

    /// Timers scheduled on this loop and not cancelled: a gauge that shows
    /// no per-client timer is left behind.
    public var scheduledTimerCount: Int {
        assertInLoop()
        return timers.count
    }

    /// Runs `hook` at the end of every pass, before sources flush.
    public func addPreFlushHook(_ hook: @escaping () -> Void) {
        assertInLoop()
        preFlushHooks.append(hook)
    }

    /// True once a graceful shutdown or a stop has begun: from then on a
    /// handler refuses new work (a publish, a request) rather than accept
    /// what the closing might not deliver.
    public var isShuttingDown: Bool { state != .running }

    // MARK: The pass

    /// The loop's thread body: runs until `stop` or the end of a drain.
    /// `started` is signalled once the backend is set up.
    func run(started: Semaphore? = nil) {
        thread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        startBackend()
        started?.signal()
        while state != .stopping {
            if let ring { runRingPass(ring) } else { runPass() }
            if state == .draining && (now >= drainDeadline || sources.allSatisfy(\.isIdle)) {
                state = .stopping
            }
        }
        for source in sources { source.closeAll() }
        for source in handlers { source.flush() }
        // The cancels of what was in flight (listeners' accepts, receives): the sockets close now, not when the ring goes.
        ring?.submitQueued()
        ring?.close()
        // Sources, timers and hooks refer back to the loop; dropping them breaks the cycles.
        sources.removeAll()
        lentHandlers.removeAll()
        handlers.removeAll()
        preFlushHooks.removeAll()
        timers = TimerQueue()
        thread.store(0, ordering: .relaxed)
    }

    private func runPass() {
        let count = cepoll_wait(epoll, tokens, readyMasks, Self.maxEventsPerWait, waitTimeout())
        now = monotonicNanoseconds()
        if count < 0 && errno != EINTR { fatalError("\(SystemError("epoll_wait"))") }
        var mailboxReady = false
        for i in 0..<Int(max(count, 0)) {
            let token = tokens[i]
            if token == Self.mailboxToken {
                mailboxReady = true
            } else {
                lentHandlers[Int(token >> 32)]._withUnsafeGuaranteedRef { $0.dispatch(readyMasks[i], UInt32(truncatingIfNeeded: token)) }
            }
        }
        for body in timers.runExpired(now: now) { body() }
        if mailboxReady {
            for task in mailbox.takeAll() { task() }
        }
        for hook in preFlushHooks { hook() }
        for source in handlers { source.flush() }
    }

    private func waitTimeout() -> Int32 {
        guard let nanoseconds = waitNanoseconds() else { return -1 }
        // Round up so a timer never fires early.
        return Int32(clamping: (nanoseconds + 999_999) / 1_000_000)
    }

    /// How long the pass may wait: nil, until something happens.
    private func waitNanoseconds() -> UInt64? {
        if state == .stopping { return 0 }
        var deadline = timers.nextDeadline()
        if state == .draining { deadline = min(deadline ?? drainDeadline, drainDeadline) }
        guard let deadline else { return nil }
        let current = monotonicNanoseconds()
        return deadline > current ? deadline - current : 0
    }

    // MARK: The pass on io_uring

    /// As `runPass`, with completions instead of readiness: the wait submits
    /// everything the last pass queued.
    private func runRingPass(_ ring: Ring) {
        // Round up to the millisecond, as epoll does, so timers behave alike on both.
        var timeout = waitNanoseconds().map { ($0 + 999_999) / 1_000_000 * 1_000_000 }
        if let limit = Ring.waitLimit { timeout = min(timeout ?? limit, limit) }
        ring.submitAndWait(timeout: timeout)
        now = monotonicNanoseconds()
        var mailboxReady = false
        ring.forEachCompletion { completion in
            switch completion.request {
            case .ignored:
                break
            case .mailbox:
                mailboxReady = true
                if !completion.hasMore { armMailbox(ring) }
            case .readiness:
                guard let (events, token) = readiness.complete(completion) else { return }
                lentHandlers[Int(token >> 32)]._withUnsafeGuaranteedRef { $0.dispatch(events, UInt32(truncatingIfNeeded: token)) }
                readiness.rearm(Int32(bitPattern: completion.slot), ring: ring)
            case .receive, .send, .accept:
                let source = completion.source
                if source < lentHandlers.count { lentHandlers[source]._withUnsafeGuaranteedRef { $0.complete?(completion) } }
            }
        }
        for body in timers.runExpired(now: now) { body() }
        if mailboxReady {
            for task in mailbox.takeAll() { task() }
        }
        for hook in preFlushHooks { hook() }
        for source in handlers { source.flush() }
    }

    /// A multishot poll of the mailbox's eventfd: one completion per wake-up.
    /// (A read request would wait in a kernel worker thread: an eventfd read
    /// cannot be retried on readiness.)
    private func armMailbox(_ ring: Ring) {
        curing_prep_poll_multishot(ring.entry(), mailbox.wakeDescriptor, UInt32(EventMask.readable),
                                   RingCompletion.userData(.mailbox, source: 0, tag: 0, slot: 0))
    }

    /// The first step of a graceful shutdown: `isShuttingDown` turns true,
    /// so handlers refuse new work, while everything else runs as before.
    func beginRefusingWork() {
        assertInLoop()
        if state == .running { state = .refusingWork }
    }

    /// Begins a graceful shutdown: sources stop accepting and close politely;
    /// the loop exits once all are idle or `timeout` nanoseconds have passed.
    func beginShutdown(timeout: UInt64) {
        assertInLoop()
        guard state == .running || state == .refusingWork else { return }
        state = .draining
        drainDeadline = monotonicNanoseconds() &+ timeout
        for source in sources { source.beginShutdown() }
    }

    /// Closes everything at once and exits.
    func stop() {
        assertInLoop()
        state = .stopping
    }

    @inline(__always)
    static func token(source: UInt32, slot: UInt32) -> UInt64 {
        UInt64(source) << 32 | UInt64(slot)
    }
}

/// What the loop calls for one source: its readiness (`dispatch(events,
/// slot)`), its io_uring completions, its end-of-pass flush. A source generic
/// over its handler (`Connections`) gives closures made where the handler is
/// concrete, so they run specialised, not through the protocol's generic entry
/// (whose flush, on io_uring, would queue every send of the pass). Boxed, so
/// the loop can lend them per call.
private final class SourceHandlers {
    let dispatch: (_ events: UInt32, _ slot: UInt32) -> Void
    let complete: ((RingCompletion) -> Void)?
    let flush: () -> Void

    init(dispatch: @escaping (UInt32, UInt32) -> Void, complete: ((RingCompletion) -> Void)?, flush: @escaping () -> Void) {
        self.dispatch = dispatch
        self.complete = complete
        self.flush = flush
    }
}
