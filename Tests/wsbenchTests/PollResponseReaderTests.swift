import XCTest
@testable import wsbench

/// The poll-response reader, fed as the reactor feeds it, at every split point.
final class PollResponseReaderTests: XCTestCase {
    enum Seen: Equatable {
        case message(UInt64, String, binary: Bool, escaped: Bool)
        case gap
        case complete(UInt64)
        case failure(String)
    }

    private func feed(_ pieces: [[UInt8]], reader: inout PollResponseReader) -> [Seen] {
        var seen: [Seen] = []
        var pending: [UInt8] = []
        for piece in pieces {
            pending += piece
            while !pending.isEmpty {
                let (consumed, outcome) = pending.withUnsafeBytes { bytes in
                    reader.read(bytes) { event in
                        switch event {
                        case .message(let sequence, let data, let binary, let escaped):
                            seen.append(.message(sequence, String(decoding: data, as: UTF8.self), binary: binary, escaped: escaped))
                        case .gap:
                            seen.append(.gap)
                        }
                    }
                }
                XCTAssertLessThanOrEqual(consumed, pending.count)
                pending.removeFirst(consumed)
                switch outcome {
                case .needMore:
                    break
                case .complete(let last):
                    seen.append(.complete(last))
                    continue  // a next response may follow in these tests
                case .failure(let reason):
                    seen.append(.failure(reason))
                    return seen
                }
                break
            }
        }
        return seen
    }

    private func feed(_ pieces: [[UInt8]]) -> [Seen] {
        var reader = PollResponseReader()
        return feed(pieces, reader: &reader)
    }

    private func response(_ body: String, status: String = "200 OK", extraHeaders: String = "") -> [UInt8] {
        Array(("HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nCache-Control: no-cache\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\(extraHeaders)\r\n" + body).utf8)
    }

    /// echo-server's answers: the first poll's (just `last`), one with messages, one after a wait with none.
    private var echoServerResponses: [UInt8] {
        response(#"{"room":"r","messages":[],"last":4}"#)
            + response(#"{"room":"r","messages":[{"seq":5,"data":"wst1abc"},{"seq":6,"event":"tick","data":"x\"y"},{"seq":7,"binary":true,"data":"AAEC"}],"last":7}"#)
            + response(#"{"room":"r","messages":[],"last":7}"#)
    }

    private let expected: [Seen] = [
        .complete(4),
        .message(5, "wst1abc", binary: false, escaped: false), .message(6, #"x\"y"#, binary: false, escaped: true),
        .message(7, "AAEC", binary: true, escaped: false), .complete(7),
        .complete(7),
    ]

    func testWholeResponses() {
        var reader = PollResponseReader()
        XCTAssertEqual(feed([echoServerResponses], reader: &reader), expected)
        XCTAssertEqual(reader.since, 7)
    }

    func testEverySplitPoint() {
        let bytes = echoServerResponses
        for split in 0...bytes.count {
            XCTAssertEqual(feed([Array(bytes[..<split]), Array(bytes[split...])]), expected, "split at \(split)")
        }
    }

    func testByteAtATime() {
        XCTAssertEqual(feed(echoServerResponses.map { [$0] }), expected)
    }

    func testWhitespaceAnyMemberOrderAndAGap() {
        let body = " { \"last\" : 12 , \"gap\" : { \"oldestAvailable\" : 9 } , \"messages\" : [ { \"data\" : \"a\" , \"seq\" : 10 } ] , \"room\" : \"r\" } "
        XCTAssertEqual(feed([response(body)]), [.gap, .message(10, "a", binary: false, escaped: false), .complete(12)])
    }

    func testRefusals() {
        XCTAssertEqual(feed([response("nope", status: "404 Not Found")]), [.failure("poll answered with status 404")])
        XCTAssertEqual(feed([response(#"{"messages":[],"last":1}"#, extraHeaders: "Connection: close\r\n")]),
                       [.failure("the server closes the connection after each poll")])
        XCTAssertEqual(feed([Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)]),
                       [.failure("poll response without Content-Length")])
        XCTAssertEqual(feed([response(#"{"room":"r","messages":[]}"#)]), [.failure("poll response without \"last\"")])
        XCTAssertEqual(feed([response(#"{"messages":[{"seq":1}],"last":1}"#)]), [.failure("malformed message")])
        XCTAssertEqual(feed([response(#"{"messages":[],"last":1"#)]), [.failure("truncated or malformed JSON body")])
        XCTAssertEqual(feed([response(#"{"messages":[],"last":1}x"#)]), [.failure("bytes after the JSON body")])
        XCTAssertEqual(feed([response(#"["not an object"]"#)]), [.failure("the body is not a JSON object")])
        XCTAssertEqual(feed([Array("HTTP/2 200\r\n\r\n".utf8)]), [.failure("malformed status line")])
    }
}
