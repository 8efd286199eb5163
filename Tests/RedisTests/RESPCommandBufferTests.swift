import Redis
import XCTest

final class RESPCommandBufferTests: XCTestCase {
    func testCommandsAreArraysOfBulkStrings() {
        let buffer = RESPCommandBuffer()
        buffer.append("SET", "key", "value")
        XCTAssertEqual(text(buffer), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
        buffer.removeAll()
        buffer.append("INCRBY", "n", -42)
        buffer.append("EXPIRE", "n", 0)
        XCTAssertEqual(text(buffer), "*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$3\r\n-42\r\n*3\r\n$6\r\nEXPIRE\r\n$1\r\nn\r\n$1\r\n0\r\n")
    }

    func testArgumentsOfEveryKind() throws {
        let buffer = RESPCommandBuffer()
        let binary: [UInt8] = [0, 13, 10, 255]
        let slice = binary[1...2]
        let substring = "abcdef".dropFirst(2)
        let unicode = "été ✓"
        binary.withUnsafeBytes { raw in
            buffer.append("X" as StaticString, unicode, substring, binary, slice, raw, Int.min, Int64.max, "")
        }
        let expected: [[UInt8]] = [
            Array("X".utf8), Array(unicode.utf8), Array("cdef".utf8), binary, [13, 10], binary,
            Array("-9223372036854775808".utf8), Array("9223372036854775807".utf8), [],
        ]
        var reader = RESPReader()
        let (value, consumed) = try buffer.bytes.withMemoryRebound { try reader.read($0) }
        XCTAssertEqual(consumed, buffer.count)
        XCTAssertEqual(value, .array(expected.map { .bulkString($0) }))
    }

    func testACollectionAfterFixedArguments() throws {
        let buffer = RESPCommandBuffer()
        buffer.append("SADD", "room:a:nodes", contentsOf: ["n1", "n2", "n3"])
        buffer.append("DEL", contentsOf: [String]())
        XCTAssertEqual(text(buffer), "*5\r\n$4\r\nSADD\r\n$12\r\nroom:a:nodes\r\n$2\r\nn1\r\n$2\r\nn2\r\n$2\r\nn3\r\n*1\r\n$3\r\nDEL\r\n")
    }

    func testTenThousandCommandsGrowTheBufferAndParseBackInOrder() throws {
        let buffer = RESPCommandBuffer(capacity: 64)
        for index in 0..<10_000 { buffer.append("INCRBY", "counter:\(index % 7)", index) }
        var reader = RESPReader()
        var offset = 0
        var index = 0
        while offset < buffer.count {
            let rest = UnsafeRawBufferPointer(rebasing: buffer.bytes[offset...])
            let (value, consumed) = try reader.read(rest)
            offset += consumed
            XCTAssertEqual(value, .array([.bulkString(Array("INCRBY".utf8)), .bulkString(Array("counter:\(index % 7)".utf8)), .bulkString(Array("\(index)".utf8))]))
            index += 1
        }
        XCTAssertEqual(index, 10_000)
        // A burst's memory is given back once sent.
        XCTAssertGreaterThan(buffer.count, 256 * 1024)
        buffer.removeAll(keepingAtMost: 256 * 1024)
        XCTAssertTrue(buffer.isEmpty)
        buffer.append("PING")
        XCTAssertEqual(text(buffer), "*1\r\n$4\r\nPING\r\n")
    }

    private func text(_ buffer: RESPCommandBuffer) -> String {
        String(decoding: buffer.bytes, as: UTF8.self)
    }
}

extension UnsafeRawBufferPointer {
    fileprivate func withMemoryRebound<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(self)
    }
}
