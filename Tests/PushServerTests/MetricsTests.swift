import Broadcast
import PushServer
import TestSupport
import XCTest

/// `/metrics` in the Prometheus text format, checked by a strict reading of
/// the format (version 0.0.4) and against what the server did.
final class MetricsTests: XCTestCase {
    /// One sample: name, labels, value.
    struct Sample: Equatable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    /// Parses exposition text, failing on anything the format does not allow:
    /// bad names, samples before their family's TYPE, TYPE after samples,
    /// unknown types, counters not ending in `_total`, badly quoted labels,
    /// values that are not numbers, repeated series, a missing final newline.
    static func parse(_ text: String) throws -> [Sample] {
        struct Malformed: Error, CustomStringConvertible { let description: String }
        guard text.hasSuffix("\n") else { throw Malformed(description: "no newline at the end") }
        let nameRule = { (name: Substring) -> Bool in
            guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
            return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
        }
        var types: [String: String] = [:]
        var seenSamples: Set<String> = []
        var series: Set<String> = []
        var samples: [Sample] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, nameRule(parts[2]) else { throw Malformed(description: "bad TYPE line: \(line)") }
                let name = String(parts[2]), type = String(parts[3])
                guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(type) else { throw Malformed(description: "type \(type)") }
                guard types[name] == nil, !seenSamples.contains(name) else { throw Malformed(description: "TYPE of \(name) again or after samples") }
                if type == "counter" && !name.hasSuffix("_total") { throw Malformed(description: "counter \(name) without _total") }
                types[name] = type
                continue
            }
            guard !line.hasPrefix("#"), !line.isEmpty else { throw Malformed(description: "stray line: \(line)") }
            var rest = line[...]
            let name = rest.prefix { $0 != "{" && $0 != " " }
            guard nameRule(name), types[String(name)] != nil else { throw Malformed(description: "sample of an undeclared family: \(line)") }
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    let label = rest.prefix { $0 != "=" }
                    guard nameRule(label), rest.dropFirst(label.count).hasPrefix("=\"") else { throw Malformed(description: "bad label in \(line)") }
                    rest = rest.dropFirst(label.count + 2)
                    var value = ""
                    while let character = rest.first, character != "\"" {
                        rest = rest.dropFirst()
                        if character == "\\" {
                            guard let escaped = rest.first, "\\\"n".contains(escaped) else { throw Malformed(description: "bad escape in \(line)") }
                            value.append(escaped == "n" ? "\n" : escaped)
                            rest = rest.dropFirst()
                        } else {
                            value.append(character)
                        }
                    }
                    guard rest.first == "\"" else { throw Malformed(description: "unterminated label value in \(line)") }
                    rest = rest.dropFirst()
                    labels[String(label)] = value
                    if rest.first == "," { rest = rest.dropFirst() }
                }
                rest = rest.dropFirst()
            }
            guard rest.first == " ", let value = Double(rest.dropFirst()) else { throw Malformed(description: "bad value in \(line)") }
            let key = String(name) + labels.sorted { $0.key < $1.key }.description
            guard series.insert(key).inserted else { throw Malformed(description: "series repeated: \(line)") }
            seenSamples.insert(String(name))
            samples.append(Sample(name: String(name), labels: labels, value: value))
        }
        return samples
    }

    func testTheExpositionIsWellFormedAndCountsWhatHappened() throws {
        let (server, port) = try makeServer { $0.statisticsInterval = .milliseconds(20) } routes: { server in
            server.get("/metrics") { _ in HTTPReply(contentType: PushServer.metricsContentType, body: server.metricsText()) }
        }
        defer { server.shutdown() }
        let subscriber = try TestClient(port: port, path: "/room/news")
        let publisher = try TestClient(port: port, path: "/room/news")
        for index in 0..<5 { publisher.sendFrame(.text, Array("m\(index)".utf8)) }
        for _ in 0..<5 { _ = subscriber.receiveFrame() }
        XCTAssertTrue(waitUntil { server.statisticsSnapshot().rooms["news"]?.delivered == 10 })
        let http = try HTTPTestClient(port: port)
        let response = try XCTUnwrap(http.request("GET", "/metrics"))
        XCTAssertEqual(response.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        let samples = try Self.parse(response.text)
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        XCTAssertEqual(value("fanout_published_total"), 5)
        XCTAssertEqual(value("fanout_deliveries_total"), 10, "5 messages to 2 members")
        XCTAssertEqual(value("fanout_connections", ["transport": "websocket"]), 2)
        XCTAssertEqual(value("fanout_handshakes_total"), 2)
        XCTAssertEqual(value("fanout_messages_received_total"), 5)
        XCTAssertEqual(value("fanout_history_messages"), 5)
        XCTAssertGreaterThan(value("fanout_sent_bytes_total") ?? 0, 10 * 4, "the deliveries' bytes, at least")
        XCTAssertGreaterThan(value("fanout_received_bytes_total") ?? 0, 5 * 8)
        XCTAssertNotNil(value("fanout_loop_lag_seconds", ["loop": "0"]))
        XCTAssertEqual(value("fanout_not_delivered_total", ["cause": "conflated"]), 0)
    }

    func testTheParserRefusesWhatTheFormatDoesNot() {
        let bad = [
            "# TYPE a counter\na 1\n",  // a counter without _total
            "a_total 1\n",  // no TYPE
            "# TYPE a gauge\na{x=\"1} 1\n",  // unterminated label
            "# TYPE a gauge\na 1\na 2\n",  // repeated series
            "# TYPE a gauge\na one\n",  // not a number
            "# TYPE a gauge\na 1",  // no final newline
            "# TYPE a gauge\na 1\n# TYPE a gauge\n",  // TYPE again
        ]
        for text in bad { XCTAssertThrowsError(try Self.parse(text), text) }
        XCTAssertNoThrow(try Self.parse("# HELP a_total x\n# TYPE a_total counter\na_total{b=\"q\\\"\\n\"} 1.5\n"))
    }
}
