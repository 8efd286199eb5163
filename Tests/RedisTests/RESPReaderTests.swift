import Redis
import XCTest

final class RESPReaderTests: XCTestCase {
    /// Every type, as Redis writes it.
    static let samples: [(bytes: String, value: RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("+\r\n", .simpleString("")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":0\r\n", .integer(0)),
        (":-42\r\n", .integer(-42)),
        (":+7\r\n", .integer(7)),
        (":9223372036854775807\r\n", .integer(.max)),
        (":-9223372036854775808\r\n", .integer(.min)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$4\r\na\r\nb\r\n", .bulkString(Array("a\r\nb".utf8))),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        ("*0\r\n", .array([])),
        ("*2\r\n:1\r\n$1\r\nx\r\n", .array([.integer(1), .bulkString([120])])),
        ("*2\r\n*1\r\n+a\r\n*0\r\n", .array([.array([.simpleString("a")]), .array([])])),
        ("%2\r\n+a\r\n:1\r\n+b\r\n_\r\n", .map([RESPPair(.simpleString("a"), .integer(1)), RESPPair(.simpleString("b"), .null)])),
        ("%0\r\n", .map([])),
        ("~2\r\n:1\r\n:2\r\n", .set([.integer(1), .integer(2)])),
        (">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhey\r\n", .push([.bulkString(Array("message".utf8)), .bulkString(Array("ch".utf8)), .bulkString(Array("hey".utf8))])),
        (",3.141\r\n", .double(3.141)),
        (",-1.5e3\r\n", .double(-1500)),
        (",inf\r\n", .double(.infinity)),
        (",-inf\r\n", .double(-.infinity)),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("(-12\r\n", .bigNumber("-12")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(format: "txt", text: Array("Some string".utf8))),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        // What Redis 7 answers to DEBUG PROTOCOL push: a push, then the real reply.
        (">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n", .push([.bulkString(Array("server-cpu-usage".utf8)), .integer(42)])),
    ]

    /// The samples back to back: one stream of every type.
    static var stream: [UInt8] { samples.flatMap { Array($0.bytes.utf8) } }

    func testEveryTypeAlone() throws {
        for sample in Self.samples {
            let bytes = Array(sample.bytes.utf8)
            var reader = RESPReader()
            let (value, consumed) = try read(&reader, bytes)
            XCTAssertEqual(value, sample.value, "parsing \(sample.bytes.debugDescription)")
            XCTAssertEqual(consumed, bytes.count, "consumed of \(sample.bytes.debugDescription)")
            XCTAssertTrue(reader.isIdle)
        }
        var reader = RESPReader()
        guard case .double(let nan)? = try read(&reader, Array(",nan\r\n".utf8)).value else { return XCTFail("nan") }
        XCTAssertTrue(nan.isNaN)
    }

    func testEverySplitPointOfTheWholeStream() throws {
        let stream = Self.stream
        let expected = Self.samples.map(\.value)
        for split in 0...stream.count {
            var reader = RESPReader()
            let values = try readAll(&reader, chunks: [Array(stream[..<split]), Array(stream[split...])])
            XCTAssertEqual(values, expected, "split at \(split)")
            XCTAssertTrue(reader.isIdle, "split at \(split)")
        }
    }

    func testByteAtATimeAndEveryPairOfSplits() throws {
        let stream = Self.stream
        let expected = Self.samples.map(\.value)
        var reader = RESPReader()
        XCTAssertEqual(try readAll(&reader, chunks: stream.map { [$0] }), expected)
        // Three pieces: every pair of split points inside a nested reply.
        let nested = Array("*3\r\n%1\r\n$3\r\nkey\r\n~2\r\n:1\r\n#t\r\n=8\r\ntxt:abcd\r\n|1\r\n+a\r\n+b\r\n,2.5\r\n".utf8)
        let value = RESPValue.array([
            .map([RESPPair(.bulkString(Array("key".utf8)), .set([.integer(1), .boolean(true)]))]),
            .verbatimString(format: "txt", text: Array("abcd".utf8)),
            .double(2.5),
        ])
        for first in 0...nested.count {
            for second in first...nested.count {
                var reader = RESPReader()
                let chunks = [Array(nested[..<first]), Array(nested[first..<second]), Array(nested[second...])]
                XCTAssertEqual(try readAll(&reader, chunks: chunks), [value], "splits at \(first), \(second)")
            }
        }
    }

    func testRandomValuesRoundTripThroughRandomChunks() throws {
        var generator = SeededGenerator(seed: 17)
        for round in 0..<300 {
            let values = (0..<Int.random(in: 1...6, using: &generator)).map { _ in Self.randomValue(depth: 0, using: &generator) }
            let bytes = values.flatMap(\.encoded)
            var chunks: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                let length = Int.random(in: 1...max(1, bytes.count / 3), using: &generator)
                chunks.append(Array(bytes[offset..<min(bytes.count, offset + length)]))
                offset += length
            }
            var reader = RESPReader()
            XCTAssertEqual(try readAll(&reader, chunks: chunks), values, "round \(round)")
        }
    }

    func testLargeBulkStringArrivesInPiecesAndIsCopiedOnce() throws {
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let bytes = Array("$\(payload.count)\r\n".utf8) + payload + [13, 10] + Array(":1\r\n".utf8)
        var reader = RESPReader()
        let chunks = stride(from: 0, to: bytes.count, by: 7001).map { Array(bytes[$0..<min(bytes.count, $0 + 7001)]) }
        XCTAssertEqual(try readAll(&reader, chunks: chunks), [.bulkString(payload), .integer(1)])
    }

    func testOneReplyPerCallAndTheRestLeftToTheCaller() throws {
        var reader = RESPReader()
        let bytes = Array(":1\r\n:2\r\n$1\r\n".utf8)
        let first = try read(&reader, bytes)
        XCTAssertEqual(first.value, .integer(1))
        XCTAssertEqual(first.consumed, 4)
        let second = try read(&reader, Array(bytes[4...]))
        XCTAssertEqual(second.value, .integer(2))
        XCTAssertEqual(second.consumed, 4)
        // An incomplete reply: everything is taken and kept.
        let third = try read(&reader, Array(bytes[8...]))
        XCTAssertNil(third.value)
        XCTAssertEqual(third.consumed, 4)
        XCTAssertFalse(reader.isIdle)
        XCTAssertEqual(try read(&reader, Array("x\r\n".utf8)).value, .bulkString([120]))
    }

    func testAttributesOfATopLevelReplyAreKeptAsideAndNestedOnesSkipped() throws {
        // DEBUG PROTOCOL attrib, as Redis 7 sends it.
        let bytes = Array("|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n".utf8)
        for split in 0...bytes.count {
            var reader = RESPReader()
            let values = try readAll(&reader, chunks: [Array(bytes[..<split]), Array(bytes[split...])])
            XCTAssertEqual(values, [.bulkString(Array("Some real reply following the attribute".utf8))], "split at \(split)")
            XCTAssertEqual(reader.attributes, [RESPPair(.bulkString(Array("key-popularity".utf8)), .array([.bulkString(Array("key:123".utf8)), .integer(90)]))])
        }
        var reader = RESPReader()
        let nested = Array("*2\r\n|1\r\n+ttl\r\n:3\r\n:1\r\n:2\r\n:3\r\n".utf8)
        XCTAssertEqual(try readAll(&reader, chunks: [nested]), [.array([.integer(1), .integer(2)]), .integer(3)])
        XCTAssertNil(reader.attributes)
    }

    // MARK: Hostile input

    func testHostileInputFailsWithAReasonAndNoAllocation() {
        var small = RESPLimits()
        small.maxBulkLength = 1000
        small.maxAggregateLength = 100
        small.maxDepth = 4
        small.maxLineLength = 64
        let cases: [(String, String)] = [
            ("$1001\r\n", "bulk length is over the limit"),
            ("$99999999999999999999999\r\n", "bulk length is over the limit"),
            ("$1" + String(repeating: "0", count: 17) + "x\r\n", "bulk length is not a count"),
            ("$9223372036854775807\r\n", "bulk length is over the limit"),
            ("$-2\r\n", "bulk length is negative"),
            ("!-1\r\n", "bulk length is negative"),
            ("*101\r\n", "aggregate length is over the limit"),
            ("%101\r\n", "aggregate length is over the limit"),
            ("%-1\r\n", "aggregate length is negative"),
            ("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n", "nested deeper than 4"),
            ("+" + String(repeating: "a", count: 100), "longer than 64 bytes"),
            ("$3\r\nabcde\r\n", "not followed by CRLF"),
            ("$3\r\nabc\n\r", "not followed by CRLF"),
            ("@x\r\n", "unknown type byte 0x40"),
            (":12a\r\n", "not digits"),
            (":\r\n", "without digits"),
            (":99999999999999999999\r\n", "out of 64-bit range"),
            ("#x\r\n", "boolean"),
            (",abc\r\n", "double"),
            ("(12x\r\n", "big number"),
            ("_x\r\n", "null with content"),
            ("$?\r\n", "streamed"),
            ("*?\r\n", "streamed"),
            ("\r\n", "an empty line"),
            ("+OK\n", "does not end in CRLF"),
            ("=3\r\ntxt\r\n", "shorter than its format"),
            ("=5\r\ntxt-x\r\n", "without its format"),
            ("$ 3\r\nabc\r\n", "length is not a count"),
        ]
        for (input, expected) in cases {
            var reader = RESPReader(limits: small)
            XCTAssertThrowsError(try readAll(&reader, chunks: [Array(input.utf8)]), input.debugDescription) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(input.debugDescription): \(error)")
            }
            // A failed reader stays failed.
            XCTAssertThrowsError(try readAll(&reader, chunks: [Array("+OK\r\n".utf8)]))
        }
    }

