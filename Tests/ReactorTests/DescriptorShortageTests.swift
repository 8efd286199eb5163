import Glibc
import Reactor
import XCTest

/// Accepting with no descriptors left must pause, not spin, and resume once
/// descriptors are released. Run in a child process with a low RLIMIT_NOFILE.
final class DescriptorShortageTests: XCTestCase {
    func testEMFILEDoesNotSpinAndAcceptingResumes() throws {
        let child = try ChildProcess(arguments: [reactorBenchPath(), "serve", "--port", "0", "--threads", "1", "--nofile", "32"])
        defer { child.terminate() }
        let banner = child.readLine()
        let port = try XCTUnwrap(banner.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) }, "banner: \(banner)")

        // 40 clients exceed the 32 descriptors (a few are already the loop's own).
        var clients: [BlockingClient] = []
        for _ in 0..<40 { clients.append(try BlockingClient(port: port)) }  // the kernel completes handshakes into the backlog
        usleep(300_000)
        let cpuBefore = child.cpuSeconds()
        usleep(1_000_000)
        let cpuDuringShortage = child.cpuSeconds() - cpuBefore
        XCTAssertLessThan(cpuDuringShortage, 0.1, "the loop spun while out of descriptors")

        // An accepted connection is still served.
        clients[0].send([42])
        XCTAssertEqual(clients[0].receive(exactly: 1), [42])

        // Release descriptors: the last client, stuck in the backlog, gets accepted and served.
        // (The child may have inherited descriptors from this process, so release all others.)
        let last = clients.removeLast()
        clients.removeAll()
        last.send([7, 7])
        XCTAssertEqual(last.receive(exactly: 2), [7, 7], "accepting did not resume; child stderr: \(child.stderrText()); fds: \(String(describing: try? FileManagerLite.list("/proc/\(child.pid)/fd")))")
        XCTAssertTrue(child.stderrText().contains("pausing accepts"), "the shortage was not reported")
        XCTAssertEqual(child.stderrText().components(separatedBy: "pausing accepts").count - 1, 1, "reported more than once per interval")
    }

}

extension String {
    func prepending(_ prefix: String) -> String { prefix + self }
}

enum FileManagerLite {
    static func list(_ path: String) throws -> [String] {
        guard let handle = opendir(path) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            var target = [CChar](repeating: 0, count: 256)
            let length = readlink(path + "/" + name, &target, 255)
            names.append(name + "->" + String(decoding: target[0..<max(0, length)].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }
}
