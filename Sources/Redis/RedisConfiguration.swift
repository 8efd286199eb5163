/// Everything a `RedisClient` needs to know before it connects.
public struct RedisConfiguration: Sendable {
    /// Where, who, which database.
    public var url: RedisURL
    public var protocolVersion: RedisProtocolVersion = .resp3
    /// Shown by CLIENT LIST, so an operator can tell the nodes apart.
    public var clientName: String?
    public var reconnect = RedisReconnectPolicy()
    /// For TCP's connect and the login together.
    public var connectTimeout: Duration = .seconds(5)
    /// Replies awaited and none for this long: the connection is taken for
    /// dead, closed and made again (what was in flight fails with
    /// `.connectionLost`). Blocking commands (BLPOP, XREAD BLOCK) wait longer
    /// than this at their peril.
    public var commandTimeout: Duration = .seconds(10)
    /// An idle connection sends PING this often, so a Redis that vanished
    /// without a word (a partition) is noticed within this plus `commandTimeout`.
    public var healthCheckInterval: Duration = .seconds(5)
    /// Replies that may be awaited at once; more commands fail with `.tooManyPending`.
    public var maxPendingCommands = 100_000
    public var limits = RESPLimits()

    public init(url: RedisURL) {
        self.url = url
    }

    /// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`; `rediss://` is refused
    /// until the Reactor has a TLS layer.
    public init(url text: String) throws(RedisConfigurationError) {
        let url = try RedisURL(text)
        try Self.refuseTLS(url)
        self.init(url: url)
    }

    static func refuseTLS(_ url: RedisURL) throws(RedisConfigurationError) {
        if url.usesTLS { throw RedisConfigurationError("TLS to Redis is not supported yet (\(url)); use redis:// on a trusted network") }
    }
}

public enum RedisProtocolVersion: Sendable, Equatable {
    /// HELLO 3, and RESP2 when the server refuses it (before Redis 6, or HELLO disabled).
    case resp3
    /// RESP2 only, no HELLO. Pub/sub then needs its own client: a RESP2
    /// connection with subscriptions takes no other commands.
    case resp2
}
