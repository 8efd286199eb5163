import CURing
import Glibc
import Synchronization

/// How a loop waits and moves bytes, chosen once when its group starts.
///
/// - `epoll`: readiness. The loop waits in `epoll_wait`, then calls `recv`
///   and `sendmsg` per connection: two system calls per echoed message.
/// - `uring`: completion (io_uring, Linux 6.1 or later). Accepts and receives
///   are multishot requests the kernel answers as data arrives, into a ring
///   of buffers it picks from; the sends of a whole pass are submitted
///   together with the wait for the next completions, by one `io_uring_enter`.
public enum IOBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case epoll
    case uring

    public var description: String { self == .uring ? "io_uring" : "epoll" }

    /// The environment variable that picks the backend of a group that asks
    /// for none (`epoll` or `uring`): how CI runs the test suites on each.
    public static let environmentVariable = "FANOUT_IO"
    /// A test hook: `FANOUT_URING_SETUP_ERRNO=1` makes the io_uring check
    /// fail as if `io_uring_setup` had returned that errno (1 is EPERM, what
    /// sysctl kernel.io_uring_disabled and seccomp filters give), so the
    /// fallback to epoll can be tried on a kernel that allows io_uring.
    public static let setupFailureVariable = "FANOUT_URING_SETUP_ERRNO"

    /// What a group gets when it asks for `requested` (nil: `FANOUT_IO`, else
    /// io_uring where allowed). io_uring that the kernel refuses falls back to
    /// epoll, with one line on stderr saying why (once per process).
    static func resolve(_ requested: IOBackend?) -> IOBackend {
        let wanted = requested ?? environmentChoice ?? .uring
        guard wanted == .uring else { return .epoll }
        if let reason = UringSupport.unavailableReason {
            announceFallback(reason)
            return .epoll
        }
        return .uring
    }

    /// Whether this kernel (and process) allows the io_uring backend.
    public static var uringAvailable: Bool { UringSupport.unavailableReason == nil }

    private static var environmentChoice: IOBackend? {
        guard let value = getenv(environmentVariable) else { return nil }
        let text = String(cString: value)
        guard let backend = IOBackend(rawValue: text) else {
            if !text.isEmpty { StandardError.write("warning: \(environmentVariable)=\(text) is neither epoll nor uring; ignored") }
            return nil
        }
        return backend
    }

    /// Says once per process that io_uring was wanted and epoll is used.
    static func announceFallback(_ reason: String) {
        guard !fallbackAnnounced.exchange(true, ordering: .relaxed) else { return }
        StandardError.write("io_uring unavailable (\(reason)); using epoll")
    }
}

private let fallbackAnnounced = Atomic<Bool>(false)

/// Whether io_uring can carry the loops, checked once per process with a
/// trial ring: the setup flags, features, operations and registrations the
/// backend relies on.
enum UringSupport {
    /// nil when it can; else why not, for the fallback line.
    static let unavailableReason: String? = checkOnItsOwnThread()

    /// The trial runs on a thread of its own: closing a ring interrupts the
    /// next blocking call of the thread that made it (EINTR), which must not
    /// be the caller's.
    private static func checkOnItsOwnThread() -> String? {
        let verdict = Mutex<String?>(nil)
        do {
            let thread = try startThread(named: "uring-check") { verdict.withLock { $0 = check() } }
            pthread_join(thread, nil)
        } catch {
            return "\(error)"
        }
        return verdict.withLock { $0 }
    }

    private static func check() -> String? {
        if let forced = getenv(IOBackend.setupFailureVariable), let error = Int32(String(cString: forced)), error > 0 {
            return explain(setupError: error) + " [forced by \(IOBackend.setupFailureVariable)]"
        }
        let raw = UnsafeMutablePointer<curing>.allocate(capacity: 1)
        defer { raw.deallocate() }
        let status = curing_setup(raw, 8, 16, Ring.setupFlags)
        guard status == 0 else { return explain(setupError: -status) }
        defer { curing_teardown(raw) }
        let needed = UInt32(IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_SUBMIT_STABLE
            | IORING_FEAT_EXT_ARG | IORING_FEAT_FAST_POLL)
        guard raw.pointee.features & needed == needed else {
            return "the kernel lacks io_uring features the backend needs (have 0x\(String(raw.pointee.features, radix: 16)))"
        }
        let operations: [(io_uring_op, String)] = [
            (IORING_OP_ACCEPT, "accept"), (IORING_OP_RECV, "recv"), (IORING_OP_SEND, "send"), (IORING_OP_SENDMSG, "sendmsg"),
            (IORING_OP_POLL_ADD, "poll"), (IORING_OP_ASYNC_CANCEL, "cancel"),
            (IORING_OP_FILES_UPDATE, "files update"),
        ]
        for (operation, name) in operations where curing_probe(raw, operation.rawValue) != 1 {
            return "the kernel's io_uring has no \(name) operation"
        }
        let buffers = UnsafeMutablePointer<curing_buffers>.allocate(capacity: 1)
        defer { buffers.deallocate() }
        let registered = curing_buffers_setup(raw, buffers, 2, 64, 0)
        guard registered == 0 else { return "io_uring provided-buffer rings: \(SystemError("register", errno: -registered))" }
        curing_buffers_teardown(raw, buffers)
        let files = curing_register_sparse_files(raw, 4)
        guard files >= 0 else { return "io_uring registered files: \(SystemError("register", errno: -files))" }
        return nil
    }

    private static func explain(setupError error: Int32) -> String {
        let call = "\(SystemError("io_uring_setup", errno: error))"
        switch error {
        case EPERM: return "\(call): disabled by sysctl kernel.io_uring_disabled or by a seccomp filter"
        case ENOSYS: return "\(call): the kernel has no io_uring, or a seccomp filter hides it"
        case EINVAL: return "\(call): the kernel is older than 6.1 (no IORING_SETUP_DEFER_TASKRUN)"
        default: return call
        }
    }
}
