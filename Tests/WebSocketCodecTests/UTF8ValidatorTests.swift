import WebSocketCodec
import XCTest

final class UTF8ValidatorTests: XCTestCase {
    private func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { UTF8Validator.isValid($0) }
    }

    /// Reference: the standard library's own decoder.
    private func referenceIsValid(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    func testValidSequences() {
        let valid: [[UInt8]] = [
            [], Array("hello, world".utf8), Array("κόσμε".utf8), Array("弹幕 danmaku 🎉".utf8),
            [0x7F], [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80],
            [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
            Array(String(repeating: "x", count: 100).utf8) + [0xC3, 0xA9] + Array(String(repeating: "y", count: 37).utf8),
        ]
        for bytes in valid { XCTAssertTrue(isValid(bytes), "\(bytes)") }
    }

    func testInvalidSequences() {
        let invalid: [[UInt8]] = [
            [0x80], [0xBF], [0x41, 0x80, 0x41],          // lone continuation
            [0xC0, 0x80], [0xC1, 0xBF],                   // overlong 2-byte
            [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],       // overlong 3-byte
            [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF],  // overlong 4-byte
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],       // surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xFE],  // above U+10FFFF
            [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x8E],    // truncated
            [0xC3, 0x41], [0xE2, 0x41, 0x82],             // bad continuation
            Array(String(repeating: "a", count: 40).utf8) + [0xED, 0xA0, 0x80] + Array("bbbbbbbbbbbbbbbbbbbbb".utf8),
        ]
        for bytes in invalid { XCTAssertFalse(isValid(bytes), "\(bytes)") }
    }

    func testTruncatedIsValidSoFarButNotAtBoundary() {
        var validator = UTF8Validator()
        XCTAssertTrue(([0xF0, 0x9F, 0x8E] as [UInt8]).withUnsafeBytes { validator.validate($0) })
        XCTAssertFalse(validator.isAtBoundary)
        XCTAssertTrue(([0x89] as [UInt8]).withUnsafeBytes { validator.validate($0) })
        XCTAssertTrue(validator.isAtBoundary)
    }

    func testEverySplitPointOfMultibyteText() {
        let text = Array("aé€😀 κόσμε — 弹幕 🎉🎉 ASCII run of more than sixteen bytes ✓".utf8)
        for split in 0...text.count {
            var validator = UTF8Validator()
            text.withUnsafeBytes { bytes in
                XCTAssertTrue(validator.validate(UnsafeRawBufferPointer(rebasing: bytes[..<split])))
                XCTAssertTrue(validator.validate(UnsafeRawBufferPointer(rebasing: bytes[split...])))
            }
            XCTAssertTrue(validator.isAtBoundary, "split \(split)")
        }
        // Three-way splits too.
        for first in stride(from: 0, through: text.count, by: 3) {
            for second in first...text.count {
                var validator = UTF8Validator()
                let ok = text.withUnsafeBytes { bytes in
                    validator.validate(UnsafeRawBufferPointer(rebasing: bytes[..<first]))
                        && validator.validate(UnsafeRawBufferPointer(rebasing: bytes[first..<second]))
                        && validator.validate(UnsafeRawBufferPointer(rebasing: bytes[second...]))
                }
                XCTAssertTrue(ok && validator.isAtBoundary)
            }
        }
    }

    func testFailsFastAtTheFirstImpossibleByte() {
        // (input, index of the byte at which it can no longer become valid)
        let cases: [([UInt8], Int)] = [
            (Array("ab-".utf8) + [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64], 3 + 12),
            ([0x61, 0x62, 0xF4, 0x90, 0x80, 0x80], 3),
            ([0x61, 0xE0, 0x80, 0x80], 2),
            ([0x61, 0xC0, 0x80], 1),
            ([0xF0, 0x90, 0x80, 0x41], 3),
            (Array(String(repeating: "z", count: 33).utf8) + [0x80], 33),
        ]
        for (bytes, failIndex) in cases {
            var validator = UTF8Validator()
            var firstFailure: Int?
            for (index, byte) in bytes.enumerated() {
                if ![byte].withUnsafeBytes({ validator.validate($0) }) {
                    firstFailure = index
                    break
                }
            }
            XCTAssertEqual(firstFailure, failIndex, "\(bytes)")
            XCTAssertFalse(validator.isValidSoFar)
            // Once failed, always failed.
            XCTAssertFalse(Array("ok".utf8).withUnsafeBytes { validator.validate($0) })
        }
    }

    func testRandomInputsAgreeWithStandardLibrary() {
        var generator = SeededGenerator(seed: 11)
        let pieces: [[UInt8]] = [[0x41], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0x80], [0xC0],
                                 [0xED, 0xA0], [0xF4, 0x90], [0xE0], Array("sixteen bytes!!!".utf8), [0xEF, 0xBF, 0xBF]]
        for round in 0..<3000 {
            var bytes: [UInt8] = []
            if round % 3 == 0 {
                bytes = generator.bytes(Int.random(in: 0...40, using: &generator))
            } else {
                for _ in 0..<Int.random(in: 0...12, using: &generator) { bytes += pieces.randomElement(using: &generator)! }
            }
            XCTAssertEqual(isValid(bytes), referenceIsValid(bytes), "\(bytes)")
            // Split anywhere: the same verdict.
            let split = Int.random(in: 0...bytes.count, using: &generator)
            var validator = UTF8Validator()
            let splitValid = bytes.withUnsafeBytes {
                validator.validate(UnsafeRawBufferPointer(rebasing: $0[..<split]))
                    && validator.validate(UnsafeRawBufferPointer(rebasing: $0[split...]))
            } && validator.isAtBoundary
            XCTAssertEqual(splitValid, referenceIsValid(bytes))
        }
    }

    func testEveryCodePointBoundary() {
        // Every scalar value encodes to valid UTF-8; every surrogate encoding is rejected.
        for value in stride(from: 0, through: 0x10FFFF, by: 7) {
            guard let scalar = Unicode.Scalar(UInt32(value)) else {
                let bytes: [UInt8] = [0xE0 | UInt8(value >> 12), 0x80 | UInt8((value >> 6) & 0x3F), 0x80 | UInt8(value & 0x3F)]
                XCTAssertFalse(isValid(bytes))
                continue
            }
            XCTAssertTrue(isValid(Array(String(Character(scalar)).utf8)))
        }
    }
}
