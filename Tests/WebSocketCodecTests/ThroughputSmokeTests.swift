import WebSocketCodec
import XCTest

/// Exercises the hot paths at volume and prints rates. No timing assertions: the machine is shared
/// and debug builds are slow; real numbers come from the benchmarks in release.
final class ThroughputSmokeTests: XCTestCase {
    private func seconds(_ body: () -> Void) -> Double {
        let start = ContinuousClock.now
        body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    func testSmallMaskedTextFrames() {
        let frameCount = 20_000
        let one = FrameEncoder.frame(opcode: .text, payload: Array("sixteen bytes!!!".utf8), maskKey: MaskKey(1, 2, 3, 4))
        let original = [[UInt8]](repeating: one, count: frameCount).flatMap { $0 }
        var buffer = original
        var messages = 0
        var payloadBytes = 0
        let elapsed = seconds {
            var reader = WebSocketReader()
            buffer.withUnsafeMutableBytes { input in
                var offset = 0
                while true {
                    let (event, consumed) = reader.read(UnsafeMutableRawBufferPointer(rebasing: input[offset...]), role: .server, limits: WebSocketLimits())
                    offset += consumed
                    guard case .message(.text, let payload) = event else { break }
                    messages += 1
                    payloadBytes += payload.count
                }
            }
        }
        XCTAssertEqual(messages, frameCount)
        XCTAssertEqual(payloadBytes, 16 * frameCount)
        print("smoke: 16-byte masked text frames: \(Int(Double(frameCount) / elapsed)) frames/s (debug build)")
    }

    func testLargeMaskedBinaryFramesStreamed() {
        var generator = SeededGenerator(seed: 1)
        let payload = generator.bytes(1 << 20)
        let wire = FrameEncoder.frame(opcode: .binary, payload: payload, maskKey: generator.maskKey())
        var delivered = 0
        let rounds = 4
        let elapsed = seconds {
            for _ in 0..<rounds {
                var harness = ReaderHarness()
                var start = 0
                while start < wire.count {
                    let end = min(start + 65536, wire.count)
                    harness.feed(wire[start..<end])
                    start = end
                }
                if case .message(.binary, let bytes)? = harness.events.last, bytes == payload { delivered += 1 }
            }
        }
        XCTAssertEqual(delivered, rounds)
        print("smoke: 1 MiB masked binary frames in 64 KiB reads: \(Double(rounds) / elapsed) MiB/s (debug build)")
    }
}
