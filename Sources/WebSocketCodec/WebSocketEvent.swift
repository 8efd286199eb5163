// What one `WebSocketReader.read` call produces. Buffers point into the caller's input or into the
// reader's partial-message storage and are valid only until the next `read` call.

public enum WebSocketEvent {
    /// The rest of the input is an incomplete frame (or nothing): present it again with more bytes.
    case needMore
    /// A whole message, unmasked: `.text` (valid UTF-8) or `.binary`.
    case message(Opcode, UnsafeRawBufferPointer)
    case ping(UnsafeRawBufferPointer)
    case pong(UnsafeRawBufferPointer)
    /// A validated close frame: `code` is nil for an empty payload; `reason` is valid UTF-8.
    case close(code: CloseCode?, reason: UnsafeRawBufferPointer)
    /// The connection must be failed: send a close frame with this code and drop the connection.
    /// The reader is dead afterwards.
    case failure(CloseCode, reason: String)
}
