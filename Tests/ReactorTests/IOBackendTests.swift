import Glibc
import Reactor
import XCTest

/// The backend a group gets: what it asks for, FANOUT_IO, and the fallback
/// to epoll when io_uring is refused (forced here with
/// FANOUT_URING_SETUP_ERRNO, which fails the check as sysctl or seccomp would).
final class IOBackendTests: XCTestCase {
    func testAGroupRunsOnWhatItAsksForWhereTheKernelAllows() throws {
        let epoll = try EventLoopGroup(loopCount: 1, io: .epoll)
        defer { epoll.shutdown() }
        XCTAssertEqual(epoll.backend, .epoll)
        let uring = try EventLoopGroup(loopCount: 2, io: .uring)
        defer { uring.shutdown() }
        XCTAssertEqual(uring.backend, IOBackend.uringAvailable ? .uring : .epoll)
        XCTAssertTrue(uring.loops.allSatisfy { $0.backend == uring.backend })
    }

    func testARefusedSetupFallsBackToEpollWithOneLineOnStandardError() throws {
        let child = try ChildProcess(arguments: [reactorBenchPath(), "serve", "--port", "0", "--threads", "2", "--io", "uring"],
                                     environment: ["FANOUT_URING_SETUP_ERRNO=1"])
        defer { child.terminate() }
        let banner = child.readLine()
        XCTAssertTrue(banner.contains("2 loop(s) on epoll"), banner)
        let port = try XCTUnwrap(Int(banner.split(separator: ":").last?.prefix { $0.isNumber } ?? ""), banner)
        let client = try BlockingClient(port: port)
        client.send([1, 2, 3])
        XCTAssertEqual(client.receive(exactly: 3), [1, 2, 3], "the epoll loops serve")
        let lines = child.stderrText().split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "\(lines)")
        XCTAssertTrue(lines.first?.hasPrefix("io_uring unavailable (io_uring_setup: Operation not permitted (errno 1): disabled by sysctl") ?? false, "\(lines)")
        XCTAssertTrue(lines.first?.hasSuffix("; using epoll") ?? false, "\(lines)")
    }

    func testTheEnvironmentPicksTheBackendOfAGroupThatAsksForNone() throws {
        for backend in IOBackend.allCases {
            let child = try ChildProcess(arguments: [reactorBenchPath(), "serve", "--port", "0"], environment: ["FANOUT_IO=\(backend.rawValue)"])
            defer { child.terminate() }
            let expected = backend == .uring && !IOBackend.uringAvailable ? IOBackend.epoll : backend
            let banner = child.readLine()
            XCTAssertTrue(banner.contains("loop(s) on \(expected)"), banner)
        }
    }
}

/// reactor-bench, beside the test bundle in the same build directory.
func reactorBenchPath() -> String {
    var path = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &path, path.count - 1)
    let executable = String(decoding: path[0..<max(length, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return executable.split(separator: "/").dropLast().joined(separator: "/").prepending("/") + "/reactor-bench"
}
