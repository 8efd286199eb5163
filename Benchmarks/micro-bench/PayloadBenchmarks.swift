import WebSocketCodec

// The per-byte payload kernels on their own: unmasking and UTF-8 validation of 1 MiB.

extension Benchmark {
    static var payloadBenchmarks: [Benchmark] {
        [
            Benchmark(
                name: "unmask-1MiB", operation: "unmask 1 MiB in place",
                bytesPerIteration: 1 << 20, gateIterations: 16,
                prepare: { unmaskWorkload(count: 1 << 20) }),
            Benchmark(
                name: "utf8-ascii-1MiB", operation: "validate 1 MiB of ASCII text",
                bytesPerIteration: 1 << 20, gateIterations: 16,
                prepare: { utf8Workload(text: "The quick brown fox jumps over the lazy dog. ", count: 1 << 20) }),
            Benchmark(
                name: "utf8-mixed-1MiB", operation: "validate 1 MiB of CJK, Greek and ASCII text",
                bytesPerIteration: 1 << 20, gateIterations: 8,
                prepare: { utf8Workload(text: "弹幕 danmaku κόσμε ", count: 1 << 20) }),
        ]
    }
}

private func unmaskWorkload(count: Int) -> Workload {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
    buffer.copyBytes(from: pattern(count: count))
    let key = MaskKey(0xA1, 0x3C, 0x7E, 0xF0)
    return Workload(run: { iterations in
        var checksum: UInt64 = 0
        for _ in 0..<iterations {
            applyMask(buffer, key: key, phase: 0)
            checksum &+= UInt64(buffer[count - 1])
        }
        return checksum
    }, tearDown: { buffer.deallocate() })
}

/// `text` repeated up to `count` bytes, cut at a character boundary.
private func utf8Workload(text: String, count: Int) -> Workload {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count)
    while bytes.count < count {
        for character in text { bytes.append(contentsOf: character.utf8) }
    }
    while bytes.count > count || (bytes.count > 0 && bytes[bytes.count - 1] >= 0x80) {
        bytes.removeLast()  // back to the end of an ASCII character (every sample text has them)
    }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 16)
    buffer.copyBytes(from: bytes)
    precondition(UTF8Validator.isValid(UnsafeRawBufferPointer(buffer)), "the sample text must be valid UTF-8")
    return Workload(run: { iterations in
        var valid: UInt64 = 0
        for _ in 0..<iterations {
            // Opaque: validating the same unchanged bytes again must not be hoisted out of the loop.
            let input = UnsafeRawBufferPointer(start: opaque(UnsafeRawPointer(buffer.baseAddress!)), count: buffer.count)
            if UTF8Validator.isValid(input) { valid &+= 1 }
        }
        precondition(valid == UInt64(iterations), "valid UTF-8 was rejected")
        return valid
    }, tearDown: { buffer.deallocate() })
}