    func testDeclaredLengthsAtTheLimitWaitForTheirBytes() throws {
        var limits = RESPLimits()
        limits.maxBulkLength = 1 << 30
        var reader = RESPReader(limits: limits)
        // A gigabyte declared: nothing is allocated for it until bytes come.
        XCTAssertNil(try read(&reader, Array("$1073741824\r\nab".utf8)).value)
        XCTAssertFalse(reader.isIdle)
        var aggregate = RESPReader()
        XCTAssertNil(try read(&aggregate, Array("*16777216\r\n:1\r\n".utf8)).value)
    }

    // MARK: Helpers

    private func read(_ reader: inout RESPReader, _ bytes: [UInt8]) throws -> (value: RESPValue?, consumed: Int) {
        try bytes.withUnsafeBytes { try reader.read($0) }
    }

    /// Feeds `chunks` in turn, each read until consumed; the replies completed.
    private func readAll(_ reader: inout RESPReader, chunks: [[UInt8]]) throws -> [RESPValue] {
        var values: [RESPValue] = []
        for chunk in chunks {
            var offset = 0
            repeat {
                let (value, consumed) = try read(&reader, Array(chunk[offset...]))
                offset += consumed
                if let value { values.append(value) } else { XCTAssertEqual(offset, chunk.count, "nil before the end of the input") }
            } while offset < chunk.count
        }
        return values
    }

