import Glibc
import Reactor
import Synchronization
import XCTest

/// Consumes whole lines only, so a line still arriving stays with the
/// reactor; a line "FLOOD" answers with `floodSize` bytes of shared chunks.
private final class LineKeeper: ConnectionHandler, Sendable {
    struct Context: ConnectionContext {}
    static let floodSize = 16 << 20
    let chunk = SharedBuffer([UInt8](repeating: 0x5A, count: 64 * 1024))

    func connectionOpened(_ connection: Connection<LineKeeper>) {}

    func connection(_ connection: Connection<LineKeeper>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        var consumed = 0
        while let end = bytes[consumed...].firstIndex(of: UInt8(ascii: "\n")) {
            if Array(bytes[consumed..<end]) == Array("FLOOD".utf8) {
                for _ in 0..<(Self.floodSize / chunk.count) { connection.write(chunk, range: 0..<chunk.count) }
            }
            consumed = end + 1
        }
        return consumed
    }

    func connectionClosed(_ connection: Connection<LineKeeper>, reason: CloseReason) {}
}

/// `Connections` keeps exact counts of the input it keeps and the output it
/// queues, which a memory budget reads at any moment: they follow every
/// change and come back to zero.
final class HeldBytesTests: XCTestCase {
    private var group: EventLoopGroup!
    private var server: TCPServer<LineKeeper>!

    override func setUpWithError() throws {
        group = try EventLoopGroup(loopCount: 1)
        server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in LineKeeper() }
    }

    override func tearDown() { group.shutdown() }

    /// (kept input, queued output, queued output by a scan of every connection), read on the loop.
    private func held() -> (input: Int, output: Int, scanned: Int) {
        let result = Mutex((0, 0, 0))
        let server = server!
        group.onEveryLoop { loop in
            let connections = server.connections(onLoop: loop.index).value
            result.withLock { $0 = (connections.keptInputBytes, connections.queuedOutputBytes, connections.queuedByteTotal) }
        }
        return result.withLock { $0 }
    }

    func testInputKeptForAnIncompleteLineIsCountedUntilItCompletesOrItsConnectionGoes() throws {
        let first = try BlockingClient(port: server.port)
        var second: BlockingClient? = try BlockingClient(port: server.port)
        first.send([UInt8](repeating: 0x61, count: 1000))
        second?.send([UInt8](repeating: 0x62, count: 300))
        XCTAssertTrue(eventually { self.held().input == 1300 }, "\(held())")
        first.send([UInt8](repeating: 0x61, count: 500))
        XCTAssertTrue(eventually { self.held().input == 1800 }, "kept input grows as it is kept again: \(held())")
        first.send(Array("\n".utf8))
        XCTAssertTrue(eventually { self.held().input == 300 }, "a completed line is no longer kept: \(held())")
        second = nil
        XCTAssertTrue(eventually { self.held().input == 0 }, "a closed connection keeps nothing: \(held())")
    }

    func testOutputQueuedForAStalledReaderIsCountedAsTheScanCountsItAndDrainsToZero() throws {
        let reader = try BlockingClient(port: server.port, receiveBuffer: 4096)
        var stalled: BlockingClient? = try BlockingClient(port: server.port, receiveBuffer: 4096)
        reader.send(Array("FLOOD\n".utf8))
        stalled?.send(Array("FLOOD\n".utf8))
        // 16 MiB each: far more than the kernel's buffers take (tcp_wmem's 4 MiB at most).
        XCTAssertTrue(eventually { self.held().output > 16 << 20 }, "\(held())")
        let during = held()
        XCTAssertEqual(during.output, during.scanned, "the running count and the scan agree")
        var received = 0
        while received < LineKeeper.floodSize {
            let bytes = reader.receive(upTo: 256 * 1024)
            guard !bytes.isEmpty else { break }
            received += bytes.count
        }
        XCTAssertEqual(received, LineKeeper.floodSize)
        XCTAssertTrue(eventually { self.held().output == self.held().scanned && self.held().output < 16 << 20 }, "\(held())")
        stalled = nil
        XCTAssertTrue(eventually { let now = self.held(); return now.output == 0 && now.scanned == 0 },
                      "everything queued went with the connection: \(held())")
    }
}
