import PushServer

/// The events layer's settings. Every default is listed in the README.
public struct EventServerConfiguration: Sendable {
    /// Where the sessions and the client script are served: `PATH/ws`,
    /// `PATH/sse`, `PATH/poll`, `PATH/send`, `PATH/client.js`, `PATH/client.mjs`.
    public var path = "/events"
    /// Heartbeat, packet size, transports offered.
    public var sessions = SessionConfiguration()
    /// How often each loop checks the acknowledgements it waits for: a
    /// timed-out one is reported at most this late.
    public var ackCheckInterval: Duration = .milliseconds(100)

    public init() {}
}
