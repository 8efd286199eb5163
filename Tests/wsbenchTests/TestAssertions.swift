import XCTest
@testable import wsbench

/// Assertions the wsbench tests share: options that parse or are refused,
/// and a room run in which every message reached every receiver once.
extension XCTestCase {
    /// The options of `arguments` (with two cores), failing the test when they are refused.
    func parseOptions(_ arguments: [String]) throws -> BenchOptions {
        try XCTUnwrap(try BenchOptionsParser.parse(arguments, coreCount: 2))
    }

    /// Asserts the arguments are refused with a message containing `fragment`.
    func assertRefused(_ arguments: [String], saying fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let options = try BenchOptionsParser.parse(arguments, coreCount: 2)
            XCTFail("accepted \(arguments) as \(String(describing: options))", file: file, line: line)
        } catch {
            XCTAssert(error.message.contains(fragment), "'\(error.message)' does not mention '\(fragment)'", file: file, line: line)
        }
    }

    /// Every connection established, each message of the window reached
    /// `receivers` connections in order, once, and was timed; no error.
    func assertCleanRoomRun(_ result: RunResult, receivers: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(result.totals.established, result.options.connections, "\(result.totals.errorsByKind)", file: file, line: line)
        XCTAssertEqual(result.totals.lost, 0, file: file, line: line)
        XCTAssertEqual(result.totals.duplicated, 0, file: file, line: line)
        XCTAssertEqual(result.totals.reordered, 0, file: file, line: line)
        XCTAssertEqual(result.totals.errorCount, 0, "\(result.totals.errorsByKind)", file: file, line: line)
        let window = try XCTUnwrap(result.windows.first, file: file, line: line)
        XCTAssertGreaterThan(window.sent, 20, file: file, line: line)
        XCTAssertEqual(window.received, window.sent * UInt64(receivers), file: file, line: line)
        XCTAssertGreaterThan(window.latency.count, 0, file: file, line: line)
        XCTAssertEqual(result.exitStatus, ExitStatus.passed, "\(result.failures)", file: file, line: line)
    }
}
