import WebSocketCodec
import XCTest

final class SHA1Base64Tests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
    }

    func testSHA1RFC3174Vectors() {
        XCTAssertEqual(hex(SHA1.hash(Array("abc".utf8))), "A9993E364706816ABA3E25717850C26C9CD0D89D")
        XCTAssertEqual(hex(SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "84983E441C3BD26EBAAE4AA1F95129E5E54670F1")
        XCTAssertEqual(hex(SHA1.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
                       "34AA973CD4C4DAA4F61EEB2BDBAD27316534016F")
        let repeated = Array(String(repeating: "0123456701234567012345670123456701234567012345670123456701234567", count: 10).utf8)
        XCTAssertEqual(hex(SHA1.hash(repeated)), "DEA356A2CDDD90C7A7ECEDC5EBB563934F460452")
    }

    func testSHA1PaddingBoundaries() {
        // Lengths around the one/two padding block boundary (55, 56, 63, 64) and the empty input.
        XCTAssertEqual(hex(SHA1.hash([])), "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709")
        XCTAssertEqual(hex(SHA1.hash([UInt8](repeating: 0x61, count: 55))), "C1C8BBDC22796E28C0E15163D20899B65621D65A")
        XCTAssertEqual(hex(SHA1.hash([UInt8](repeating: 0x61, count: 56))), "C2DB330F6083854C99D4B5BFB6E8F29F201BE699")
        XCTAssertEqual(hex(SHA1.hash([UInt8](repeating: 0x61, count: 64))), "0098BA824B5C16427BD7A1122A5A442A25EC644D")
        let raw = [UInt8](repeating: 0x61, count: 64)
        XCTAssertEqual(raw.withUnsafeBytes { SHA1.hash($0) }, SHA1.hash(raw))
    }

    func testBase64RFC4648Vectors() {
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                       ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8), encoded)
            XCTAssertEqual(Base64.decodedCount(encoded), plain.utf8.count, "the count without decoding, of \(encoded)")
        }
        var generator = SeededGenerator(seed: 7)
        for length in 0..<40 {
            let bytes = generator.bytes(length)
            XCTAssertEqual(Base64.decode(Base64.encode(bytes)), bytes)
        }
        XCTAssertEqual(Base64.encode([0xFB, 0xFF]), "+/8=")
    }

    func testBase64RejectsBadInput() {
        for bad in ["Zg", "Zg=", "Z===", "====", "Zm9v=", "Zm 9v", "Zm9v\n", "Zm=v", "Zh==", "Zm9=",
                    "Zm-v", "Zm_v", "Zm9vYg=\u{e9}", "=Zm9"] {
            XCTAssertNil(Base64.decode(bad), bad)
            XCTAssertNil(Base64.decodedCount(bad), "the count refuses what decoding refuses: \(bad)")
        }
    }

    func testAcceptValue() {
        XCTAssertEqual(ServerHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
