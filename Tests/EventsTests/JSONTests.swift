import Events
import EventsTestSupport
import XCTest

final class JSONTests: XCTestCase {
    func testRoundTrips() throws {
        let samples: [JSON] = [
            .null, true, false, 0, -1, 1.5, 1e300, "", "héllo \"quoted\" \\ \n\t\u{1}\u{2028}", [], [1, [2, [3]]], [:],
            ["a": 1, "b": ["c": .null]], .binary([]), .binary([0, 1, 2, 250, 255]), "😀",
        ]
        for sample in samples {
            let text = sample.serialized()
            XCTAssertFalse(text.contains(0x0A), "a raw newline in \(sample)")
            XCTAssertEqual(try JSON(parsing: text), sample, String(decoding: text, as: UTF8.self))
        }
    }

    func testParsesWhatJavaScriptWrites() throws {
        let parsed = try JSON(parsing: #" {"a" : [1, 2.5e2, -0.5, true, null, "\u00e9\ud83d\ude00\/"], "b": {"$binary": "AAH/"}} "#)
        XCTAssertEqual(parsed["a"], [1, 250, -0.5, true, .null, "é😀/"])
        XCTAssertEqual(parsed["b"], .binary([0, 1, 255]))
    }

    func testRefusesWhatIsNotJSON() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\u{1}\"", "tru", "[1] 2", "{\"a\":1,}", "nul"] {
            XCTAssertThrowsError(try JSON(parsing: bad), bad)
        }
        XCTAssertThrowsError(try JSON(parsing: [0xC0, 0xAF]), "not UTF-8")
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertThrowsError(try JSON(parsing: deep), "nested past the bound")
        XCTAssertNoThrow(try JSON(parsing: String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
    }
}
