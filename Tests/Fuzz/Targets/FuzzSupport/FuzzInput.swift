// Reads a fuzzer's input as a few choices followed by data, so one byte string
// picks the configuration (role, limits, how the bytes are split) as well as the
// bytes themselves. Reading past the end gives zeros: every input is usable.

public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = inputBytes(data, size)
    }

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// One of `choices`, picked by the next byte.
    public mutating func pick<T>(_ choices: [T]) -> T {
        choices[Int(byte()) % choices.count]
    }

    /// Everything not read yet.
    public var rest: [UInt8] {
        Array(bytes[Swift.min(position, bytes.count)...])
    }
}

/// Cut points for feeding `count` bytes in pieces, derived from `seed` so the
/// same input always splits the same way: 0 gives one piece, 1 one byte at a
/// time, anything else pieces of 1...seed bytes from a small generator.
public func splitPoints(count: Int, seed: UInt8) -> [Int] {
    switch seed {
    case 0: return []
    case 1: return Array(0..<count)
    default:
        var points: [Int] = []
        var state = UInt32(seed) &* 2_654_435_761
        var at = 0
        while true {
            state = state &* 1_103_515_245 &+ 12345
            at += 1 + Int((state >> 16) % UInt32(seed))
            if at >= count { return points }
            points.append(at)
        }
    }
}
