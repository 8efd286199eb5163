/// What a slow subscriber may read (the ticker scenario's `--slow`): it
/// earns messages at its pace, `--slow-speed` × the publish rate, and reads
/// no more than it has earned; the rest waits in the kernel, so its socket
/// buffers fill and the server sees it fall behind, as it would a phone on
/// a poor link. Fractions carry over, so a pace under one message a read
/// still reads now and then.
struct ReadAllowance: Equatable {
    /// Messages it may read now.
    private(set) var credit = 0.0

    /// Adds what `perSecond` earns over `nanoseconds`. What is not spent is
    /// kept up to `cap` messages (at least one), so a reader with nothing
    /// to read does not save up a burst.
    mutating func earn(perSecond: Double, over nanoseconds: UInt64, cap: Double) {
        credit = min(credit + perSecond * Double(nanoseconds) / 1e9, max(1, cap))
    }

    /// Whole messages it may read now.
    var messages: Int { Int(credit) }

    mutating func spend(_ messages: Int) {
        credit = max(0, credit - Double(messages))
    }
}

/// Frames as a server sends them (unmasked), found whole at the start of
/// some bytes without reading them: how a slow subscriber knows how many
/// bytes to take from its socket, so it takes whole frames and leaves the
/// rest, a partial frame included, in the kernel.
enum ServerFrames {
    struct Extent: Equatable {
        /// Bytes of the whole frames found.
        var bytes: Int
        /// Messages among them (data frames with FIN; control frames come free).
        var messages: Int
        /// The size of the frame after them when it is not all there but its header is
        /// (nil when it is whole, its header is not, or the message limit stopped the walk).
        var partialFrameSize: Int?
    }

    /// The whole frames at the start of `bytes`, up to `limit` messages.
    static func whole(in bytes: UnsafeRawBufferPointer, messages limit: Int) -> Extent {
        var offset = 0
        var messages = 0
        while offset + 2 <= bytes.count {
            let first = bytes[offset]
            let second = bytes[offset + 1]
            let isData = first & 0x0F < 0x8
            if isData && messages == limit { break }
            var headerLength = 2 + (second & 0x80 != 0 ? 4 : 0)
            var length = Int(second & 0x7F)
            if length >= 126 {
                let extra = length == 126 ? 2 : 8
                guard offset + 2 + extra <= bytes.count else { break }
                length = 0
                for index in 0..<extra { length = length << 8 | Int(bytes[offset + 2 + index]) }
                // A 64-bit length past any frame a server sends (or negative as an Int) is just too large.
                if length < 0 || length > 1 << 40 { length = 1 << 40 }
                headerLength += extra
            }
            let size = headerLength + length
            guard offset + size <= bytes.count else { return Extent(bytes: offset, messages: messages, partialFrameSize: size) }
            offset += size
            if isData && first & 0x80 != 0 { messages += 1 }
        }
        return Extent(bytes: offset, messages: messages, partialFrameSize: nil)
    }
}
