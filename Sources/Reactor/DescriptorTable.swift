import Glibc

/// The kernel grows a process's descriptor table by doubling it, and in a
/// multi-threaded process each doubling waits for an RCU grace period
/// (`expand_fdtable`: 4–12 ms measured here) with the thread that opened the
/// descriptor blocked in it. In a connection storm that wait lands on the
/// accepting loop, and on every handshake in flight behind it: it was the
/// whole handshake p99 of 10,000 connects (15–18 ms against a p50 of 3 ms).
/// Growing the table once, before the loops start, to the open-file limit
/// moves the cost to start-up.
enum DescriptorTable {
    /// A table is 8 bytes per descriptor plus bitmaps; above this the limit
    /// is left to grow on demand (1 MiB of table for 131,072 descriptors).
    static let largestReservation: rlim_t = 1 << 17

    /// Sizes the table for every descriptor the soft limit allows (capped at
    /// `largestReservation`); nothing stays open.
    static func reserveToLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let highest = Int32(clamping: min(limit.rlim_cur, largestReservation)) - 1
        guard highest > 1024 else { return }  // the table starts at 64 and small limits grow in microseconds
        let anyDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard anyDescriptor >= 0 else { return }
        // F_DUPFD takes the lowest free descriptor at or above `highest`, closing nothing; the table grows to hold it and does not shrink when it closes.
        let copy = fcntl(anyDescriptor, F_DUPFD_CLOEXEC, highest)
        if copy >= 0 { close(copy) }
        close(anyDescriptor)
    }
}
