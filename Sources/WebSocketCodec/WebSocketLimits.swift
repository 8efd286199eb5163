// Per-call limits of the reader, passed in rather than stored so each connection's reader stays small.

public struct WebSocketLimits: Sendable {
    /// Largest message (sum of its fragments' payloads) accepted; more fails with 1009 before it is buffered.
    public var maxMessageSize: Int
    /// An incomplete frame whose total size (header + payload) is at most this is not consumed:
    /// the caller keeps its bytes and presents them again. Larger frames are consumed as they
    /// arrive and accumulated by the reader. The caller's buffer must be able to hold this many bytes.
    public var streamingThreshold: Int

    /// The largest compressed (permessage-deflate) message accepted, before it is inflated to at
    /// most `maxMessageSize`: a little more, since DEFLATE makes data that does not compress
    /// larger, and a message of the limit must not be refused for having been compressed. zlib's
    /// bound for any settings (`deflateBound`): 1/8 + 1/64 more, 9 bits a byte with fixed codes.
    @inlinable
    public var maxCompressedMessageSize: Int { maxMessageSize + maxMessageSize / 8 + maxMessageSize / 64 + 64 }

    public init(maxMessageSize: Int = 16 << 20, streamingThreshold: Int = 64 << 10) {
        precondition(maxMessageSize >= 0 && maxMessageSize <= Int.max / 2)
        self.maxMessageSize = maxMessageSize
        self.streamingThreshold = streamingThreshold
    }
}
