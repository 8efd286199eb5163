import Glibc

/// What a process holds right now, from /proc: resident memory and open
/// descriptors. A field is nil when the process is gone or not readable.
struct ProcessUsage: Sendable, Equatable {
    var residentBytes: Int?
    var openDescriptors: Int?

    /// `pid`: "self" or a number.
    static func read(_ pid: String = "self") -> ProcessUsage {
        ProcessUsage(residentBytes: residentBytes(pid), openDescriptors: openDescriptors(pid))
    }

    /// The second field of /proc/PID/statm (resident pages), in bytes.
    private static func residentBytes(_ pid: String) -> Int? {
        guard let file = fopen("/proc/\(pid)/statm", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let fields = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Entries of /proc/PID/fd, "." and ".." aside.
    private static func openDescriptors(_ pid: String) -> Int? {
        guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return count
    }
}
