import Glibc
import Reactor

/// Every connection is a descriptor: the soft limit is raised to the hard
/// one, and a run that cannot fit says so before it starts.
enum DescriptorLimit {
    /// Descriptors besides the connections: epoll, eventfds, stdio, the JSON file.
    static let reserve = 64

    static func raise(toFit options: BenchOptions) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        // The connect scenario closes as it goes; the others hold every connection at once.
        let needed = (options.scenario == .connect ? min(options.connections, 512) : options.connections) + reserve
        if UInt64(needed) > UInt64(limit.rlim_cur) {
            StandardError.write("wsbench: warning: \(options.connections) connections need about \(needed) descriptors "
                + "but the limit (ulimit -n) is \(limit.rlim_cur); connects beyond it will fail")
        }
    }
}
