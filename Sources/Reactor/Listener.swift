import CEpoll
import CURing
import Glibc

/// A listening socket on one loop. Every loop of a server binds its own
/// socket to the same address with SO_REUSEPORT, and the kernel spreads
/// incoming connections across them.
///
/// On epoll it accepts up to `acceptsPerPass` connections per readiness; on
/// io_uring one multishot accept hands over each connection as the kernel
/// accepts it, every one that came in since the last pass in one batch.
public final class Listener: EventSource {
    public let loop: EventLoop
    private let descriptor: Int32
    private let accepted: (Int32) -> Void
    private var sourceIndex: UInt32 = 0
    private var paused = false
    private var closed = false
    private var descriptorShortages = 0
    private var lastReport: UInt64 = 0
    /// io_uring: the multishot accept is in flight.
    private var accepting = false

    /// Accepts per readiness; bounded so a connection storm cannot starve
    /// the connections already open.
    private static let acceptsPerPass = 128
    /// Out of descriptors: how long accepting pauses before trying again.
    private static let retryDelay: UInt64 = 100_000_000
    /// How often a descriptor shortage is reported.
    private static let reportInterval: UInt64 = 10_000_000_000

    /// Connections the kernel may hold for each listening socket until they
    /// are accepted (a server has one per loop). The kernel caps it at
    /// net.core.somaxconn (4096 by default since Linux 5.4).
    public static let defaultBacklog: Int32 = 4096

    /// Opens a listening socket bound to `address`. Any thread.
    public static func bind(_ address: SocketAddress, backlog: Int32 = defaultBacklog) throws(SystemError) -> Int32 {
        let descriptor = cepoll_tcp_socket(address.family)
        guard descriptor >= 0 else { throw SystemError("socket") }
        if address.family == AF_INET6 { _ = cepoll_set_v6only(descriptor) }
        guard cepoll_set_reuse(descriptor, 1) == 0 else {
            let error = SystemError("setsockopt(SO_REUSEPORT)")
            close(descriptor)
            throw error
        }
        let bound = address.withSockAddr { Glibc.bind(descriptor, $0, $1) }
        guard bound == 0 else {
            let error = SystemError("bind \(address)")
            close(descriptor)
            throw error
        }
        guard listen(descriptor, backlog) == 0 else {
            let error = SystemError("listen \(address)")
            close(descriptor)
            throw error
        }
        return descriptor
    }

    /// Throws EADDRINUSE if something already listens on `address`. The
    /// loops' own sockets share their port through SO_REUSEPORT, which would
    /// as gladly share it with another process (a second server started by
    /// mistake would take half the connections); a socket without it cannot
    /// bind there, so one is tried first.
    public static func ensureUnused(_ address: SocketAddress) throws(SystemError) {
        let probe = cepoll_tcp_socket(address.family)
        guard probe >= 0 else { throw SystemError("socket") }
        defer { close(probe) }
        if address.family == AF_INET6 { _ = cepoll_set_v6only(probe) }
        _ = cepoll_set_reuse(probe, 0)  // SO_REUSEADDR only: a previous run's TIME_WAIT connections do not count
        let bound = address.withSockAddr { Glibc.bind(probe, $0, $1) }
        guard bound == 0 else { throw SystemError("bind \(address)") }
    }

    /// Serves a bound descriptor on `loop` (call on that loop); each accepted
    /// connection goes to `accepted`.
    public init(loop: EventLoop, descriptor: Int32, accepted: @escaping (Int32) -> Void) {
        loop.assertInLoop()
        self.loop = loop
        self.descriptor = descriptor
        self.accepted = accepted
        sourceIndex = loop.addSource(self, dispatch: { [unowned self] events, slot in handleEvent(events, slot: slot) },
                                     complete: { [unowned self] completion in completeAccept(completion) })
        if let ring = loop.ring {
            armAccept(ring)
        } else {
            _ = loop.register(descriptor, events: EventMask.readable, source: sourceIndex, slot: 0)
        }
    }

    private var acceptRequest: UInt64 { RingCompletion.userData(.accept, source: sourceIndex, tag: 0, slot: 0) }

    private func armAccept(_ ring: Ring) {
        guard !accepting, !paused, !closed else { return }
        accepting = true
        curing_prep_accept_multishot(ring.entry(), descriptor, acceptRequest)
    }

    /// io_uring: one connection accepted, or an error; without `hasMore` the
    /// multishot accept has ended and is armed again (unless paused or closed).
    private func completeAccept(_ completion: RingCompletion) {
        if !completion.hasMore { accepting = false }
        if completion.result >= 0 {
            if closed { close(completion.result) } else { accepted(completion.result) }
        } else {
            let error = -completion.result
            switch error {
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                if accepting, let ring = loop.ring {
                    ring.cancel(acceptRequest)
                    accepting = false
                }
                pauseForDescriptors(error)
            default:
                break  // ECANCELED (closed), ECONNABORTED, EPROTO, EINTR...: the next one may be fine
            }
        }
        if !completion.hasMore, let ring = loop.ring { armAccept(ring) }
    }

    func handleEvent(_ events: UInt32, slot: UInt32) {
        for _ in 0..<Self.acceptsPerPass {
            let connection = cepoll_accept(descriptor)
            if connection >= 0 {
                accepted(connection)
                continue
            }
            switch errno {
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                pauseForDescriptors(errno)
            case EAGAIN, EWOULDBLOCK:
                break
            default:
                continue  // ECONNABORTED, EPROTO, EINTR, ...: the next one may be fine
            }
            return
        }
    }

    /// Out of descriptors: stop polling the listener (level-triggered epoll
    /// would report it again at once and spin), keep serving the open
    /// connections, and retry shortly. Reported once per interval.
    private func pauseForDescriptors(_ error: Int32) {
        guard !paused else { return }
        paused = true
        descriptorShortages += 1
        if loop.ring == nil { _ = loop.modify(descriptor, events: 0, source: sourceIndex, slot: 0) }
        if loop.now &- lastReport >= Self.reportInterval || lastReport == 0 {
            lastReport = loop.now
            let message = "warning: accept on loop \(loop.index): \(SystemError("accept4", errno: error)); "
                + "pausing accepts (\(descriptorShortages) time(s) so far). Raise the open-file limit (ulimit -n) or lower the connection count.\n"
            StandardError.write(message)
        }
        loop.schedule(after: Self.retryDelay) { [weak self] in self?.resume() }
    }

    private func resume() {
        guard paused, !closed else { return }
        paused = false
        if let ring = loop.ring {
            armAccept(ring)
        } else {
            _ = loop.modify(descriptor, events: EventMask.readable, source: sourceIndex, slot: 0)
        }
    }

    /// Times accepting paused for lack of descriptors.
    public var descriptorShortageCount: Int { descriptorShortages }

    public func flush() {}

    public func beginShutdown() { closeListener() }

    public var isIdle: Bool { true }

    public func closeAll() { closeListener() }

    private func closeListener() {
        guard !closed else { return }
        closed = true
        if let ring = loop.ring {
            if accepting { ring.cancel(acceptRequest) }  // it holds the socket open until cancelled
        } else {
            loop.deregister(descriptor)
        }
        close(descriptor)
    }
}
