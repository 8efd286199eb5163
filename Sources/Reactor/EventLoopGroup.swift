import CEpoll
import Glibc
import Synchronization

/// A fixed set of event loops, each on its own thread: one per core by default.
/// Threads start in `init` and end in `shutdown`.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    /// How the loops wait and move bytes (every loop of a group alike).
    public let backend: IOBackend
    private let threads: Mutex<[pthread_t]>
    private let nextLoop = Atomic<Int>(0)

    /// The number of cores this process may run on.
    public static var coreCount: Int { Int(cepoll_core_count()) }

    /// `io`: the backend; nil takes `FANOUT_IO` from the environment, else
    /// io_uring where the kernel allows it. io_uring refused (by sysctl,
    /// seccomp, an old kernel, or no memory for a ring) falls back to epoll,
    /// with one line on stderr.
    public init(loopCount: Int = EventLoopGroup.coreCount, io: IOBackend? = nil) throws(SystemError) {
        precondition(loopCount > 0, "an EventLoopGroup needs at least one loop")
        let requested = IOBackend.resolve(io)
        DescriptorTable.reserveToLimit()
        var loops: [EventLoop] = []
        for index in 0..<loopCount { loops.append(try EventLoop(index: index, backend: requested)) }
        self.loops = loops
        // Each loop sets its backend up on its own thread; the group is ready when all have.
        let ready = Semaphore()
        var started: [pthread_t] = []
        for loop in loops {
            started.append(try startThread(named: "loop-\(loop.index)") { loop.run(started: ready) })
        }
        for _ in loops { ready.wait() }
        threads = Mutex(started)
        backend = loops.allSatisfy { $0.backend == .uring } ? .uring : .epoll
    }

    /// Round-robin choice of a loop, for work that may run anywhere.
    public func next() -> EventLoop {
        loops[nextLoop.add(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Runs `body` on every loop and waits until all have finished. Not from a loop.
    public func onEveryLoop(_ body: @escaping @Sendable (EventLoop) -> Void) {
        precondition(!loops.contains(where: \.inEventLoop), "onEveryLoop waits for the loops, so it cannot run on one")
        let semaphore = Semaphore()
        for loop in loops {
            loop.execute {
                body(loop)
                semaphore.signal()
            }
        }
        for _ in loops { semaphore.wait() }
    }

    /// Graceful: first every loop refuses new work (`EventLoop.isShuttingDown`
    /// turns true; handlers answer 503, say) and work already crossing
    /// between loops lands; then every source stops accepting and closes
    /// politely, so a goodbye (a WebSocket's 1001) never overtakes a message
    /// accepted before it. Each loop exits when its sources are idle; then the
    /// threads are joined. Not from a loop.
    ///
    /// Work accepted before the refusal may also be out of the group's hands,
    /// coming back later (a publish on a round trip to Redis): `isSettled`,
    /// when given, says when nothing is out any more. The shutdown waits for it
    /// before closing, then lets what came back cross the loops. All of it,
    /// waiting and draining, takes at most `timeout` nanoseconds.
    public func shutdownGracefully(timeout: UInt64, isSettled: (@Sendable () -> Bool)? = nil) {
        precondition(!loops.contains(where: \.inEventLoop), "an EventLoopGroup cannot be shut down from one of its own loops")
        guard threads.withLock({ !$0.isEmpty }) else { return }
        let deadline = monotonicNanoseconds() &+ timeout
        afterNextPass { $0.beginRefusingWork() }
        for _ in 0..<Self.settlingRounds { afterNextPass { _ in } }
        if let isSettled, !isSettled() {
            while !isSettled() && monotonicNanoseconds() < deadline { usleep(Self.settledPollInterval) }
            // It came back during some pass of some loop, and crosses from the end of that pass.
            for _ in 0...Self.settlingRounds { afterNextPass { _ in } }
        }
        let now = monotonicNanoseconds()
        let remaining = deadline > now ? deadline - now : 0
        for loop in loops { loop.execute { loop.beginShutdown(timeout: remaining) } }
        joinThreads()
    }

    /// Passes every loop completes between refusing work and closing. Work
    /// crosses loops at most twice (a publish to its room's home loop, a
    /// batch back to a member's loop), and each hop lands within one pass.
    static let settlingRounds = 2

    /// How often a shutdown looks whether work out of the group came back (microseconds).
    static let settledPollInterval: UInt32 = 1_000

    /// Runs `body` on every loop and waits until each has also finished the
    /// pass it ran in: its end-of-pass hooks (which post to other loops) included.
    private func afterNextPass(_ body: @escaping @Sendable (EventLoop) -> Void) {
        let semaphore = Semaphore()
        for loop in loops {
            loop.execute {
                body(loop)
                loop.execute { semaphore.signal() }  // taken in the next pass, after this one's hooks
            }
        }
        for _ in loops { semaphore.wait() }
    }

    /// Closes everything at once and joins the threads.
    public func shutdown() {
        for loop in loops { loop.execute { loop.stop() } }
        joinThreads()
    }

    private func joinThreads() {
        precondition(!loops.contains(where: \.inEventLoop), "an EventLoopGroup cannot be shut down from one of its own loops")
        let joining = threads.withLock { list in
            let taken = list
            list.removeAll()
            return taken
        }
        for thread in joining { pthread_join(thread, nil) }
    }
}

/// A counting semaphore for the few places a caller outside the loops waits for them.
public final class Semaphore: @unchecked Sendable {
    // sem_t must not move once initialised, so it lives outside the object.
    private let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    public init(value: UInt32 = 0) { sem_init(semaphore, 0, value) }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    public func signal() { sem_post(semaphore) }

    public func wait() {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
    }

    /// Waits at most `nanoseconds`; false on timeout.
    public func wait(timeout nanoseconds: UInt64) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let total = UInt64(deadline.tv_nsec) + nanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        while sem_timedwait(semaphore, &deadline) != 0 {
            if errno != EINTR { return false }
        }
        return true
    }
}
