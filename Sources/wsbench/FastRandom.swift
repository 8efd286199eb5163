import Glibc

/// xorshift64*: mask keys and handshake nonces for a load generator, where
/// unpredictability against the server under test is not a concern but a
/// syscall per frame would be. Seeded from the kernel once per loop.
struct FastRandom {
    private var state: UInt64

    init() {
        var seed: UInt64 = 0
        let descriptor = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            _ = read(descriptor, &seed, MemoryLayout<UInt64>.size)
            close(descriptor)
        }
        if seed == 0 {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            seed = 0x9E37_79B9_7F4A_7C15 ^ UInt64(pthread_self()) ^ UInt64(now.tv_nsec)
        }
        state = seed == 0 ? 1 : seed
    }

    /// A fixed sequence, for generated content that must be the same from run to run.
    init(seed: UInt64) {
        state = seed == 0 ? 1 : seed
    }

    @inline(__always)
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next() >> 32) }
    }
}
