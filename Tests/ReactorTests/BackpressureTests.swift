import Glibc
import Reactor
import Synchronization
import XCTest

/// Streams `total` bytes of a known pattern to each connection, producing
/// more only while less than `highWater` is queued, and resuming on drain.
final class Streamer: ConnectionHandler, Sendable {
    struct Context: ConnectionContext { var sent = 0 }
    static func patternByte(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: index &* 31 &+ index >> 13) }

    let total: Int
    let highWater: Int
    let chunk: SharedBuffer
    let maxQueued = Atomic<Int>(0)
    let violations = Atomic<Int>(0)
    let peerRead: Counter

    init(total: Int, highWater: Int, peerRead: Counter) {
        self.total = total
        self.highWater = highWater
        self.peerRead = peerRead
        // Writes of shared chunks: the queue must reference them, never copy.
        let chunkSize = 64 * 1024
        chunk = SharedBuffer(Array(0..<chunkSize).map(Streamer.patternByte))
        precondition(total % chunkSize == 0 && (chunkSize * 31) % 256 == 0 && chunkSize % (1 << 13) == 0)
    }

    func connectionOpened(_ connection: Connection<Streamer>) { produce(connection) }

    func connectionDrained(_ connection: Connection<Streamer>) { produce(connection) }

    private func produce(_ connection: Connection<Streamer>) {
        while connection.context.sent < total && connection.queuedBytes < highWater {
            connection.write(chunk, range: 0..<chunk.count)
            connection.context.sent += chunk.count
            let queued = connection.queuedBytes
            maxQueued.withUnsafeMaxUpdate(queued)
            // What is queued was written but not yet taken by the kernel, so it is unread by the peer.
            if queued > connection.context.sent - peerRead.value.load(ordering: .relaxed) { violations.add(1, ordering: .relaxed) }
        }
    }

    func connection(_ connection: Connection<Streamer>, received bytes: UnsafeMutableRawBufferPointer) -> Int { bytes.count }
    func connectionClosed(_ connection: Connection<Streamer>, reason: CloseReason) {}
}

/// An atomic counter that can be shared by reference.
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

extension Atomic<Int> {
    func withUnsafeMaxUpdate(_ value: Int) {
        var current = load(ordering: .relaxed)
        while value > current {
            let (exchanged, original) = compareExchange(expected: current, desired: value, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

/// `bytes` equals the repeating `pattern` from stream offset `offset` (memcmp, one or two segments).
func matchesPattern(_ bytes: [UInt8], at offset: Int, pattern: UnsafeRawBufferPointer) -> Bool {
    var checked = 0
    return bytes.withUnsafeBytes { received in
        while checked < received.count {
            let start = (offset + checked) % pattern.count
            let length = min(pattern.count - start, received.count - checked)
            if memcmp(received.baseAddress! + checked, pattern.baseAddress! + start, length) != 0 { return false }
            checked += length
        }
        return true
    }
}

final class BackpressureTests: XCTestCase {
    func testSixtyFourMiBToASlowReaderArrivesIntactWithBoundedQueue() throws {
        let total = 64 << 20
        let highWater = 256 << 10
        let peerRead = Counter()
        let streamer = Streamer(total: total, highWater: highWater, peerRead: peerRead)
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in streamer }
        let client = try BlockingClient(port: server.port, receiveBuffer: 64 << 10)
        var received = 0
        var corrupt = -1
        var reads = 0
        while received < total {
            let bytes = client.receive(upTo: 32 << 10)
            guard !bytes.isEmpty else { break }
            if !matchesPattern(bytes, at: received, pattern: streamer.chunk.bytes) { corrupt = received }
            if corrupt >= 0 { break }
            received += bytes.count
            peerRead.value.store(received, ordering: .relaxed)
            reads += 1
            if reads % 64 == 0 { usleep(1_000) }  // a slow reader
        }
        XCTAssertEqual(corrupt, -1, "byte \(corrupt) out of order or corrupt")
        XCTAssertEqual(received, total)
        XCTAssertEqual(streamer.violations.load(ordering: .relaxed), 0, "queued more than the peer had not read")
        XCTAssertLessThanOrEqual(streamer.maxQueued.load(ordering: .relaxed), highWater + streamer.chunk.count)
        XCTAssertGreaterThan(streamer.maxQueued.load(ordering: .relaxed), 0, "the reader was never slow enough to queue anything")
    }
}
