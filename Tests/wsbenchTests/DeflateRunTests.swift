import WebSocketCodec
import XCTest
@testable import wsbench

/// wsbench --deflate against a room server that compresses each message once for every member
/// that negotiated permessage-deflate (as PushServer will).
final class DeflateRunTests: XCTestCase {
    private func run(server deflate: PerMessageDeflate.ServerPolicy?, fault: MisbehavingRoomServer.Fault = .none,
                     _ extra: [String]) throws -> RunResult {
        let (group, port) = try MisbehavingRoomServer.start(fault: fault, deflate: deflate)
        defer { group.shutdown() }
        let arguments = ["--scenario", "broadcast", "-c", "3", "--publishers", "1", "-t", "1", "-r", "200",
                         "-d", "400ms", "--warmup", "0", "--timeout", "1s"] + extra + ["ws://127.0.0.1:\(port)/room/deflate"]
        return try BenchRun.run(try XCTUnwrap(try BenchOptionsParser.parse(arguments)))
    }

    func testTickerMessagesArriveIntactAndCompressed() throws {
        let compressed = try run(server: PerMessageDeflate.ServerPolicy(), ["-s", "1k", "--payload", "ticker", "--deflate"])
        XCTAssertEqual(compressed.exitStatus, ExitStatus.passed, "\(compressed.failures) \(compressed.totals.errorsByKind)")
        XCTAssertEqual(compressed.totals.deflateAgreements,
                       ["server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15": 3])
        let window = try XCTUnwrap(compressed.windows.first)
        XCTAssertGreaterThan(window.sent, 50)
        XCTAssertEqual(window.received, window.sent * 2, "every message reached both subscribers")
        XCTAssertEqual(compressed.totals.lost + Int64(compressed.totals.duplicated + compressed.totals.reordered), 0)
        // On the wire: a 1 KiB JSON message takes well under half its size deflated; plain, the payload and a 4-byte header.
        let deflatedBytes = try XCTUnwrap(window.bytesPerMessage)
        XCTAssertLessThan(deflatedBytes, 512)
        let plain = try run(server: PerMessageDeflate.ServerPolicy(), ["-s", "1k", "--payload", "ticker"])
        XCTAssertEqual(plain.exitStatus, ExitStatus.passed, "\(plain.failures)")
        XCTAssertEqual(try XCTUnwrap(plain.windows.first?.bytesPerMessage), 1028, accuracy: 0.5)
        XCTAssertEqual(plain.totals.deflateAgreements, [:])
    }

    func testLossIsStillCaughtThroughDeflate() throws {
        let result = try run(server: PerMessageDeflate.ServerPolicy(), fault: .drop(sequence: 5), ["-s", "200", "--deflate"])
        XCTAssertEqual(result.totals.lost, 1)
        XCTAssertEqual(result.totals.errorCount, 0, "\(result.totals.errorsByKind)")
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }

    func testAServerThatDeclinesFailsTheHandshakes() throws {
        let result = try run(server: nil, ["--deflate", "--server-no-context-takeover"])
        XCTAssertEqual(result.totals.established, 0)
        XCTAssertEqual(result.totals.handshakeFailures, 3)
        XCTAssertEqual(result.totals.errorsByKind["handshake rejected: the server did not accept permessage-deflate"], 3)
        XCTAssertEqual(result.exitStatus, ExitStatus.failed)
    }
}
