import XCTest
@testable import wsbench

/// The ticker's update: wsbench's header under its own magic, the key as
/// text where echo-server's `keyAt=24:8` reads it, and the key's value.
final class KeyedUpdateTests: XCTestCase {
    func testAnUpdateReadsBackWithItsKeyAsText() throws {
        var payload = [UInt8](repeating: 0xEE, count: 64)
        let fields = MessageHeader.Fields(sender: 3, sequence: 0x1_0000_0002, intendedTime: 123_456_789)
        payload.withUnsafeMutableBytes { KeyedUpdate.write(fields, key: 0xAB_CDEF, value: 41, size: 64, to: $0.baseAddress!) }
        XCTAssertEqual(Array(payload[0..<4]), Array("wsk1".utf8))
        XCTAssertEqual(String(decoding: payload[24..<32], as: UTF8.self), "00abcdef", "the key a server reads at keyAt=24:8")
        XCTAssertEqual(KeyedUpdate.keyAtQuery, "keyAt=24:8")
        XCTAssert(payload[40...].allSatisfy { $0 == 0 }, "zero padding to the size")
        let read = try XCTUnwrap(payload.withUnsafeBytes { KeyedUpdate.read($0.baseAddress!, count: $0.count) })
        XCTAssertEqual(read, fields)
        let keyAndValue = try XCTUnwrap(payload.withUnsafeBytes { KeyedUpdate.keyAndValue($0.baseAddress!) })
        XCTAssertEqual(keyAndValue.key, 0xAB_CDEF)
        XCTAssertEqual(keyAndValue.value, 41)
    }

    func testOtherMessagesAreNotUpdates() {
        var broadcast = [UInt8](repeating: 0, count: 64)
        let fields = MessageHeader.Fields(sender: 0, sequence: 1, intendedTime: 2)
        broadcast.withUnsafeMutableBytes { MessageHeader.write(fields, to: $0.baseAddress!) }
        XCTAssertNil(broadcast.withUnsafeBytes { KeyedUpdate.read($0.baseAddress!, count: $0.count) }, "a broadcast message")
        var update = [UInt8](repeating: 0, count: 40)
        update.withUnsafeMutableBytes { KeyedUpdate.write(fields, key: 1, value: 1, size: 40, to: $0.baseAddress!) }
        XCTAssertNil(update.withUnsafeBytes { KeyedUpdate.read($0.baseAddress!, count: 39) }, "too short")
        XCTAssertNil(MessageHeader.read(update, count: 40), "nor is an update a broadcast message")
        update[24] = UInt8(ascii: "G")
        XCTAssertNil(update.withUnsafeBytes { KeyedUpdate.keyAndValue($0.baseAddress!) }, "a key that is not lowercase hex")
    }
}

private extension MessageHeader {
    static func read(_ bytes: [UInt8], count: Int) -> Fields? {
        bytes.withUnsafeBytes { read($0.baseAddress!, count: count) }
    }
}
