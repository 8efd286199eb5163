import Glibc
import Reactor
import XCTest

/// A storm of accepts must not wait on the kernel growing the descriptor
/// table (an RCU grace period per doubling in a threaded process): a group
/// sizes the table for the open-file limit before its loops start. Checked
/// in a fresh child, where nothing else has grown it.
final class DescriptorTableTests: XCTestCase {
    func testAStartedGroupHasItsDescriptorTableSizedForTheLimit() throws {
        let limit = 4_096  // the child's soft open-file limit, set before its group starts
        let child = try ChildProcess(arguments: [reactorBenchPath(), "serve", "--port", "0", "--threads", "1", "--nofile", "\(limit)"])
        defer { child.terminate() }
        let banner = child.readLine()
        XCTAssertTrue(banner.contains("loop(s) on"), "banner: \(banner); stderr: \(child.stderrText())")
        let slots = try XCTUnwrap(descriptorSlots(of: child.pid), "no FDSize in /proc/\(child.pid)/status")
        // The kernel rounds the table up to a power of two; before the reservation it was 64 here.
        XCTAssertGreaterThanOrEqual(slots, limit, "the descriptor table was not grown up front")
    }

    private func descriptorSlots(of pid: pid_t) -> Int? {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("FDSize:") { return Int(text.dropFirst(7).trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return nil
    }
}
