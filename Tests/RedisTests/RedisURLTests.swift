import Redis
import XCTest

final class RedisURLTests: XCTestCase {
    func testTheFormsThatParse() throws {
        XCTAssertEqual(try RedisURL("redis://localhost"), RedisURL(host: "localhost"))
        XCTAssertEqual(try RedisURL("redis://10.0.0.5:6380"), RedisURL(host: "10.0.0.5", port: 6380))
        XCTAssertEqual(try RedisURL("redis://10.0.0.5:6380/"), RedisURL(host: "10.0.0.5", port: 6380))
        XCTAssertEqual(try RedisURL("redis://h/3"), RedisURL(host: "h", database: 3))
        XCTAssertEqual(try RedisURL("redis://:s3cret@h:1/2"), RedisURL(host: "h", port: 1, password: "s3cret", database: 2))
        XCTAssertEqual(try RedisURL("redis://alice:s3cret@h"), RedisURL(host: "h", username: "alice", password: "s3cret"))
        XCTAssertEqual(try RedisURL("REDIS://[::1]:7000/1"), RedisURL(host: "::1", port: 7000, database: 1))
        XCTAssertEqual(try RedisURL("redis://[::1]"), RedisURL(host: "::1"))
        // Percent escapes in userinfo; an unescaped '@' in the password still works (the last '@' ends it).
        XCTAssertEqual(try RedisURL("redis://a%40b:p%3Aw%2F@h").password, "p:w/")
        XCTAssertEqual(try RedisURL("redis://a%40b:p%3Aw%2F@h").username, "a@b")
        XCTAssertEqual(try RedisURL("redis://u:p@ss@h").password, "p@ss")
        let tls = try RedisURL("rediss://u:pw@cache.example:6380/4")
        XCTAssertTrue(tls.usesTLS)
        XCTAssertEqual(tls.host, "cache.example")
    }

    func testBadURLsSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("localhost:6379", "expected redis://HOST"),
            ("http://h", "must be redis:// or rediss://, not http://"),
            ("redis://", "the host is missing"),
            ("redis://:6379", "the host is missing"),
            ("redis://h:0", "port must be a number from 1 to 65535"),
            ("redis://h:65536", "port must be a number from 1 to 65535"),
            ("redis://h:x", "port must be a number"),
            ("redis://h:", "port must be a number"),
            ("redis://h/x", "database must be a number"),
            ("redis://h/1/2", "database must be a number"),
            ("redis://h/-1", "database must be a number"),
            ("redis://h?db=1", "query parameters"),
            ("redis://h#x", "fragment"),
            ("redis://secret@h", "USER:PASSWORD or :PASSWORD"),
            ("redis://u:@h", "password is empty"),
            ("redis://u:%zz@h", "bad percent escape"),
            ("redis://::1:6379", "IPv6 host goes in brackets"),
            ("redis://[::1", "closing ]"),
            ("redis://[::1]x", "expected :PORT"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try RedisURL(text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
                XCTAssertTrue("\(error)".hasPrefix("Redis: bad URL: "), "\(text): \(error)")
            }
        }
    }

    func testThePasswordIsNeverShown() throws {
        let url = try RedisURL("redis://alice:hunter2@h:7/1")
        XCTAssertEqual("\(url)", "redis://alice:***@h:7/1")
        XCTAssertEqual("\(try RedisURL("redis://:hunter2@h"))", "redis://:***@h:6379")
        XCTAssertThrowsError(try RedisURL("redis://alice:hunter2@h:99999")) { error in
            XCTAssertFalse("\(error)".contains("hunter2"))
        }
    }

    func testTLSIsParsedThenRefused() {
        XCTAssertThrowsError(try RedisConfiguration(url: "rediss://u:pw@h:6380")) { error in
            XCTAssertTrue("\(error)".contains("TLS to Redis is not supported yet"), "\(error)")
            XCTAssertFalse("\(error)".contains("pw@"), "\(error)")
        }
        XCTAssertNoThrow(try RedisConfiguration(url: "redis://h"))
    }
}
