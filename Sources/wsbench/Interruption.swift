import Glibc
import Reactor

/// Ctrl-C (SIGINT) or SIGTERM ends the run early but still reports, as wrk
/// does. The signals are blocked before the loops start (`TerminationSignals`)
/// and polled by the coordinator between its waits.
enum Interruption {
    /// Call before any thread starts.
    static func install() {
        TerminationSignals.block()
    }

    /// True once SIGINT or SIGTERM is pending (the signal stays pending, so this stays true).
    static var requested: Bool {
        var pending = sigset_t()
        sigemptyset(&pending)
        guard sigpending(&pending) == 0 else { return false }
        return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1
    }
}
