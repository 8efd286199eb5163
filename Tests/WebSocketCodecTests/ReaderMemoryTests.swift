@testable import WebSocketCodec
import XCTest

/// White-box checks of what the reader holds in memory (needs a testable build, as `swift test` makes).
final class ReaderMemoryTests: XCTestCase {
    func testReaderIsSmall() {
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketReader>.size, 16)
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketReader>.stride, 16)
    }

    func testHugeClaimedLengthAllocatesNothing() {
        var header: [UInt8] = [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 0xAA]
        var reader = WebSocketReader()
        let (event, consumed) = header.withUnsafeMutableBytes { reader.read($0, role: .server, limits: WebSocketLimits()) }
        guard case .failure(.messageTooBig, _) = event else { return XCTFail("\(event)") }
        XCTAssertEqual(consumed, 0)
        guard case .failed = reader.state else { return XCTFail("a failed reader holds no partial message") }
    }

    func testClaimedLengthIsNotPreallocated() {
        // A frame claiming the whole 16 MiB limit that has sent 100 KB holds about what it sent.
        var bytes: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0x01, 0, 0, 0, 1, 2, 3, 4] + [UInt8](repeating: 0x55, count: 100_000)
        var reader = WebSocketReader()
        let (event, consumed) = bytes.withUnsafeMutableBytes { reader.read($0, role: .server, limits: WebSocketLimits()) }
        guard case .needMore = event else { return XCTFail("\(event)") }
        XCTAssertEqual(consumed, bytes.count)
        guard case .partial(let message) = reader.state else { return XCTFail("expected a partial message") }
        XCTAssertEqual(message.count, 100_000)
        XCTAssertLessThanOrEqual(message.capacity, 200_000)
        XCTAssertEqual(message.frameRemaining, (16 << 20) - 100_000)
    }

    func testGrowthNeverExceedsTheLimitOrTheKnownSize() {
        // Fragments of a 5000-byte message under a 5000-byte limit: the buffer stops at the limit.
        let limits = WebSocketLimits(maxMessageSize: 5000, streamingThreshold: 64)
        var wire: [UInt8] = []
        for index in 0..<50 {
            wire += FrameEncoder.frame(opcode: index == 0 ? .binary : .continuation, fin: index == 49,
                                       payload: [UInt8](repeating: UInt8(index), count: 100), maskKey: MaskKey(1, 2, 3, 4))
        }
        var reader = WebSocketReader()
        var capacities: [Int] = []
        var delivered: [UInt8] = []
        wire.withUnsafeMutableBytes { buffer in
            var offset = 0
            // Feed one frame at a time so the partial message is observable between frames.
            let frameSize = 6 + 100
            while offset < buffer.count {
                let (event, consumed) = reader.read(UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + frameSize)]), role: .server, limits: limits)
                offset += consumed
                if case .partial(let message) = reader.state { capacities.append(message.capacity) }
                if case .message(_, let bytes) = event { delivered = Array(bytes) }
            }
        }
        XCTAssertEqual(delivered.count, 5000)
        XCTAssertEqual(delivered[4999], 49)
        XCTAssertLessThanOrEqual(capacities.max() ?? 0, 5000)
        // A large frame of known final size never reserves past it.
        var large = FrameEncoder.frame(opcode: .binary, payload: [UInt8](repeating: 7, count: 70_000), maskKey: MaskKey(1, 2, 3, 4))
        var streaming = WebSocketReader()
        large.withUnsafeMutableBytes { buffer in
            _ = streaming.read(UnsafeMutableRawBufferPointer(rebasing: buffer[..<50_000]), role: .server, limits: WebSocketLimits())
            _ = streaming.read(UnsafeMutableRawBufferPointer(rebasing: buffer[50_000..<60_000]), role: .server, limits: WebSocketLimits())
        }
        guard case .partial(let message) = streaming.state else { return XCTFail() }
        XCTAssertLessThanOrEqual(message.capacity, 70_000)
    }
}