    static func randomValue(depth: Int, using generator: inout SeededGenerator) -> RESPValue {
        let leafKinds = 10
        let kind = Int.random(in: 0..<(depth < 3 ? leafKinds + 5 : leafKinds), using: &generator)
        func bytes() -> [UInt8] { (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        func text() -> String { String((0..<Int.random(in: 0...12, using: &generator)).map { _ in Character(UnicodeScalar(UInt8.random(in: 32...126, using: &generator))) }) }
        func children() -> [RESPValue] { (0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) } }
        switch kind {
        case 0: return .simpleString(text())
        case 1: return .error("ERR " + text())
        case 2: return .integer(Int64.random(in: .min ... .max, using: &generator))
        case 3: return .bulkString(bytes())
        case 4: return .null
        case 5: return .double(Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 64)
        case 6: return .boolean(Bool.random(using: &generator))
        case 7: return .bigNumber(String(UInt64.random(in: 0 ... .max, using: &generator)) + String(UInt64.random(in: 0 ... .max, using: &generator)))
        case 8: return .verbatimString(format: "txt", text: bytes())
        case 9: return .bulkString(Array("\r\n".utf8) + bytes())
        case 10: return .array(children())
        case 11: return .set(children())
        case 12: return .push([.bulkString(Array("message".utf8))] + children())
        default:
            let keys = children()
            return .map(keys.map { RESPPair($0, randomValue(depth: depth + 1, using: &generator)) })
        }
    }
}

/// A reproducible generator (splitmix64), so a failing round names its case.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
