import WebSocketCodec
import XCTest

final class MaskingTests: XCTestCase {
    private func naive(_ bytes: [UInt8], key: MaskKey, phase: Int) -> [UInt8] {
        let (k0, k1, k2, k3) = key.bytes
        let k = [k0, k1, k2, k3]
        return bytes.enumerated().map { $0.element ^ k[($0.offset + phase) & 3] }
    }

    func testEveryLengthAndPhaseMatchesByteLoop() {
        var generator = SeededGenerator(seed: 1)
        let key = MaskKey(0x37, 0xFA, 0x21, 0x3D)
        for length in 0...64 {
            for phase in 0...3 {
                // Also at every start offset within a word, so loads are unaligned.
                for start in 0..<8 {
                    let original = generator.bytes(start + length)
                    var buffer = original
                    let next = buffer.withUnsafeMutableBytes {
                        applyMask(UnsafeMutableRawBufferPointer(rebasing: $0[start...]), key: key, phase: phase)
                    }
                    XCTAssertEqual(next, (phase + length) & 3)
                    XCTAssertEqual(Array(buffer[..<start]), Array(original[..<start]))
                    XCTAssertEqual(Array(buffer[start...]), naive(Array(original[start...]), key: key, phase: phase),
                                   "length \(length) phase \(phase) start \(start)")
                }
            }
        }
    }

    func testCopyingVariantAndTupleKey() {
        var generator = SeededGenerator(seed: 2)
        let key = generator.maskKey()
        for length in [0, 1, 7, 8, 31, 32, 33, 100] {
            for phase in 0...3 {
                let source = generator.bytes(length)
                var destination = [UInt8](repeating: 0, count: length)
                source.withUnsafeBytes { src in
                    destination.withUnsafeMutableBytes { dst in
                        guard length > 0 else { return }
                        _ = applyMask(from: src.baseAddress!, to: dst.baseAddress!, count: length, key: key, phase: phase)
                    }
                }
                XCTAssertEqual(destination, naive(source, key: key, phase: phase))
                var viaTuple = source
                viaTuple.withUnsafeMutableBytes { _ = applyMask($0, key: key.bytes, phase: phase) }
                XCTAssertEqual(viaTuple, destination)
            }
        }
    }

    func testOneMebibyteRandomBufferAndPieces() {
        var generator = SeededGenerator(seed: 3)
        let key = generator.maskKey()
        let original = generator.bytes(1 << 20)
        var whole = original
        whole.withUnsafeMutableBytes { _ = applyMask($0, key: key, phase: 0) }
        XCTAssertEqual(whole, naive(original, key: key, phase: 0))
        // The same payload masked in odd-sized pieces, carrying the phase, gives the same bytes.
        var pieces = original
        var phase = 0
        var offset = 0
        pieces.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                let length = min(Int.random(in: 1...5000, using: &generator), buffer.count - offset)
                phase = applyMask(UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + length]), key: key, phase: phase)
                offset += length
            }
        }
        XCTAssertEqual(pieces, whole)
        // Masking twice restores the input.
        whole.withUnsafeMutableBytes { _ = applyMask($0, key: key, phase: 0) }
        XCTAssertEqual(whole, original)
    }
}
