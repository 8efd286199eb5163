import Glibc
import XCTest

/// The built binary, run as CI would: a bad flag gives the usage on stderr and exit status 2.
final class CommandLineTests: XCTestCase {
    func testBadFlagPrintsUsageAndExitsWithTwo() throws {
        let run = try runWSBench(["--no-such-flag", "ws://127.0.0.1:9/"])
        XCTAssertEqual(run.status, 2)
        XCTAssert(run.standardError.contains("unknown option --no-such-flag"), run.standardError)
        XCTAssert(run.standardError.contains("Usage: wsbench [options] ws://host:port/path"), run.standardError)
        XCTAssertEqual(run.standardOutput, "")
    }

    func testBadValueAndMissingURLExitWithTwo() throws {
        let badValue = try runWSBench(["-c", "lots", "ws://127.0.0.1:9/"])
        XCTAssertEqual(badValue.status, 2)
        XCTAssert(badValue.standardError.contains("-c needs a positive integer, got 'lots'"), badValue.standardError)
        let noURL = try runWSBench(["-c", "5"])
        XCTAssertEqual(noURL.status, 2)
        XCTAssert(noURL.standardError.contains("Usage:"), noURL.standardError)
        let tooSmall = try runWSBench(["--scenario", "broadcast", "-s", "16", "ws://127.0.0.1:9/"])
        XCTAssertEqual(tooSmall.status, 2)
        XCTAssert(tooSmall.standardError.contains("at least 24 bytes"), tooSmall.standardError)
    }

    func testHelpPrintsUsageOnStandardOutput() throws {
        let run = try runWSBench(["--help"])
        XCTAssertEqual(run.status, 0)
        XCTAssert(run.standardOutput.contains("Examples:"), run.standardOutput)
    }

    func testRefusedConnectionsFailTheRun() throws {
        // Port 9 (discard) is closed on a test machine: every connect is refused.
        let run = try runWSBench(["-c", "2", "-t", "1", "-d", "100ms", "--warmup", "0", "--timeout", "1s", "ws://127.0.0.1:9/"])
        XCTAssertEqual(run.status, 1, run.standardOutput + run.standardError)
        XCTAssert(run.standardOutput.contains("connect failed 2"), run.standardOutput)
        XCTAssert(run.standardOutput.contains("FAIL"), run.standardOutput)
    }

    struct Finished {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// Runs the wsbench built next to this test bundle.
    func runWSBench(_ arguments: [String]) throws -> Finished {
        let binary = Self.productsDirectory + "/wsbench"
        guard access(binary, X_OK) == 0 else {
            XCTFail("\(binary) is missing: build the package (swift build) before testing")
            throw XCTSkip("no wsbench binary")
        }
        let output = "/tmp/wsbench-test-\(getpid())-out", error = "/tmp/wsbench-test-\(getpid())-err"
        defer { unlink(output); unlink(error) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, error, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, binary, &actions, nil, &argv, environ)
        XCTAssertEqual(spawned, 0, "posix_spawn \(binary)")
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        let exitStatus: Int32 = status & 0x7F == 0 ? (status >> 8) & 0xFF : -1
        return Finished(status: exitStatus, standardOutput: Self.contents(of: output), standardError: Self.contents(of: error))
    }

    /// Where SwiftPM put this test bundle, and next to it the executables.
    static var productsDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = String(decoding: buffer.prefix(max(0, length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // .../debug/<Package>PackageTests.xctest (a file on Linux)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }

    static func contents(of path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
