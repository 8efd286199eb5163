import Glibc
import Reactor

/// A blocking HTTP/1.1 client over one keep-alive connection, reading
/// responses with a length and chunked streams (SSE) alike.
public final class HTTPTestClient {
    public let descriptor: Int32
    private var buffer: [UInt8] = []

    public struct Response {
        public let status: Int
        public let headers: [(String, String)]
        public let body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public init(port: Int, timeoutSeconds: Int = 10) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError("socket") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let address = try SocketAddress(host: "127.0.0.1", port: port)
        guard address.withSockAddr({ connect(descriptor, $0, $1) }) == 0 else { throw SystemError("connect") }
    }

    deinit { close(descriptor) }

    /// Sends a request; `body` with a Content-Length.
    public func send(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        write(Array(head.utf8) + (body ?? []))
    }

    public func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// One request, its whole response.
    public func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) -> Response? {
        send(method, target, headers: headers, body: body)
        return readResponse()
    }

    @discardableResult
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let received = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard received > 0 else { return false }
        buffer += chunk[0..<received]
        return true
    }

    private func readLine() -> String? {
        while true {
            if let end = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<end])
                buffer.removeFirst(end + 1)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard fill() else { return nil }
        }
    }

    private func read(count: Int) -> [UInt8]? {
        while buffer.count < count { guard fill() else { return nil } }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    /// The status line and headers of the next response.
    public func readHead() -> (status: Int, headers: [(String, String)])? {
        guard let statusLine = readLine() else { return nil }
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [(String, String)] = []
        while let line = readLine(), !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces()))
        }
        return (status, headers)
    }

    /// The next response, its body read by Content-Length (or none).
    public func readResponse() -> Response? {
        guard let head = readHead() else { return nil }
        return readResponse(afterHead: head)
    }

    /// The body of a response whose head was read.
    public func readResponse(afterHead head: (status: Int, headers: [(String, String)])) -> Response? {
        let (status, headers) = head
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        guard let body = read(count: length) else { return nil }
        return Response(status: status, headers: headers, body: body)
    }

    /// The next chunk of a chunked body; empty for the last one, nil at the end of the stream.
    public func readChunk() -> [UInt8]? {
        guard let sizeLine = readLine(), let size = Int(sizeLine, radix: 16) else { return nil }
        guard let chunk = read(count: size), readLine() != nil else { return nil }
        return chunk
    }

    /// The next Server-Sent Event's `data:` lines, joined by newlines
    /// (comments skipped), from a chunked stream whose chunks hold whole events.
    public func readEvent() -> String? {
        while let chunk = readChunk(), !chunk.isEmpty {
            let lines = String(decoding: chunk, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let data = lines.filter { $0.hasPrefix("data:") }.map { $0.dropFirst(5).drop { $0 == " " } }
            if !data.isEmpty { return data.joined(separator: "\n") }
        }
        return nil
    }

    /// Closes with RST, as a vanished client would.
    public func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        shutdown(descriptor, Int32(SHUT_RDWR))
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
