// Compressing one message for permessage-deflate (RFC 7692 §7.2.1): raw DEFLATE, a sync flush,
// and the 00 00 ff ff the flush ends with removed.

import CZlib

public final class MessageDeflater {
    /// The window zlib compresses with: the negotiated one, but 9 for 8 (see `init`).
    public let windowBits: Int
    /// Keep the context from message to message (better ratios, and a stream per peer).
    public let keepsContext: Bool
    public let level: Int32
    public let memoryLevel: Int32
    /// zlib's stream (it must not move), made at the first message.
    private var stream: UnsafeMutablePointer<z_stream>?
    /// Where messages are compressed, kept between messages up to `retainedOutputCapacity`.
    private var output = ZlibOutput()
    public let retainedOutputCapacity: Int

    /// `windowBits`: the most this end may use, 8-15. zlib's raw deflate has no 256-byte window
    /// and refuses 8; it is given 9, whose matches never reach back more than 250 bytes (zlib
    /// keeps 262 bytes of lookahead out of the window), so the peer's 256-byte window holds them.
    /// `level`: zlib's 0-9 (6 is its default; -1 means 6). `memoryLevel`: 1-9, the hash table
    /// size (zlib's default 8 makes deflate's state about 2^(windowBits+2) + 128 KiB).
    public init(windowBits: Int = 15, keepsContext: Bool = false, level: Int32 = 6, memoryLevel: Int32 = 8,
                retainedOutputCapacity: Int = 64 << 10) {
        precondition(PerMessageDeflate.windowBitsRange.contains(windowBits), "window bits are 8-15")
        precondition((-1...9).contains(level) && (1...9).contains(memoryLevel))
        self.windowBits = max(9, windowBits)
        self.keepsContext = keepsContext
        self.level = level
        self.memoryLevel = memoryLevel
        self.retainedOutputCapacity = retainedOutputCapacity
    }

    deinit {
        if let stream {
            deflateEnd(stream)
            stream.deallocate()
        }
    }

    /// The compressed payload of one message, in this deflater's buffer (valid until its next use,
    /// while the deflater lives); nil when it would not be smaller than `limit` bytes: the message goes
    /// plain and the context is dropped (the peer's decompressor only ever looks back into
    /// messages it inflated, so forgetting them is always allowed).
    public func compress(_ payload: UnsafeRawBufferPointer, smallerThan limit: Int = .max) -> UnsafeRawBufferPointer? {
        if output.capacity > retainedOutputCapacity { output.release() }
        let stream = ensureStream()
        // 4 for the tail that is removed; deflateBound is for Z_FINISH, a flush adds a few bytes.
        let ceiling = limit > Int.max - 4 ? Int.max : limit + 4
        let estimate = Int(deflateBound(stream, uLong(payload.count))) + 16
        var produced = 0
        var remaining = payload
        while true {
            if produced == output.capacity {
                if produced >= ceiling { return giveUp(stream) }
                output.grow(to: min(max(estimate, produced * 2), ceiling))
            }
            let chunk = min(remaining.count, Int(UInt32.max))
            let room = min(output.capacity - produced, ceiling - produced, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: remaining.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(chunk)
            stream.pointee.next_out = (output.base! + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            let status = deflate(stream, remaining.count == chunk ? Z_SYNC_FLUSH : Z_NO_FLUSH)
            precondition(status == Z_OK || status == Z_BUF_ERROR, "WebSocketCodec: deflate failed with \(status)")
            remaining = UnsafeRawBufferPointer(rebasing: remaining[(chunk - Int(stream.pointee.avail_in))...])
            produced += room - Int(stream.pointee.avail_out)
            // Done when the flush was asked for with all the input and zlib did not run out of room.
            if remaining.isEmpty && stream.pointee.avail_out > 0 { break }
            if produced >= ceiling { return giveUp(stream) }
        }
        let tail = UnsafeRawBufferPointer(start: output.base! + produced - 4, count: 4)
        precondition(produced >= 4 && tail.elementsEqual([0, 0, 0xFF, 0xFF]), "WebSocketCodec: a sync flush that does not end in 00 00 ff ff")
        if !keepsContext { deflateReset(stream) }
        return UnsafeRawBufferPointer(start: output.base, count: produced - 4)
    }

    private func giveUp(_ stream: UnsafeMutablePointer<z_stream>) -> UnsafeRawBufferPointer? {
        deflateReset(stream)
        return nil
    }

    private func ensureStream() -> UnsafeMutablePointer<z_stream> {
        if let stream { return stream }
        let made = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        made.initialize(to: z_stream())
        let status = czlib_deflate_init(made, level, -Int32(windowBits), memoryLevel)  // negative: raw DEFLATE
        guard status == Z_OK else { fatalError("WebSocketCodec: deflateInit2 failed with \(status)") }
        stream = made
        return made
    }
}
