import WebSocketCodec
import XCTest
@testable import wsbench

/// `--payload ticker`: JSON quote feeds of the exact size, carrying wsbench's header, that compress like real data.
final class TickerPayloadTests: XCTestCase {
    func testMessagesHaveTheExactSizeAndAJSONShape() {
        for size in [64, 65, 71, 100, 512, 1024, 4096] {
            let pool = TickerPayload.pool(size: size)
            XCTAssertEqual(pool.count, 64)
            // Below 100 bytes no quote fits, only the header (and an id from 71).
            if size >= 100 { XCTAssertEqual(Set(pool).count, 64, "the messages differ") }
            for message in pool {
                XCTAssertEqual(message.count, size)
                XCTAssertEqual(Array(message.prefix(8)), Array(#"{"wsb":""#.utf8))
                XCTAssertEqual(message.last, UInt8(ascii: "}"))
                // Balanced and ASCII: what a JSON parser would need (no string holds a bracket or quote).
                XCTAssertEqual(message.filter { $0 == UInt8(ascii: "{") }.count, message.filter { $0 == UInt8(ascii: "}") }.count)
                XCTAssertEqual(message.filter { $0 == UInt8(ascii: "[") }.count, 1)
                XCTAssertEqual(message.filter { $0 == UInt8(ascii: "\"") }.count % 2, 0)
                XCTAssert(message.allSatisfy { $0 >= 0x20 && $0 < 0x7F || $0 == 0 }, "ASCII, header zeroed")
            }
        }
        // Large messages: fewer of them, at most 64 MiB in all; the pool is the same from run to run.
        XCTAssertEqual(TickerPayload.poolCount(size: 4 << 20), 16)
        XCTAssertEqual(TickerPayload.poolCount(size: 128 << 20), 1)
        XCTAssertEqual(TickerPayload.poolCount(size: 1024), 64)
        XCTAssertEqual(TickerPayload.pool(size: 300, count: 3), TickerPayload.pool(size: 300, count: 3))
    }

    func testTheHeaderTravelsInsideTheJSON() {
        var message = TickerPayload.pool(size: 256)[0]
        let fields = MessageHeader.Fields(sender: 7, sequence: 123_456, intendedTime: 987_654_321)
        message.withUnsafeMutableBytes { TextMessageHeader.write(fields, to: $0.baseAddress! + TickerPayload.headerOffset) }
        XCTAssertTrue(String(decoding: message, as: UTF8.self).hasPrefix(#"{"wsb":"wst100000007000000000001e240000000003ade68b1","q":[{"s":""#))
        XCTAssertEqual(message.withUnsafeBytes { TickerMessageHeader.read($0.baseAddress!, count: $0.count) }, fields)
        // Not a ticker message: nil.
        let binary = [UInt8](repeating: 0, count: 100)
        XCTAssertNil(binary.withUnsafeBytes { TickerMessageHeader.read($0.baseAddress!, count: $0.count) })
        XCTAssertNil(message.withUnsafeBytes { TickerMessageHeader.read($0.baseAddress!, count: 63) })
    }

    func testItCompressesLikeAFeedNotLikePadding() {
        // Real JSON feeds deflate 3-10 times; wsbench's zero padding would deflate a hundredfold.
        for size in [1024, 8192] {
            let pool = TickerPayload.pool(size: size)
            let deflater = MessageDeflater()
            let compressed = pool.reduce(0) { total, message in total + message.withUnsafeBytes { deflater.compress($0)!.count } }
            let ratio = Double(pool.count * size) / Double(compressed)
            XCTAssert((2.0...10.0).contains(ratio), "\(size)-byte ticker messages deflate \(ratio)×")
        }
        let zeros = [UInt8](repeating: 0, count: 1024)
        XCTAssertLessThan(zeros.withUnsafeBytes { MessageDeflater().compress($0)!.count }, 20)
    }
}

/// `wsbench --deflate-sizes`, the table the threshold of `DeflateFrameEncoder` comes from.
final class DeflateSizesTests: XCTestCase {
    func testTheTableCoversEverySizeAndKind() throws {
        XCTAssertEqual(try DeflateSizes.parse([]), 2000)
        XCTAssertEqual(try DeflateSizes.parse(["--samples", "5"]), 5)
        XCTAssertThrowsError(try DeflateSizes.parse(["--samples", "0"]))
        for size in DeflateSizes.sizes {
            XCTAssert(DeflateSizes.chatLines(size: size, count: 20).allSatisfy { $0.count == size && String(validating: $0, as: UTF8.self) != nil })
        }
        let rows = DeflateSizes.measure(samples: 3)
        XCTAssertEqual(rows.count, DeflateSizes.sizes.count * 2)
        let first = try XCTUnwrap(rows.first)
        XCTAssertEqual(first.size, 16)
        XCTAssertEqual(first.smallerShare, 0, "16 bytes of JSON never shrink")
        let large = try XCTUnwrap(rows.last)
        XCTAssertEqual(large.smallerShare, 1)
        XCTAssertGreaterThan(large.savedPerMessage, Double(large.plainFrame) / 2)
        XCTAssert(DeflateSizes.report(rows, samples: 3).contains("| ticker | 1024 | 1028 |"))
    }
}
