// Which end of the connection a reader parses for; it decides the masking rule (RFC 6455 §5.1).

public enum WebSocketRole: Sendable {
    /// We are the server: every frame from the client must be masked.
    case server
    /// We are the client: no frame from the server may be masked.
    case client
}
