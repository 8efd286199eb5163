import XCTest
@testable import wsbench

/// The SSE reader, fed as the reactor feeds it: what it leaves unconsumed
/// comes back in front of the next input. Every split point of every stream
/// must give the same events.
final class EventStreamReaderTests: XCTestCase {
    enum Seen: Equatable {
        case message(String)
        case named(String, EventStreamReader.EventKind, continuation: Bool)
        case ended
        case failure(String)
    }

    /// Feeds `pieces` one after another; returns what was seen and the reader.
    private func feed(_ pieces: [[UInt8]]) -> ([Seen], EventStreamReader) {
        var reader = EventStreamReader()
        var seen: [Seen] = []
        var pending: [UInt8] = []
        for piece in pieces {
            pending += piece
            let (consumed, outcome) = pending.withUnsafeBytes { bytes in
                reader.read(bytes) { event in
                    switch event {
                    case .data(let value, let kind, let continuation):
                        let text = String(decoding: value, as: UTF8.self)
                        seen.append(kind == .message && !continuation ? .message(text) : .named(text, kind, continuation: continuation))
                    }
                }
            }
            XCTAssertLessThanOrEqual(consumed, pending.count)
            pending.removeFirst(consumed)
            switch outcome {
            case .needMore: continue
            case .ended: seen.append(.ended)
            case .failure(let reason): seen.append(.failure(reason))
            }
            break
        }
        return (seen, reader)
    }

    private func chunk(_ text: String) -> [UInt8] {
        Array(String(text.utf8.count, radix: 16).utf8) + Array("\r\n".utf8) + Array(text.utf8) + Array("\r\n".utf8)
    }

    /// What echo-server sends: `retry:`, then one chunk per event, a keep-alive comment, and the stream's end.
    private var echoServerStream: [UInt8] {
        chunk("retry: 3000\n\n") + chunk("id: 1\ndata: hello\n\n") + chunk(": keep-alive\n\n")
            + chunk("id: 2\ndata: world\n\n") + chunk("id: 3\nevent: binary\ndata: AAEC\n\n")
            + chunk("event: gap\ndata: {\"oldestAvailable\":null,\"last\":3}\n\n") + Array("0\r\n\r\n".utf8)
    }

    private let expected: [Seen] = [
        .message("hello"), .message("world"), .named("AAEC", .binary, continuation: false),
        .named("{\"oldestAvailable\":null,\"last\":3}", .gap, continuation: false), .ended,
    ]

    func testWholeStream() {
        let (seen, reader) = feed([echoServerStream])
        XCTAssertEqual(seen, expected)
        XCTAssertEqual(reader.lastEventID, 3)
    }

    func testEverySplitPoint() {
        let stream = echoServerStream
        for split in 0...stream.count {
            let (seen, _) = feed([Array(stream[..<split]), Array(stream[split...])])
            XCTAssertEqual(seen, expected, "split at \(split)")
        }
    }

    func testByteAtATime() {
        let (seen, reader) = feed(echoServerStream.map { [$0] })
        XCTAssertEqual(seen, expected)
        XCTAssertEqual(reader.lastEventID, 3)
    }

    func testSeveralEventsInOneChunkAndCRLFLines() {
        let stream = chunk("id: 7\r\ndata: a\r\n\r\ndata:b\n\nid: 9\ndata: c\ndata: d\n\n") + Array("0\r\n\r\n".utf8)
        let (seen, reader) = feed([stream])
        XCTAssertEqual(seen, [.message("a"), .message("b"), .message("c"), .named("d", .message, continuation: true), .ended])
        XCTAssertEqual(reader.lastEventID, 9)
    }

    func testLinesAndEventsSplitAcrossChunks() {
        // Not what echo-server sends, but valid: chunk boundaries fall inside lines and fields.
        let stream = chunk("id: 1\nda") + chunk("ta: hel") + chunk("lo") + chunk("\n\n") + chunk("data: x\r") + chunk("\n\n")
            + Array("0;ext=1\r\n\r\n".utf8)
        for split in 0...stream.count {
            let (seen, _) = feed([Array(stream[..<split]), Array(stream[split...])])
            XCTAssertEqual(seen, [.message("hello"), .message("x"), .ended], "split at \(split)")
        }
    }

    func testChunkExtensionsAndUppercaseHex() {
        let data = String(repeating: "y", count: 0xD0 - 8)
        let stream = Array("D0;name=value\r\n".utf8) + Array("data: \(data)\n\n".utf8) + Array("\r\n0\r\n\r\n".utf8)
        XCTAssertEqual(feed([stream]).0, [.message(data), .ended])
    }

    func testMalformedFraming() {
        XCTAssertEqual(feed([Array("zz\r\ndata: a\n\n\r\n".utf8)]).0, [.failure("malformed chunk-size line")])
        XCTAssertEqual(feed([Array("3\r\nabcdef".utf8)]).0, [.failure("chunk data longer than its size")])
        XCTAssertEqual(feed([Array("111111111111\r\n".utf8)]).0, [.failure("chunk size too large")])
        XCTAssertEqual(feed([Array(repeating: UInt8(ascii: ";"), count: 300)]).0, [.failure("chunk-size line too long")])
    }
}
