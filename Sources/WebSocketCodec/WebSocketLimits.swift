// Per-call limits of the reader, passed in rather than stored so each connection's reader stays small.

public struct WebSocketLimits: Sendable {
    /// Largest message (sum of its fragments' payloads) accepted; more fails with 1009 before it is buffered.
    public var maxMessageSize: Int
    /// An incomplete frame whose total size (header + payload) is at most this is not consumed:
    /// the caller keeps its bytes and presents them again. Larger frames are consumed as they
    /// arrive and accumulated by the reader. The caller's buffer must be able to hold this many bytes.
    public var streamingThreshold: Int

    public init(maxMessageSize: Int = 16 << 20, streamingThreshold: Int = 64 << 10) {
        precondition(maxMessageSize >= 0 && maxMessageSize <= Int.max / 2)
        self.maxMessageSize = maxMessageSize
        self.streamingThreshold = streamingThreshold
    }
}
