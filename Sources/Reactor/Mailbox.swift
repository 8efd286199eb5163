import CEpoll
import Glibc
import Synchronization

/// Work posted to a loop from any thread. One eventfd wakes the loop; it is
/// written only when the mailbox goes from empty to non-empty, so a burst of
/// posts costs one wake-up.
final class Mailbox: Sendable {
    typealias Task = @Sendable () -> Void

    let wakeDescriptor: Int32
    private let tasks = Mutex<[Task]>([])

    init() throws(SystemError) {
        let descriptor = cepoll_eventfd()
        guard descriptor >= 0 else { throw SystemError("eventfd") }
        wakeDescriptor = descriptor
    }

    deinit { close(wakeDescriptor) }

    func post(_ task: @escaping Task) {
        let wasEmpty = tasks.withLock { queue in
            queue.append(task)
            return queue.count == 1
        }
        if wasEmpty { _ = cepoll_eventfd_signal(wakeDescriptor) }
    }

    /// Takes everything posted so far. Tasks posted while these run wait for
    /// the next pass, so a task that reposts itself cannot starve I/O.
    func takeAll() -> [Task] {
        cepoll_eventfd_drain(wakeDescriptor)
        return tasks.withLock { queue in
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
    }

    var isEmpty: Bool { tasks.withLock { $0.isEmpty } }
}
