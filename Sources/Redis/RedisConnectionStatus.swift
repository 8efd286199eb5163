import Reactor

public enum RedisConnectionState: Sendable, Equatable, CustomStringConvertible {
    /// The first connect is under way.
    case connecting
    /// Connected, logged in, database selected, subscriptions renewed: commands go out.
    case up
    /// The connection is lost (or was never made); reconnecting. Commands fail at once.
    case down
    /// Closed by its owner, by the loop's shutdown, or after `maxAttempts`.
    case closed

    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .up: "up"
        case .down: "down"
        case .closed: "closed"
        }
    }
}

/// What a server shows about its Redis connection (in /stats, say). Times
/// are monotonic nanoseconds (`monotonicNanoseconds()`), durations nanoseconds.
public struct RedisConnectionStatus: Sendable, Equatable, CustomStringConvertible {
    public var state: RedisConnectionState = .connecting
    /// When the current state began: with `.down`, the moment Redis was lost.
    public var since: UInt64 = monotonicNanoseconds()
    /// Failed attempts to reconnect in the current outage.
    public var reconnectAttempts = 0
    /// Outages that ended with a reconnection.
    public var outages = 0
    /// How long the last ended outage lasted.
    public var lastOutageNanoseconds: UInt64 = 0
    /// All ended outages together.
    public var totalDowntimeNanoseconds: UInt64 = 0
    /// Why the connection last failed or was refused, as the operator should read it.
    public var lastError: String?
    /// 3 or 2 while up (or after having been); 0 before the first connection.
    public var protocolVersion = 0
    /// Redis's version, from HELLO (RESP3 only).
    public var serverVersion: String?

    public init() {}

    public var description: String {
        let seconds = Self.seconds(monotonicNanoseconds() &- since)
        var text = "\(state) for \(seconds) s"
        if state == .down { text += ", \(reconnectAttempts) reconnect attempt\(reconnectAttempts == 1 ? "" : "s")" }
        if let lastError, state != .up { text += ", last error: \(lastError)" }
        if outages > 0 { text += "; \(outages) outage\(outages == 1 ? "" : "s"), the last \(Self.seconds(lastOutageNanoseconds)) s" }
        return text
    }

    /// Seconds with one decimal.
    static func seconds(_ nanoseconds: UInt64) -> String {
        let tenths = (nanoseconds + 50_000_000) / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Running totals of one client, for statistics.
public struct RedisCounters: Sendable, Equatable {
    /// Commands sent by the owner (not the login, health checks or subscriptions).
    public var commands = 0
    /// Replies to them.
    public var replies = 0
    /// Pub/sub messages delivered to `onMessage`.
    public var messages = 0
    /// Error replies to commands sent without a reply handler: nobody saw
    /// them, so they are counted here (and the last one kept).
    public var unhandledErrors = 0
    public var lastUnhandledError: String?

    public init() {}
}
