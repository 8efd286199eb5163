import Glibc

/// SIGINT and SIGTERM for executables: block them before any thread starts
/// (threads inherit the mask, so no loop is interrupted), then wait for one
/// on the main thread and shut down in order. A server that can reload
/// something (TLS certificates) takes SIGHUP the same way, as a request to.
public enum TerminationSignals {
    private static func set(includingHangUp hangUp: Bool) -> sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        if hangUp { sigaddset(&signals, SIGHUP) }
        return signals
    }

    /// Call in `main` before creating an `EventLoopGroup`. With
    /// `includingHangUp`, SIGHUP is blocked too (else it ends the process).
    public static func block(includingHangUp hangUp: Bool = false) {
        var signals = set(includingHangUp: hangUp)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
    }

    /// Waits for SIGINT or SIGTERM (or SIGHUP, when blocked with it) and returns which arrived.
    public static func wait(includingHangUp hangUp: Bool = false) -> Int32 {
        var signals = set(includingHangUp: hangUp)
        var received: Int32 = 0
        while sigwait(&signals, &received) != 0 {}
        return received
    }
}
