import WebSocketCodec

// Encoding server frames (unmasked), as a publish does once per message: header, then payload copy.

extension Benchmark {
    static var encodeBenchmarks: [Benchmark] {
        [
            Benchmark(
                name: "encode-16B", operation: "encode one 16-byte text frame into a buffer",
                bytesPerIteration: 16, item: "frame", gateIterations: 16_384,
                prepare: { encodeWorkload(opcode: .text, payload: Array("sixteen bytes!!!".utf8)) }),
            Benchmark(
                name: "encode-1KiB", operation: "encode one 1 KiB binary frame into a buffer",
                bytesPerIteration: 1024, item: "frame", gateIterations: 8192,
                prepare: { encodeWorkload(opcode: .binary, payload: pattern(count: 1024)) }),
            Benchmark(
                name: "encode-64KiB", operation: "encode one 64 KiB binary frame into a buffer",
                bytesPerIteration: 64 << 10, item: "frame", gateIterations: 256,
                prepare: { encodeWorkload(opcode: .binary, payload: pattern(count: 64 << 10)) }),
        ]
    }
}

private func encodeWorkload(opcode: Opcode, payload: [UInt8]) -> Workload {
    let source = UnsafeMutableRawBufferPointer.allocate(byteCount: payload.count, alignment: 16)
    source.copyBytes(from: payload)
    let destination = UnsafeMutableRawPointer.allocate(
        byteCount: FrameEncoder.headerSize(payloadLength: payload.count, masked: false) + payload.count, alignment: 16)
    return Workload(run: { iterations in
        var checksum: UInt64 = 0
        for _ in 0..<iterations {
            // Opaque pointers: the same frame into the same place must not be encoded once and reused.
            let input = UnsafeRawBufferPointer(start: opaque(UnsafeRawPointer(source.baseAddress!)), count: source.count)
            let output = opaque(destination)
            let written = FrameEncoder.encode(opcode: opcode, payload: input, maskKey: nil, into: output)
            checksum &+= UInt64(written) &+ UInt64(output.load(fromByteOffset: 1, as: UInt8.self))
        }
        return checksum
    }, tearDown: {
        source.deallocate()
        destination.deallocate()
    })
}
