import Glibc
import Reactor
import XCTest

/// A blocking loopback client socket, the peer the tests drive by hand.
final class BlockingClient {
    let descriptor: Int32

    init(port: Int, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        let status = address.withSockAddr { connect(descriptor, $0, $1) }
        guard status == 0 else { throw SystemError("connect") }
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads up to `count` bytes; empty at end of stream or timeout.
    func receive(upTo count: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, count, 0) }
        return received > 0 ? Array(buffer[0..<received]) : []
    }

    func receive(exactly count: Int) -> [UInt8] {
        var result: [UInt8] = []
        while result.count < count {
            let chunk = receive(upTo: count - result.count)
            if chunk.isEmpty { break }
            result += chunk
        }
        return result
    }

    func shutdownWrite() { shutdown(descriptor, Int32(SHUT_WR)) }

    /// Closes with RST instead of FIN.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(descriptor)
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
    while monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

/// Entries in a /proc/self directory (open descriptors).
func procEntries(_ directory: String) -> Int {
    guard let handle = opendir("/proc/self/\(directory)") else { return -1 }
    defer { closedir(handle) }
    var count = 0
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { count += 1 }
    }
    return count - (directory == "fd" ? 1 : 0)  // opendir's own descriptor
}

/// The ids of this process's threads whose name (as `startThread(named:)`
/// set it) begins with `prefix`.
func threadIDs(namedWithPrefix prefix: String) -> Set<String> {
    guard let handle = opendir("/proc/self/task") else { return [] }
    defer { closedir(handle) }
    var ids: Set<String> = []
    while let entry = readdir(handle) {
        let task = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if task != "." && task != "..", threadName(task: task)?.hasPrefix(prefix) == true { ids.insert(task) }
    }
    return ids
}

private func threadName(task: String) -> String? {
    guard let file = fopen("/proc/self/task/\(task)/comm", "r") else { return nil }
    defer { fclose(file) }
    var name = [CChar](repeating: 0, count: 32)
    guard fgets(&name, Int32(name.count), file) != nil else { return nil }
    // Ends in a newline, which a prefix test ignores.
    return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
