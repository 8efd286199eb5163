import Glibc

/// SIGINT and SIGTERM for executables: block them before any thread starts
/// (threads inherit the mask, so no loop is interrupted), then wait for one
/// on the main thread and shut down in order.
public enum TerminationSignals {
    private static var set: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        return signals
    }

    /// Call first thing in `main`, before creating an `EventLoopGroup`.
    public static func block() {
        var signals = set
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Waits for SIGINT or SIGTERM and returns which arrived.
    public static func wait() -> Int32 {
        var signals = set
        var received: Int32 = 0
        while sigwait(&signals, &received) != 0 {}
        return received
    }
}
