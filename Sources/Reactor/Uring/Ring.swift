import CURing
import Glibc

/// One loop's io_uring: the submission and completion queues, the ring of
/// provided buffers receives land in, the registered-descriptor table, and
/// scratch for what a submission points at until it is submitted.
///
/// Requests are queued during a pass and submitted together when the loop
/// next waits (`EventLoop`), with one `io_uring_enter`; only a queue that
/// fills up mid-pass is submitted early. The ring is set up for one thread
/// (IORING_SETUP_SINGLE_ISSUER, DEFER_TASKRUN: completions are produced only
/// when its loop enters to wait, with no cross-CPU wake-ups): it is made,
/// used and closed on its loop's thread.
final class Ring {
    static var setupFlags: UInt32 {
        UInt32(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL)
    }
    /// Room for every send of a pass that delivers to 10,000 connections.
    static var submissionEntries: UInt32 { 16384 }
    static var completionEntries: UInt32 { 32768 }
    /// Receive buffers: each completion takes one, given back as soon as its
    /// bytes are presented. Touched only as used.
    static var bufferCount: UInt32 { 2048 }
    static var bufferSize: UInt32 { 4096 }
    static var bufferGroup: UInt16 { 0 }
    /// Scratch for sendmsg vectors queued in one submission.
    static var vectorCapacity: Int { 65536 }

    /// The longest a wait may block, or nil. Under valgrind (the callgrind
    /// gate), 10 ms: there a loop waits in poll(2) (`submitAndWait`), which
    /// does not see the deferred work another thread's wake-up leaves.
    static let waitLimit: UInt64? = runsUnderValgrind ? 10_000_000 : nil

    /// valgrind preloads its vgpreload libraries into the program it runs.
    static let runsUnderValgrind: Bool = {
        guard let preload = getenv("LD_PRELOAD") else { return false }
        return String(cString: preload).contains("vgpreload")
    }()

    let raw: UnsafeMutablePointer<curing>
    let buffers: UnsafeMutablePointer<curing_buffers>
    /// Descriptors below this are registered at their own number (one table
    /// slot per possible descriptor of the process); those above go unregistered.
    @exclusivity(unchecked) private(set) var fileTableSize: Int32 = 0

