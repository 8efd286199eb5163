import Glibc
import Reactor

/// A room's counters as echo-server reports them at `GET /stats`
/// (`{"rooms":{"NAME":{"delivered":…,"conflated":…,…}}}`), read before and
/// after a ticker window so the report can set what the server says it
/// conflated beside what the slow subscribers missed. One short blocking
/// request on the main thread, plain HTTP to the run's host and port; a
/// server without /stats (or one that does not answer within a second)
/// just has no counters.
struct RoomCounters: Equatable {
    var delivered: UInt64
    var dropped: UInt64
    var evicted: UInt64
    var conflated: UInt64
    var volatileDropped: UInt64

    /// What was counted since `earlier`; nil when a counter went back (the room was forgotten and made again).
    func since(_ earlier: RoomCounters) -> RoomCounters? {
        guard delivered >= earlier.delivered, dropped >= earlier.dropped, evicted >= earlier.evicted,
              conflated >= earlier.conflated, volatileDropped >= earlier.volatileDropped else { return nil }
        return RoomCounters(delivered: delivered - earlier.delivered, dropped: dropped - earlier.dropped,
                            evicted: evicted - earlier.evicted, conflated: conflated - earlier.conflated,
                            volatileDropped: volatileDropped - earlier.volatileDropped)
    }

    /// Asks `host:port` for /stats; nil when it cannot be read or has no room `room`.
    static func read(host: String, port: UInt16, room: String) -> RoomCounters? {
        guard let address = try? SocketAddress(host: host, port: Int(port)) else { return nil }
        let descriptor = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var limit = timeval(tv_sec: 1, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard address.withSockAddr({ connect(descriptor, $0, $1) }) == 0 else { return nil }
        let printableHost = host.contains(":") ? "[\(host)]" : host
        let request = Array("GET /stats HTTP/1.1\r\nHost: \(printableHost):\(port)\r\nUser-Agent: wsbench\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while response.count < 4 << 20 {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            response += chunk[0..<count]
        }
        guard response.starts(with: Array("HTTP/1.1 200".utf8)) else { return nil }
        return parse(response, room: room)
    }

    static let zero = RoomCounters(delivered: 0, dropped: 0, evicted: 0, conflated: 0, volatileDropped: 0)

    /// The counters of `room` in a /stats document (or a whole response holding one); zero when the
    /// room is not listed (yet: the server refreshes the document every 250 ms).
    static func parse(_ text: [UInt8], room: String) -> RoomCounters? {
        // Names that JSON would escape are not looked for: wsbench's rooms have none.
        guard !room.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }),
              let rooms = find(#""rooms":{"#, in: text, from: 0) else { return nil }
        guard let start = find("\"\(room)\":{", in: text, from: rooms) else { return .zero }
        guard let end = text[start...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
        let object = Array(text[start..<end])
        func counter(_ name: String) -> UInt64? {
            guard let at = find("\"\(name)\":", in: object, from: 0) else { return nil }
            let digits = object[at...].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            return digits.isEmpty ? nil : UInt64(String(decoding: digits, as: UTF8.self))
        }
        guard let delivered = counter("delivered"), let dropped = counter("dropped"), let evicted = counter("evicted"),
              let conflated = counter("conflated"), let volatileDropped = counter("volatileDropped") else { return nil }
        return RoomCounters(delivered: delivered, dropped: dropped, evicted: evicted, conflated: conflated, volatileDropped: volatileDropped)
    }

    /// The index just after the first `pattern` in `text` at or after `from`.
    private static func find(_ pattern: String, in text: [UInt8], from: Int) -> Int? {
        let needle = Array(pattern.utf8)
        guard !needle.isEmpty, text.count >= needle.count else { return nil }
        var index = from
        while index + needle.count <= text.count {
            if text[index] == needle[0] && text[index..<(index + needle.count)].elementsEqual(needle) { return index + needle.count }
            index += 1
        }
        return nil
    }
}
