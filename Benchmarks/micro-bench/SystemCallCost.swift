import Glibc
import Reactor

/// Nanoseconds one system call costs on this machine now: the fastest of
/// `repetitions` runs of `calls` getppid(2) (which glibc does not cache and the
/// kernel answers without work), so it measures the entry and the exit.
/// io_uring's advantage over epoll is the system calls it saves: a comparison
/// of the two is read beside this figure, which moves with the CPU's
/// mitigations and the hypervisor.
func systemCallNanoseconds(calls: Int = 1_000_000, repetitions: Int = 5) -> Double {
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = monotonicNanoseconds()
        for _ in 0..<calls { _ = getppid() }  // a C call: the compiler cannot drop it
        best = min(best, Double(monotonicNanoseconds() - start) / Double(calls))
    }
    return best
}
