import Broadcast
import Reactor
import WebSocketCodec

/// Everything an operator can tune. Every default is listed in the README.
public struct ServerConfiguration: Sendable {
    public var host = "0.0.0.0"
    public var port = 9001
    /// TLS on `port` (https://, wss://, every route): the certificates and
    /// the handshake timeout. nil: plain TCP.
    public var tls: TLSConfiguration?
    /// Event loops (threads); one per core by default.
    public var threads = 0
    /// How the loops wait and move bytes; nil: FANOUT_IO from the
    /// environment, else io_uring where the kernel allows it (epoll where
    /// not, said on stderr). With TLS the loops run on epoll.
    public var io: IOBackend?
    /// Each loop's listen queue: connections the kernel completes and holds
    /// until they are accepted (capped by net.core.somaxconn).
    public var backlog = Int(Listener.defaultBacklog)
    /// Largest WebSocket message accepted; larger ones close with 1009. At
    /// most `maxMessageSizeLimit`, which the budget below sets.
    public var maxMessageSize = 16 << 20
    /// Bytes the whole process may hold for its clients, over every
    /// connection and loop: messages and requests partly received (WebSocket
    /// reassembly, kept frames, heads and bodies) and output waiting for slow
    /// readers. Past it, new work is refused rather than the process
    /// growing: a WebSocket whose message would need holding more is closed
    /// with 1013 (Try Again Later); a new request or upgrade gets 503 with
    /// `Retry-After` (GET and HEAD of the application's own routes, /stats
    /// and /metrics among them, are still answered: they hold nothing). What
    /// was accepted (a room message queued for its members) is never dropped.
    ///
    /// 1 GiB by default: a fixed figure rather than a share of the RAM,
    /// which in a container is the host's and not the container's limit. An
    /// idle connection holds nothing here, so it is all for bursts: 64
    /// messages of the default 16 MiB limit arriving at once, or 1,024 slow
    /// members at the default 1 MiB queue cap.
    public var maxBufferedTotal = 1 << 30
    /// Largest HTTP request head; larger ones get 431.
    public var maxHeadSize = 8192
    /// A connection must finish its HTTP request head within this.
    public var handshakeTimeout: Duration = .seconds(10)
    /// A WebSocket silent this long is pinged (0: never).
    public var pingInterval: Duration = .seconds(30)
    /// A pinged WebSocket that stays silent this much longer is dropped.
    public var pongTimeout: Duration = .seconds(10)
    /// After sending a close frame, how long to wait for the peer's before dropping it.
    public var closeTimeout: Duration = .seconds(5)
    /// On SIGINT/SIGTERM: how long open connections get to finish closing, and before that
    /// publishes in a room backend's hands (Redis) to come back, together.
    public var drainTimeout: Duration = .seconds(5)
    /// Granularity of all connection timeouts.
    public var timerTick: Duration = .seconds(1)
    /// Rooms: per-subscriber cap and policy, history.
    public var broadcast = BroadcastConfiguration()
    /// When set, every WebSocket joins this room on open, so a publish to it
    /// reaches everyone connected (socket.io's `io.emit`). Costs one
    /// membership per connection, so it is off by default.
    public var everyoneRoom: String?
    /// Origins whose pages may open WebSockets (the `Origin` header of the
    /// upgrade); others get 403. Empty: any, which is safe only when the
    /// server does not authenticate WebSockets by cookies or HTTP auth (a page
    /// elsewhere could open one carrying its visitor's cookies: cross-site
    /// WebSocket hijacking). An upgrade without `Origin` (not a browser,
    /// which always sends it) is allowed: it carries no visitor's cookies.
    public var allowedOrigins: [String] = []
    /// Origins allowed to read responses cross-origin (CORS); "*" allows any.
    /// Empty: no CORS headers (same-origin pages only; EventSource cannot go cross-origin without them).
    public var corsOrigins: [String] = []
    /// Largest request body (POST /publish); larger ones get 413.
    public var maxBodySize = 64 * 1024
    /// SSE `retry:` sent at the start of each stream, in milliseconds.
    public var eventStreamRetry = 3000
    /// A comment is sent on an idle SSE or iframe stream this often, so proxies keep it open.
    public var streamKeepAlive: Duration = .seconds(15)
    /// How often each loop publishes its counters for `statisticsSnapshot()` (and GET /stats).
    public var statisticsInterval: Duration = .milliseconds(250)
    /// Longest wait a long-poll may ask for (`wait=`); longer asks are cut to this.
    public var maxPollWait: Duration = .seconds(60)
    /// Bytes the kernel may hold unsent for a member that conflates (`TCP_NOTSENT_LOWAT`).
    /// The server holds updates back, and conflates them, only once the kernel refuses
    /// bytes; left to itself Linux takes up to 4 MiB per slow socket first, minutes of
    /// stale quotes for a slow reader. nil: the kernel's own limit.
    public var conflatingUnsentLimit: Int? = 65_536
    /// permessage-deflate (RFC 7692) on every WebSocket route: what the server accepts of the
    /// clients' offers. nil: not offered (the `Sec-WebSocket-Extensions` header is not read).
    public var deflate: PerMessageDeflate.ServerPolicy?
    /// With a room backend that numbers elsewhere, `POST /publish` waits for its answer; past
    /// this it answers 504 (the outcome is unknown). The backend's own timeouts come first.
    public var publishTimeout: Duration = .seconds(15)

    public init() {}

    /// Why a configuration cannot run.
    public struct InvalidConfiguration: Error, CustomStringConvertible {
        public let description: String
    }

    /// The largest `maxMessageSize` the memory budget allows: a message is
    /// held whole while it arrives (once), and when published to a room the
    /// encoder reserves its largest encoding at once: Server-Sent Events',
    /// at up to 7 bytes per byte (every byte a line break, each its own
    /// `data: ` line). 8 times the message must fit in `maxBufferedTotal`;
    /// and never more than 2 GiB.
    public var maxMessageSizeLimit: Int { min(1 << 31, maxBufferedTotal / Self.bytesHeldPerMessageByte) }

    /// What one message byte may cost at once, held and encoded (see `maxMessageSizeLimit`).
    public static let bytesHeldPerMessageByte = 8

    /// Refuses limits that contradict each other; `start` checks this too.
    public func validate() throws(InvalidConfiguration) {
        guard maxBufferedTotal > 0 else {
            throw InvalidConfiguration(description: "maxBufferedTotal must be positive, got \(maxBufferedTotal)")
        }
        try Self.validate(maxMessageSize: maxMessageSize, name: "maxMessageSize", limit: maxMessageSizeLimit)
    }

    static func validate(maxMessageSize: Int, name: String, limit: Int) throws(InvalidConfiguration) {
        guard (0...limit).contains(maxMessageSize) else {
            throw InvalidConfiguration(description: "\(name) must be in 0...\(limit) (the most that maxBufferedTotal allows: "
                                       + "a message is held while it arrives and its largest encoding reserved at once, "
                                       + "\(bytesHeldPerMessageByte) times its size), got \(maxMessageSize)")
        }
    }

    /// The loops to run: `threads`, or one per core.
    var loopCount: Int { threads > 0 ? threads : EventLoopGroup.coreCount }

    /// The backend to ask the loops for. TLS runs on epoll: on an io_uring
    /// loop its records would wait for readiness through one-shot polls, the
    /// slower path; asked for io_uring by name, the server says so on stderr.
    func loopBackend() -> IOBackend? {
        guard tls != nil else { return io }
        if io == .uring { StandardError.write("io_uring serves plain TCP only; with TLS the loops run on epoll") }
        return .epoll
    }
}
