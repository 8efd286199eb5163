import Reactor
import Synchronization

/// Jobs for one worker thread. Any thread submits; the worker takes all that
/// is waiting at once (up to a limit), which is what lets the writer commit
/// a whole batch in one transaction.
final class WorkQueue<Job: Sendable>: Sendable {
    private struct State {
        var jobs: [Job] = []
        var closed = false
        /// The worker is asleep on `wakeup`: the next submit must signal it.
        var workerWaiting = false
    }

    private let state = Mutex(State())
    private let wakeup = Semaphore()

    /// Queues `job`; false (and not queued) once the queue is closed.
    func submit(_ job: Job) -> Bool {
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            state.jobs.append(job)
            defer { state.workerWaiting = false }
            return (true, state.workerWaiting)
        }
        if wake { wakeup.signal() }
        return accepted
    }

    /// The worker's side: blocks until jobs wait, then takes up to `limit` of
    /// them, oldest first. Nil once the queue is closed and empty, so every
    /// job submitted before `close` is still taken.
    func take(upTo limit: Int) -> [Job]? {
        while true {
            let taken = state.withLock { state -> [Job]?? in
                if !state.jobs.isEmpty {
                    guard state.jobs.count > limit else {
                        defer { state.jobs = [] }
                        return state.jobs
                    }
                    defer { state.jobs.removeFirst(limit) }
                    return Array(state.jobs.prefix(limit))
                }
                if state.closed { return .some(nil) }
                state.workerWaiting = true
                return nil
            }
            if let taken { return taken }
            wakeup.wait()
        }
    }

    /// Refuses further jobs; the worker finishes those queued, then `take` returns nil.
    func close() {
        let wake = state.withLock { state -> Bool in
            state.closed = true
            defer { state.workerWaiting = false }
            return state.workerWaiting
        }
        if wake { wakeup.signal() }
    }

    var count: Int { state.withLock { $0.jobs.count } }
}
