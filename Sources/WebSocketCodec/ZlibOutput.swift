// The buffer a compressor or decompressor writes into: malloc'd so it grows by realloc, and kept
// from one message to the next up to a size its owner chooses.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct ZlibOutput: ~Copyable {
    private(set) var base: UnsafeMutableRawPointer?
    private(set) var capacity = 0

    init() {}

    deinit {
        free(base)
    }

    /// Grows to `newCapacity` bytes (more than now), keeping what was written.
    mutating func grow(to newCapacity: Int) {
        guard newCapacity > capacity, let grown = realloc(base, newCapacity) else {
            fatalError("WebSocketCodec: out of memory growing a (de)compression buffer to \(newCapacity) bytes")
        }
        base = grown
        capacity = newCapacity
    }

    mutating func release() {
        free(base)
        base = nil
        capacity = 0
    }
}