    // What queued requests point at, kept until they are submitted. Loop-confined, as is the
    // cursor below, and no access overlaps another: unchecked (see `RingTCP`).
    private let fileUpdates: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) private var fileUpdateCount = 0
    private let messages: UnsafeMutablePointer<msghdr>
    @exclusivity(unchecked) private var messageCount = 0
    private let vectors: UnsafeMutablePointer<iovec>
    @exclusivity(unchecked) private var vectorCount = 0

    /// Completions being dispatched: the offset of the current one from the
    /// head, or nil between passes (see `takeQueued`).
    @exclusivity(unchecked) private var cursor: UInt32?
    private(set) var started = false

    init() throws(SystemError) {
        raw = .allocate(capacity: 1)
        let status = curing_setup(raw, Self.submissionEntries, Self.completionEntries, Self.setupFlags)
        guard status == 0 else {
            raw.deallocate()
            throw SystemError("io_uring_setup", errno: -status)
        }
        buffers = .allocate(capacity: 1)
        buffers.initialize(to: curing_buffers())
        let entries = Int(raw.pointee.sq_entries)
        fileUpdates = .allocate(capacity: entries)
        messages = .allocate(capacity: entries)
        vectors = .allocate(capacity: Self.vectorCapacity)
    }

    deinit {
        close()
        curing_buffers_teardown(nil, buffers)
        raw.deallocate()
        buffers.deallocate()
        fileUpdates.deallocate()
        messages.deallocate()
        vectors.deallocate()
    }

    /// On the loop's thread, when it stops: the kernel cancels what is still
    /// in flight. The buffers stay until the ring object goes (a transport
    /// may still hold it).
    func close() {
        curing_teardown(raw)
    }

    /// Before anything is submitted: registers the buffers and the
    /// descriptor table. The trial ring (`UringSupport`) passed the same
    /// steps, so a failure here is the system running out of something.
    func start() throws(SystemError) {
        precondition(!started)
        started = true
        func check(_ result: Int32, _ what: String) throws(SystemError) {
            if result < 0 { throw SystemError("io_uring_register(\(what))", errno: -result) }
        }
        _ = curing_register_ring_fd(raw)  // an optimisation: without it, io_uring_enter looks the ring up
        try check(curing_buffers_setup(raw, buffers, Self.bufferCount, Self.bufferSize, Self.bufferGroup), "provided buffers")
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let size = Int32(clamping: min(UInt64(limit.rlim_cur), 1 << 20))
        if size > 0 && curing_register_sparse_files(raw, UInt32(size)) >= 0 { fileTableSize = size }
    }

    // MARK: Submission

    /// Makes room for one request (and the scratch it points at), submitting
    /// what is queued if the queue or the scratch is full, then returns its entry.
    @inline(__always)
    func entry(vectors wantedVectors: Int = 0, message: Bool = false) -> UnsafeMutablePointer<io_uring_sqe> {
        if _slowPath(vectorCount + wantedVectors > Self.vectorCapacity || curing_pending(raw) >= raw.pointee.sq_entries) {
            submitQueued()
        }
        guard let entry = curing_get_sqe(raw) else { fatalError("io_uring: no submission entry after submitting") }
        return entry
    }

    /// Scratch for one request's sendmsg header and `count` vectors; call
    /// right after `entry(vectors:message:)` reserved them.
    func message(vectors count: Int) -> (UnsafeMutablePointer<msghdr>, UnsafeMutablePointer<iovec>) {
        let header = messages + messageCount
        let scratch = vectors + vectorCount
        messageCount += 1
        vectorCount += count
        header.initialize(to: msghdr())
        header.pointee.msg_iov = scratch
        header.pointee.msg_iovlen = count
        return (header, scratch)
    }

    /// Queues a descriptor-table update: `descriptor`'s slot holds `value` (itself, or -1 to empty it).
    func updateFile(_ descriptor: Int32, to value: Int32) {
        let entry = self.entry()
        let cell = fileUpdates + fileUpdateCount
        fileUpdateCount += 1
        cell.pointee = value
        curing_prep_files_update(entry, cell, 1, UInt32(descriptor), RingCompletion.userData(.ignored, source: 0, tag: 0, slot: 0))
    }

    /// Queues a cancel of the request `target`.
    func cancel(_ target: UInt64) {
        curing_prep_cancel(entry(), target, RingCompletion.userData(.ignored, source: 0, tag: 0, slot: 0))
    }

    /// Whether `descriptor` can be used as a registered file.
    @inline(__always)
    func isRegistrable(_ descriptor: Int32) -> Bool { descriptor < fileTableSize }

    /// Submits what is queued without waiting (the queue filled mid-pass).
    func submitQueued() {
        var result: Int32
        repeat { result = curing_submit(raw, 0, -1) } while result == -EINTR
        if result < 0 { fatalError("\(SystemError("io_uring_enter", errno: -result))") }
        resetScratch()
    }

    /// Submits what is queued and waits for at least one completion, at most
    /// `timeout` nanoseconds (nil: no limit; 0: do not wait).
    func submitAndWait(timeout: UInt64?) {
        curing_buffers_publish(buffers)
        if _slowPath(Self.runsUnderValgrind) { return submitThenPoll(timeout: timeout) }
        let result: Int32
        if timeout == 0 {
            result = curing_submit(raw, 0, -1)
        } else {
            result = curing_submit(raw, 1, timeout.map { Int64(clamping: $0) } ?? -1)
        }
        checkWait(result)
        resetScratch()
    }

    private func checkWait(_ result: Int32) {
        // ETIME: the wait timed out; EINTR: a signal; EBUSY: completions overflowed, take them first.
        if result < 0 && result != -ETIME && result != -EINTR && result != -EBUSY && result != -EAGAIN {
            fatalError("\(SystemError("io_uring_enter", errno: -result))")
        }
    }

    /// `submitAndWait` under valgrind. valgrind 3.19 runs one thread at a
    /// time and keeps that lock across io_uring_enter, so a loop waiting there
    /// stops the process's other threads, the one that would wake it included:
    /// the callgrind gate counted from 900 to 4,100 idle passes for the same
    /// run, as the other thread got its turn late or early. poll(2) it
    /// releases the lock for. So: submit and collect without waiting (what a
    /// busy pass does anyway), and only when nothing is ready, wait in poll on
    /// the ring's descriptor (readable once a completion or deferred work is
    /// pending) and collect again.
    private func submitThenPoll(timeout: UInt64?) {
        checkWait(curing_submit(raw, 1, 0))
        if curing_cq_ready(raw) == 0 && timeout != 0 {
            var ring = pollfd(fd: raw.pointee.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&ring, 1, Int32(clamping: ((timeout ?? Self.waitLimit!) + 999_999) / 1_000_000))
            checkWait(curing_submit(raw, 1, 0))
        }
        resetScratch()
    }

    /// Once the kernel has taken every queued request, nothing points into the scratch any more.
    private func resetScratch() {
        guard curing_pending(raw) == 0 else { return }
        fileUpdateCount = 0
        messageCount = 0
        vectorCount = 0
    }

    // MARK: Completion

    /// Calls `body` with each completion ready now, then hands them back.
    @inline(__always)
    func forEachCompletion(_ body: (RingCompletion) -> Void) {
        let ready = curing_cq_ready(raw)
        guard ready > 0 else { return }
        var offset: UInt32 = 0
        while offset < ready {
            cursor = offset
            let entry = curing_cq_at(raw, offset)!
            body(RingCompletion(userData: entry.pointee.user_data, result: entry.pointee.res, flags: entry.pointee.flags))
            offset += 1
        }
        cursor = nil
        curing_cq_advance(raw, ready)
    }

    /// The completion `distance` places after the one being dispatched, if
    /// one is queued there for `userData`: a multishot request's completions
    /// of one burst sit next to each other. `skip(_:)` it once taken.
    @inline(__always)
    func peekFollowing(_ distance: UInt32, for userData: UInt64) -> RingCompletion? {
        guard let cursor, cursor + distance < curing_cq_ready(raw) else { return nil }
        let entry = curing_cq_at(raw, cursor + distance)!
        guard entry.pointee.user_data == userData else { return nil }
        return RingCompletion(userData: userData, result: entry.pointee.res, flags: entry.pointee.flags)
    }

    /// Marks the completion `distance` places after the current one as taken: its turn skips it.
    func skipFollowing(_ distance: UInt32) {
        guard let cursor else { return }
        curing_cq_at(raw, cursor + distance)!.pointee.user_data = RingCompletion.userData(.ignored, source: 0, tag: 0, slot: 0)
    }

    /// Takes, out of turn, the completions still queued whose user data
    /// `matches` (they are marked so their turn skips them): for a request
    /// cancelled with `cancelNow` while its earlier completions wait behind
    /// the one being dispatched.
    func takeQueued(matching matches: (UInt64) -> Bool, _ body: (RingCompletion) -> Void) {
        let ready = curing_cq_ready(raw)
        var offset = cursor.map { $0 + 1 } ?? 0
        while offset < ready {
            let entry = curing_cq_at(raw, offset)!
            if matches(entry.pointee.user_data) {
                let completion = RingCompletion(userData: entry.pointee.user_data, result: entry.pointee.res, flags: entry.pointee.flags)
                entry.pointee.user_data = RingCompletion.userData(.ignored, source: 0, tag: 0, slot: 0)
                body(completion)
            }
            offset += 1
        }
    }

    /// Cancels the request `target` and waits until the kernel is done with
    /// it: its last completions are queued when this returns.
    func cancelNow(_ target: UInt64) {
        let result = curing_cancel_now(raw, target)
        if result < 0 && result != -ENOENT && result != -EALREADY {
            fatalError("io_uring cancel: \(SystemError("io_uring_register", errno: -result))")
        }
    }

    // MARK: Provided buffers

    @inline(__always)
    func buffer(_ id: UInt16) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(curing_buffer(buffers, UInt32(id)))
    }

    /// Gives a buffer back; the kernel sees it when the loop next submits.
    @inline(__always)
    func recycle(_ id: UInt16) {
        curing_buffers_recycle(buffers, id)
    }
}
