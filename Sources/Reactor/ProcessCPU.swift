import Glibc

/// CPU time (user + system, in seconds) a process has used, from
/// /proc/PID/stat; what benchmarks compare per unit of work. 0 when the
/// process is gone.
public func processCPUSeconds(_ pid: String = "self") -> Double {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return 0 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 4096)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
    let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    // The command name is in parentheses and may hold spaces; utime and stime
    // are the 12th and 13th fields after it.
    guard let close = line.lastIndex(of: ")") else { return 0 }
    let fields = line[line.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
