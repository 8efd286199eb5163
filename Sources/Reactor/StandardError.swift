import Glibc

/// Diagnostics for operators: one unbuffered write per message, so lines from
/// different threads do not interleave mid-line.
public enum StandardError {
    public static func write(_ message: String) {
        var line = message
        if !line.hasSuffix("\n") { line += "\n" }
        line.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
    }
}
