import WebSocketCodec

// Parsing client frames as a server does: masked, unmasked in place, text checked for UTF-8.
// One iteration is one `read` call that returns one whole message.

extension Benchmark {
    static var parseBenchmarks: [Benchmark] {
        [
            Benchmark(
                name: "parse-16B-masked-text", operation: "parse one 16-byte masked text frame from a buffer of many",
                bytesPerIteration: 16, item: "frame", gateIterations: 16_384,
                prepare: { parseWorkload(opcode: .text, payload: Array("sixteen bytes!!!".utf8), copies: 1024) }),
            Benchmark(
                name: "parse-1KiB-masked-binary", operation: "parse one 1 KiB masked binary frame from a buffer of many",
                bytesPerIteration: 1024, item: "frame", gateIterations: 2048,
                prepare: { parseWorkload(opcode: .binary, payload: pattern(count: 1024), copies: 64) }),
            Benchmark(
                name: "parse-1MiB-masked-binary", operation: "parse one 1 MiB masked binary frame, complete in the buffer",
                bytesPerIteration: 1 << 20, item: "frame", gateIterations: 16,
                prepare: { parseWorkload(opcode: .binary, payload: pattern(count: 1 << 20), copies: 1) }),
        ]
    }
}

/// Both halves of the key are below 0x80, so an ASCII payload stays ASCII masked or not.
private let asciiSafeKey = MaskKey(0x37, 0x5A, 0x11, 0x6C)

/// Bytes that are not all alike, for binary payloads.
func pattern(count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 8) }
}

/// `copies` of one masked frame back to back, read one frame per iteration, from the start again
/// after the last. Unmasking in place flips each payload between its masked and unmasked forms,
/// which costs the same every time; with an ASCII text payload and `asciiSafeKey` both forms are
/// valid UTF-8, so the buffer never needs restoring (a copy would be counted too).
private func parseWorkload(opcode: Opcode, payload: [UInt8], copies: Int) -> Workload {
    let frame = FrameEncoder.frame(opcode: opcode, payload: payload, maskKey: asciiSafeKey)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: frame.count * copies, alignment: 16)
    for copy in 0..<copies {
        frame.withUnsafeBytes { (buffer.baseAddress! + copy * frame.count).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
    }
    let limits = WebSocketLimits()
    return Workload(run: { iterations in
        var reader = WebSocketReader()
        var offset = 0
        var checksum: UInt64 = 0
        for _ in 0..<iterations {
            let (event, consumed) = reader.read(UnsafeMutableRawBufferPointer(rebasing: buffer[offset...]), role: .server, limits: limits)
            guard case .message(_, let received) = event else { fatalError("parse benchmark: expected a message, got \(event)") }
            checksum &+= UInt64(received.count) &+ UInt64(received[0])
            offset += consumed
            if offset == buffer.count { offset = 0 }
        }
        return checksum
    }, tearDown: { buffer.deallocate() })
}
