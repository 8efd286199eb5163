import CEpoll
import Glibc
import Synchronization

/// One thread, one epoll instance. Everything registered with a loop lives
/// its whole life on that loop, so nothing on the hot path takes a lock.
///
/// A pass: wait for readiness (or the next timer), dispatch events, run
/// expired timers and posted tasks, run the pre-flush hooks (the broadcaster
/// seals its batches there), then let every source flush its corked writes.
///
/// Only `execute`, `inEventLoop` and `index` may be used from other threads;
/// everything else asserts, in debug builds, that it runs on the loop.
public final class EventLoop: @unchecked Sendable {
    /// Position in the group; stable for the loop's life.
    public let index: Int
    /// Size of the per-loop receive buffer every connection reads into.
    public static let receiveBufferSize = 256 * 1024
    private static let maxEventsPerWait: Int32 = 1024
    private static let mailboxToken: UInt64 = UInt64.max

    private let epoll: Int32
    private let mailbox: Mailbox
    private let thread = Atomic<UInt>(0)

    // Loop-confined state.
    private var sources: [EventSource] = []
    /// Each source's event handler, by source index: readiness and slot.
    private var dispatchers: [(UInt32, UInt32) -> Void] = []
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

    init(index: Int) throws(SystemError) {
        self.index = index
        let descriptor = cepoll_create()
        guard descriptor >= 0 else { throw SystemError("epoll_create1") }
        epoll = descriptor
        do {
            mailbox = try Mailbox()
        } catch {
            close(descriptor)
            throw error
        }
        tokens = .allocate(capacity: Int(Self.maxEventsPerWait))
        readyMasks = .allocate(capacity: Int(Self.maxEventsPerWait))
        receiveBuffer = .allocate(byteCount: Self.receiveBufferSize, alignment: 16)
        _ = cepoll_ctl(epoll, 1, mailbox.wakeDescriptor, EventMask.readable, Self.mailboxToken)
    }

    deinit {
        close(epoll)
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
        assertInLoop()
        sources.append(source)
        dispatchers.append(dispatch)
        return UInt32(sources.count - 1)
    }

    /// Registers `descriptor` for `events` (level-triggered).
    public func register(_ descriptor: Int32, events: UInt32, source: UInt32, slot: UInt32) -> Bool {
        cepoll_ctl(epoll, 1, descriptor, events, Self.token(source: source, slot: slot)) == 0
    }

    public func modify(_ descriptor: Int32, events: UInt32, source: UInt32, slot: UInt32) -> Bool {
        cepoll_ctl(epoll, 3, descriptor, events, Self.token(source: source, slot: slot)) == 0
    }

    public func deregister(_ descriptor: Int32) {
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
    func run() {
        thread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        while state != .stopping {
            runPass()
            if state == .draining && (now >= drainDeadline || sources.allSatisfy(\.isIdle)) {
                state = .stopping
            }
        }
        for source in sources { source.closeAll() }
        for source in sources { source.flush() }
        // Sources, timers and hooks refer back to the loop; dropping them breaks the cycles.
        sources.removeAll()
        dispatchers.removeAll()
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
                dispatchers[Int(token >> 32)](readyMasks[i], UInt32(truncatingIfNeeded: token))
            }
        }
        for body in timers.runExpired(now: now) { body() }
        if mailboxReady {
            for task in mailbox.takeAll() { task() }
        }
        for hook in preFlushHooks { hook() }
        for source in sources { source.flush() }
    }

    private func waitTimeout() -> Int32 {
        if state == .stopping { return 0 }
        var deadline = timers.nextDeadline()
        if state == .draining { deadline = min(deadline ?? drainDeadline, drainDeadline) }
        guard let deadline else { return -1 }
        let current = monotonicNanoseconds()
        guard deadline > current else { return 0 }
        // Round up so a timer never fires early.
        return Int32(clamping: (deadline - current + 999_999) / 1_000_000)
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
