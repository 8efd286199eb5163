import Glibc
import PushServer
import XCTest
@testable import echo_server

/// `--max-buffered-total` and the bound it puts on `--max-message`; `--head-timeout`.
final class EchoServerOptionsTests: XCTestCase {
    private func parse(_ arguments: [String]) throws -> EchoServerOptions {
        try XCTUnwrap(try EchoServerOptions.parse(arguments))
    }

    private func usageError(_ arguments: [String]) -> String? {
        do {
            _ = try EchoServerOptions.parse(arguments)
            return nil
        } catch {
            return error.message
        }
    }

    func testTheDefaultsHoldTogether() throws {
        let options = try parse([])
        XCTAssertEqual(options.configuration.maxBufferedTotal, 1 << 30)
        XCTAssertEqual(options.configuration.maxMessageSize, 16 << 20)
        XCTAssertNoThrow(try options.configuration.validate())
    }

    func testMaxMessageIsBoundedByAnEighthOfTheBudget() throws {
        XCTAssertEqual(try parse(["--max-message", "134217728"]).configuration.maxMessageSize, 1 << 27, "1/8 of 1 GiB")
        let tooLarge = try XCTUnwrap(usageError(["--max-message", "134217729"]))
        XCTAssertTrue(tooLarge.contains("0...134217728") && tooLarge.contains("got '134217729'"), tooLarge)
        // The order of the flags does not matter: the range follows the budget given.
        let raised = try parse(["--max-message", "268435456", "--max-buffered-total", "2147483648"])
        XCTAssertEqual(raised.configuration.maxMessageSize, 1 << 28)
        XCTAssertEqual(raised.configuration.maxBufferedTotal, 1 << 31)
        XCTAssertTrue(try XCTUnwrap(usageError(["--max-message", "-1"])).contains("0...134217728"))
        XCTAssertTrue(try XCTUnwrap(usageError(["--max-message=lots"])).contains("got 'lots'"))
        let huge = try XCTUnwrap(usageError(["--max-buffered-total", "70368744177664", "--max-message", "2147483649"]))
        XCTAssertTrue(huge.contains("0...2147483648"), "never past 2^31: \(huge)")
    }

    func testABudgetTooSmallForTheDefaultMessageSaysWhatWouldDo() throws {
        let message = try XCTUnwrap(usageError(["--max-buffered-total", "1048576"]))
        XCTAssertTrue(message.contains("--max-message 131072 or less") && message.contains("at least 134217728"), message)
        XCTAssertEqual(try parse(["--max-buffered-total", "1048576", "--max-message", "131072"]).configuration.maxMessageSize, 131_072)
        XCTAssertTrue(try XCTUnwrap(usageError(["--max-buffered-total", "1000"])).contains("65536...70368744177664"))
    }

    func testHeadTimeoutSetsTheRequestHeadDeadlineWithinItsRange() throws {
        XCTAssertEqual(try parse([]).configuration.handshakeTimeout, .seconds(10))
        XCTAssertEqual(try parse(["--head-timeout", "60"]).configuration.handshakeTimeout, .seconds(60))
        XCTAssertEqual(try parse(["--head-timeout=1"]).configuration.handshakeTimeout, .seconds(1))
        let zero = try XCTUnwrap(usageError(["--head-timeout", "0"]))
        XCTAssertTrue(zero.contains("--head-timeout needs a whole number in 1...3600, got '0'"), zero)
    }

    func testTheBinaryRefusesABadMaxMessageOnStderrWithStatus2() throws {
        let (status, stderr) = try run(["--port", "0", "--max-message", "999999999"])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(stderr.contains("echo-server: --max-message needs a whole number in 0...134217728"), stderr)
        XCTAssertTrue(stderr.contains("usage: echo-server"), "the usage follows: \(stderr)")
    }

    /// Runs echo-server (built beside this test bundle) to its exit: its status and stderr.
    private func run(_ arguments: [String]) throws -> (Int32, String) {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        let directory = String(decoding: path[0..<max(length, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .split(separator: "/").dropLast().joined(separator: "/")
        let executable = "/" + directory + "/echo-server"
        let stderrPath = "/tmp/echo-server-options-\(getpid()).stderr"
        defer { unlink(stderrPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, executable, &actions, nil, &argv, environ)
        guard spawned == 0 else {
            XCTFail("cannot run \(executable) (swift build builds it beside the tests): errno \(spawned)")
            return (-1, "")
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        guard let file = fopen(stderrPath, "r") else { return (status, "") }
        defer { fclose(file) }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 1024)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return ((status >> 8) & 0xFF, text)
    }
}
