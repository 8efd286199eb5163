import WebSocketCodec
import XCTest

/// A compressed message that inflates far past the limit costs the limit, not what it would inflate to.
final class ZipBombTests: XCTestCase {
    /// `mebibytes` MiB of zeros as one raw DEFLATE payload: 1 MiB compressed on its own, again and
    /// again, the pieces joined by the 00 00 ff ff each sync flush ended with (which `compress` drops).
    private func bomb(mebibytes: Int) -> (payload: [UInt8], piece: Int) {
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let piece = MessageDeflater().compressed(zeros)!
        var payload: [UInt8] = []
        payload.reserveCapacity((piece.count + 4) * mebibytes)
        for index in 0..<mebibytes {
            if index > 0 { payload += [0, 0, 0xFF, 0xFF] }
            payload += piece
        }
        return (payload, piece.count + 4)
    }

    func testOneGibibyteBombIsRefusedWith1009AtTheLimit() {
        let (payload, piece) = bomb(mebibytes: 1024)
        XCTAssertLessThan(payload.count, 2 << 20, "1 GiB of zeros compresses to about 1 MiB")
        let frame = rawFrame(rsv: 4, opcode: 2, payload: payload, maskKey: MaskKey(1, 2, 3, 4))
        let inflater = MessageInflater.sharedPerLoop()
        let limits = WebSocketLimits()  // 16 MiB
        // Arriving as TCP would bring it, in 64 KiB reads.
        let events = ReaderHarness.events(frame, splits: Array(stride(from: 65536, to: frame.count, by: 65536)), limits: limits, inflater: inflater)
        XCTAssertEqual(events, [.failure(1009)])
        // It stopped once 16 MiB were passed: at most one piece past the limit's worth of the input was inflated...
        let piecesForTheLimit = limits.maxMessageSize >> 20
        XCTAssertLessThanOrEqual(inflater.compressedBytesTakenByLastMessage, (piecesForTheLimit + 1) * piece)
        XCTAssertLessThan(inflater.compressedBytesTakenByLastMessage, payload.count / 50)
        // ...into a buffer that never outgrew the limit, and is gone.
        XCTAssertLessThanOrEqual(inflater.peakOutputCapacity, limits.maxMessageSize + 1)
        XCTAssertEqual(inflater.heldOutputCapacity, 0)
        // The same inflater serves the next connection.
        let hello = MessageDeflater().compressed(Array("Hello".utf8))!
        XCTAssertEqual(ReaderHarness.events(rawFrame(rsv: 4, opcode: 1, payload: hello, maskKey: MaskKey(1, 2, 3, 4)), splits: [], inflater: inflater),
                       [.message(.text, Array("Hello".utf8))])
    }

    func testWithASmallLimitABombCostsAFewMebibytes() {
        let (payload, piece) = bomb(mebibytes: 256)
        let limits = WebSocketLimits(maxMessageSize: 1 << 20)
        let inflater = MessageInflater.sharedPerLoop()
        let frame = rawFrame(rsv: 4, opcode: 2, payload: payload, maskKey: MaskKey(9, 8, 7, 6))
        XCTAssertEqual(ReaderHarness.events(frame, splits: [], limits: limits, inflater: inflater), [.failure(1009)])
        XCTAssertLessThanOrEqual(inflater.compressedBytesTakenByLastMessage, 2 * piece)
        XCTAssertLessThanOrEqual(inflater.peakOutputCapacity, (1 << 20) + 1)
        // A compressed payload over the limit is refused before anything is inflated.
        let (larger, _) = bomb(mebibytes: 1200)
        XCTAssertGreaterThan(larger.count, 1 << 20)
        let fresh = MessageInflater.sharedPerLoop()
        XCTAssertEqual(ReaderHarness.events(rawFrame(rsv: 4, opcode: 2, payload: larger, maskKey: MaskKey(9, 8, 7, 6)), splits: [],
                                            limits: limits, inflater: fresh), [.failure(1009)])
        XCTAssertEqual(fresh.peakOutputCapacity, 0)
    }
}
