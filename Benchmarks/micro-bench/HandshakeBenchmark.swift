import WebSocketCodec

// The server's whole opening handshake for one browser request: parse the head, validate the
// upgrade, compute Sec-WebSocket-Accept (SHA-1 + Base64) and write the 101 response where the
// server does, into a buffer it already has; the head's storage goes back to the loop's recycler
// for the next, as the server's does once the upgrade is answered.

extension Benchmark {
    static var handshake: Benchmark {
        Benchmark(
            name: "handshake", operation: "parse a browser's upgrade request, validate, accept key, 101 response",
            item: "handshake", gateIterations: 1024, prepare: handshakeWorkload)
    }
}

/// What Chrome sends, give or take the cookie.
private let browserRequest = Array("""
    GET /room/lobby?resume=0 HTTP/1.1\r
    Host: push.example.com\r
    Connection: Upgrade\r
    Pragma: no-cache\r
    Cache-Control: no-cache\r
    User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r
    Upgrade: websocket\r
    Origin: https://push.example.com\r
    Sec-WebSocket-Version: 13\r
    Accept-Encoding: gzip, deflate, br, zstd\r
    Accept-Language: en-US,en;q=0.9\r
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
    Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r
    \r

    """.utf8)

private func handshakeWorkload() -> Workload {
    let request = UnsafeMutableRawBufferPointer.allocate(byteCount: browserRequest.count, alignment: 16)
    request.copyBytes(from: browserRequest)
    // Where the server writes the 101 (its connection's write buffer).
    let response = UnsafeMutableRawBufferPointer.allocate(byteCount: ServerHandshake.plainResponseCount, alignment: 16)
    let recycler = HTTPHeadRecycler()
    return Workload(run: { iterations in
        var checksum: UInt64 = 0
        for _ in 0..<iterations {
            var parser = HTTPHeadParser()
            guard case .complete(let head, _) = parser.parse(UnsafeRawBufferPointer(request), reusing: recycler),
                  case .success(let upgrade) = ServerHandshake.validate(head)
            else { fatalError("handshake benchmark: the request was refused") }
            let count = ServerHandshake.writePlainResponse(accepting: upgrade, into: response)
            checksum &+= UInt64(count) &+ UInt64(response[count - 5])
            _ = consume upgrade
            recycler.recycle(consume head)
        }
        return checksum
    }, tearDown: {
        request.deallocate()
        response.deallocate()
    })
}
