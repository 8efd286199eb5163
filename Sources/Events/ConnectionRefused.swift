/// Thrown by middleware to refuse a socket: the client gets a
/// `connect_error` packet with this message and data, and the socket is
/// not connected.
public struct ConnectionRefused: Error, Sendable {
    public let message: String
    public let data: JSON?

    public init(_ message: String, data: JSON? = nil) {
        self.message = message
        self.data = data
    }
}
