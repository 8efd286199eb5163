import Glibc
import Reactor

/// Called on the client's loop with Redis's answer to one command.
public typealias RedisReplyHandler = (Result<RESPValue, RedisError>) -> Void

/// One connection to Redis, on one event loop, kept up by itself.
///
/// - Pipelining: commands go out as they are issued, any number in flight;
///   replies come back in order and each goes to its command's handler.
///   Everything issued during a loop pass leaves in one write at its end.
/// - Login: HELLO 3 (with AUTH and SETNAME), or RESP2 with AUTH when the
///   server refuses HELLO; then SELECT, the registered scripts, and the
///   subscriptions (see `RedisClient+PubSub`).
/// - Outages: a lost connection is made again with backoff and jitter
///   (`RedisReconnectPolicy`); meanwhile every command fails at once with
///   `.unavailable` (thrown by the call: nothing was sent), and what was in
///   flight fails with `.connectionLost`. `status` and `onStatusChange`
///   say when and for how long.
///
/// Confined to its loop: create it there and call it only there (from
/// elsewhere, `loop.execute` with a `LoopBound`). Keep a reference for as
/// long as it should live, and `close()` it when done.
public final class RedisClient {
    public let loop: EventLoop
    public let configuration: RedisConfiguration

    public private(set) var status = RedisConnectionStatus()
    @exclusivity(unchecked) public internal(set) var counters = RedisCounters()
    /// Runs on the loop when `status.state` changes and after every failed
    /// reconnect attempt.
    public var onStatusChange: ((RedisConnectionStatus) -> Void)?

    /// Replies awaited, oldest first. Commands, login steps and
    /// subscription changes all take their place here, in wire order.
    enum Awaiting {
        case reply(RedisReplyHandler?)
        case login(LoginStep)
        case subscription(SubscriptionChange)
        case scriptLoad(RedisScript)
        case scriptRun(RedisScript, RedisReplyHandler?)
        case healthCheck
    }

    enum LoginStep { case hello, auth, clientName, select }

    private enum Phase { case idle, connecting, loggingIn, ready, waiting, closed }

    private let address: SocketAddress
    private let socket: RedisSocket
    private let connections: Connections<RedisSocket>
    private var connectionID: ConnectionID?
    private var phase = Phase.idle
    @exclusivity(unchecked) private var reader: RESPReader

    let output = RESPCommandBuffer()
    // Touched for every command and reply, only on the loop, and never while a handler runs:
    // no run-time exclusivity checks (they cost more than the work).
    @exclusivity(unchecked) var pending = ReplyQueue<Awaiting>()
    /// 3 or 2 once HELLO is answered (or skipped).
    var protocolVersion = 0
    private var loginStepsLeft = 0
    /// The login's follow-up (scripts, subscriptions) went out on this
    /// connection: later ones go straight out too.
    private(set) var setupSent = false
    private var replyTimerArmed = false
    private var closeWhenIdle = false
    /// Why the connection is being closed, when this side decided it.
    private var closingReason: String?
    private var reconnectTimer: TimerID?
    private var healthTimer: TimerID?

    // Pub/sub state, kept here because the reply path reads it on every reply.
    var subscriptions = Subscriptions()
    var scripts: [RedisScript] = []

    /// Checks the configuration and resolves the host (once: a name that
    /// resolves elsewhere later needs a new client). Call on `loop`; then
    /// set the handlers and `start()`.
    public init(configuration: RedisConfiguration, on loop: EventLoop) throws(RedisConfigurationError) {
        loop.assertInLoop()
        try RedisConfiguration.refuseTLS(configuration.url)
        do {
            address = try SocketAddress(host: configuration.url.host, port: configuration.url.port)
        } catch {
            throw RedisConfigurationError("cannot resolve \(configuration.url.host): \(error)")
        }
        self.loop = loop
        self.configuration = configuration
        reader = RESPReader(limits: configuration.limits)
        socket = RedisSocket()
        // Timeouts (connect, login, replies) are swept every 100 ms: a few ticks of slack at most.
        connections = Connections(loop: loop, handler: socket, tickInterval: 100_000_000)
        // Added after the connections, so its flush runs after every callback, timer, task and
        // pre-flush hook of the pass: whatever they issued leaves in this one write.
        _ = loop.addSource(socket) { _, _ in }
        socket.client = self
    }

    /// Connects, and keeps connecting until `close()`.
    public func start() {
        loop.assertInLoop()
        guard phase == .idle else { return }
        status = RedisConnectionStatus()
        let interval = configuration.healthCheckInterval.nanoseconds
        if interval > 0 {
            healthTimer = loop.scheduleRepeating(every: interval) { [weak self] in self?.checkHealth() }
        }
        connect()
    }

    /// Closes the connection and stops reconnecting. What awaits a reply
    /// fails with `.closed`; later calls throw `.closed`.
    public func close() {
        loop.assertInLoop()
        guard phase != .closed else { return }
        let connection = connectionID.flatMap { connections.connection($0) }
        phase = .closed
        stopTimers()
        if let connection {
            connection.close()  // connectionClosed fails what is pending
        } else {
            failPending(with: .closed)
        }
        enter(.closed, error: nil)
    }

    public var isUp: Bool { phase == .ready }

    var isClosed: Bool { phase == .closed }

    /// Replies awaited right now.
    public var pendingCount: Int { pending.count }

    // MARK: Sending

    /// Sends one command: `try client.send("HINCRBY", key, field, 1) { result in … }`.
    /// Throws, without sending, while Redis is unavailable (see `RedisError`);
    /// otherwise `reply` (if any) runs later on the loop with the answer.
    public func send<each Argument: RESPArgument>(_ command: repeat each Argument, reply: RedisReplyHandler? = nil) throws(RedisError) {
        try admit()
        let mark = output.count
        output.append(repeat each command)
        try refuseReserved(from: mark)
        pending.append(.reply(reply))
        counters.commands &+= 1
    }

    /// Sends one command whose last arguments are a collection:
    /// `try client.send("SADD", key, contentsOf: members)`.
    public func send<each Argument: RESPArgument, Tail: Collection>(
        _ head: repeat each Argument, contentsOf tail: Tail, reply: RedisReplyHandler? = nil
    ) throws(RedisError) where Tail.Element: RESPArgument {
        try admit()
        let mark = output.count
        output.append(repeat each head, contentsOf: tail)
        try refuseReserved(from: mark)
        pending.append(.reply(reply))
        counters.commands &+= 1
    }

    /// Throws unless a command may be sent now.
    func admit() throws(RedisError) {
        loop.assertInLoop()
        switch phase {
        case .ready: break
        case .closed: throw .closed
        case .idle: throw .notAllowed("the Redis client was not started (call start())")
        case .connecting, .loggingIn, .waiting: throw .unavailable(status)
        }
        guard pending.count < configuration.maxPendingCommands else {
            throw .tooManyPending(limit: configuration.maxPendingCommands)
        }
        if protocolVersion == 2 && subscriptions.holdConnection {
            throw .notAllowed("this RESP2 connection is subscribed, so Redis takes only (un)subscriptions on it: use another RedisClient for commands, or RESP3")
        }
    }

    /// Commands that would break reply matching or be lost at a reconnection
    /// have their own API; sent raw they are refused. Checked on every
    /// command, so by bytes: a length and a first letter rule out nearly all.
    private func refuseReserved(from mark: Int) throws(RedisError) {
        guard let name = Self.commandName(in: output.bytes, at: mark), (4...12).contains(name.count),
              Self.reservedInitials.contains(name[0] & 0xDF) else { return }
        guard let reserved = Self.reserved.first(where: { Self.equalIgnoringCase(name, $0.name) }) else { return }
        output.truncate(to: mark)
        let upper = String(decoding: reserved.name, as: UTF8.self)
        let why = switch reserved.reason {
        case .subscription: "\(upper) goes through subscribe/unsubscribe, so that replies stay matched and subscriptions are renewed after a reconnection"
        case .connectionSetting: "\(upper) belongs in the configuration (the URL), so that every reconnection does it again"
        case .replyMatching: "\(upper) would end this client's way of matching replies; use redis-cli"
        }
        throw .notAllowed(why)
    }

    private enum ReservedReason { case subscription, connectionSetting, replyMatching }

    private static let reserved: [(name: [UInt8], reason: ReservedReason)] = {
        let names: [(String, ReservedReason)] = [
            ("SUBSCRIBE", .subscription), ("PSUBSCRIBE", .subscription), ("SSUBSCRIBE", .subscription),
            ("UNSUBSCRIBE", .subscription), ("PUNSUBSCRIBE", .subscription), ("SUNSUBSCRIBE", .subscription),
            ("HELLO", .connectionSetting), ("AUTH", .connectionSetting), ("SELECT", .connectionSetting),
            ("MONITOR", .replyMatching), ("RESET", .replyMatching), ("QUIT", .replyMatching),
        ]
        return names.map { (Array($0.0.utf8), $0.1) }
    }()

    private static let reservedInitials = Set(reserved.map { $0.name[0] })

    /// `bytes` equals the upper-case ASCII `name`, in any case.
    private static func equalIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ name: [UInt8]) -> Bool {
        guard bytes.count == name.count, bytes[0] & 0xDF == name[0] else { return false }
        for index in 1..<name.count where bytes[index] & 0xDF != name[index] { return false }
        return true
    }

    /// The first argument of the command encoded at `mark`: `*N\r\n$L\r\nNAME\r\n`.
    private static func commandName(in bytes: UnsafeRawBufferPointer, at mark: Int) -> UnsafeRawBufferPointer? {
        var index = mark
        while index < bytes.count && bytes[index] != 10 { index += 1 }
        index += 2  // past the LF and the '$'
        var length = 0
        while index < bytes.count && bytes[index] != 13 {
            length = length * 10 + Int(bytes[index] &- 48)
            index += 1
        }
        index += 2
        guard index + length <= bytes.count else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)])
    }

    // MARK: Writing (end of pass)

    /// One write for everything issued during the pass.
    func flush() {
        guard !output.isEmpty else { return }
        guard let id = connectionID, let connection = connections.connection(id) else {
            output.removeAll()
            return
        }
        connection.write(output.bytes)
        connection.flush()
        output.removeAll()
        if phase == .ready && !replyTimerArmed && !pending.isEmpty && connectionID == id {
            connection.setTimeout(nanoseconds: configuration.commandTimeout.nanoseconds)
            replyTimerArmed = true
        }
    }

    // MARK: Connecting

    private func connect() {
        guard phase != .closed else { return }
        guard !loop.isShuttingDown else { return close() }
        phase = .connecting
        // TLS plugs in here: once the Reactor has an I/O layer between a connection and its socket
        // (plain TCP, TLS), `rediss://` connects through the TLS one instead of being refused.
        do {
            let connection = try connections.connect(to: address)
            connectionID = connection.id
            connection.setTimeout(nanoseconds: configuration.connectTimeout.nanoseconds)
        } catch {
            connectionEnded("connect to \(address) failed: \(error)")
        }
    }

    func opened(_ connection: Connection<RedisSocket>) {
        phase = .loggingIn
        closingReason = nil
        protocolVersion = 0
        loginStepsLeft = 0
        if configuration.protocolVersion == .resp3 {
            sendHello()
        } else {
            protocolVersion = 2
            sendSetup(authenticate: true)
        }
    }

    /// HELLO 3 [AUTH user password] [SETNAME name].
    private func sendHello() {
        var extra: [String] = []
        if let password = configuration.url.password {
            extra += ["AUTH", configuration.url.username ?? "default", password]
        }
        if let name = configuration.clientName { extra += ["SETNAME", name] }
        output.append("HELLO", "3", contentsOf: extra)
        awaitLogin(.hello)
    }

    /// What follows the protocol choice: AUTH (RESP2 only), CLIENT SETNAME
    /// (RESP2 only), SELECT, the scripts, the subscriptions. Pipelined.
    private func sendSetup(authenticate: Bool) {
        let url = configuration.url
        if authenticate, let password = url.password {
            if let username = url.username { output.append("AUTH", username, password) } else { output.append("AUTH", password) }
            awaitLogin(.auth)
        }
        if protocolVersion == 2, let name = configuration.clientName {
            output.append("CLIENT", "SETNAME", name)
            awaitLogin(.clientName)
        }
        if url.database != 0 {
            output.append("SELECT", url.database)
            awaitLogin(.select)
        }
        setupSent = true
        for script in scripts { sendScriptLoad(script) }
        renewSubscriptions()
        if loginStepsLeft == 0 { becomeReady() }
    }

    private func awaitLogin(_ step: LoginStep) {
        pending.append(.login(step))
        loginStepsLeft += 1
    }

    private func loginAnswered(_ step: LoginStep, _ value: RESPValue) {
        loginStepsLeft -= 1
        if case .error(let text) = value {
            let error = RedisServerError(text)
            if step == .hello && (error.code == "NOPROTO" || error.code == "ERR" && error.message.lowercased().contains("unknown command")) {
                protocolVersion = 2  // Redis before 6, or HELLO renamed away
                sendSetup(authenticate: true)
                return
            }
            let what = switch step {
            case .hello: "HELLO"
            case .auth: "AUTH"
            case .clientName: "CLIENT SETNAME"
            case .select: "SELECT \(configuration.url.database)"
            }
            return fail("\(what) refused: \(error)")
        }
        if step == .hello {
            protocolVersion = 3
            status.serverVersion = value.pairs?.first { $0.key.string == "version" }?.value.string
            sendSetup(authenticate: false)
            return
        }
        if loginStepsLeft == 0 && phase == .loggingIn { becomeReady() }
    }

    private func becomeReady() {
        phase = .ready
        status.protocolVersion = protocolVersion
        if let connection = connectionID.flatMap({ connections.connection($0) }) {
            connection.clearTimeout()
            replyTimerArmed = false
            if !pending.isEmpty {
                connection.setTimeout(nanoseconds: configuration.commandTimeout.nanoseconds)
                replyTimerArmed = true
            }
        }
        enter(.up, error: nil)
    }

    /// Closes the connection for `reason`; the reconnection follows.
    func fail(_ reason: String) {
        guard let connection = connectionID.flatMap({ connections.connection($0) }) else { return }
        closingReason = reason
        Self.abort(connection, reason: .local)
    }

    /// Closes with a reset, discarding what the kernel still holds unsent: a command given up
    /// (reported `.connectionLost`) must not reach Redis later, after a partition heals, and run
    /// after commands sent since on a new connection.
    private static func abort(_ connection: Connection<RedisSocket>, reason: CloseReason) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(connection.descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        connection.close(reason: reason)
    }

    // MARK: Reading

    func received(_ connection: Connection<RedisSocket>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        let id = connection.id
        var offset = 0
        while offset < bytes.count {
            let value: RESPValue?
            do {
                let result = try reader.read(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                value = result.value
                offset += result.consumed
            } catch {
                fail("\(error)")
                return bytes.count
            }
            guard let value else { break }
            dispatch(value)
            guard connectionID == id else { return bytes.count }  // a handler closed the client, or the reply was bad
        }
        if pending.isEmpty {
            if replyTimerArmed {
                connection.clearTimeout()
                replyTimerArmed = false
            }
            if closeWhenIdle { connection.close(reason: .shutdown) }
        } else if replyTimerArmed {
            connection.setTimeout(nanoseconds: configuration.commandTimeout.nanoseconds)  // progress: wait afresh
        }
        return bytes.count
    }

    private func dispatch(_ value: RESPValue) {
        if case .push(let items) = value { return handlePush(items) }
        if protocolVersion == 2, case .array(let items) = value, handleSubscribedReply(items) { return }
        guard let awaiting = pending.first else {
            return fail("Redis sent a reply nothing was waiting for: \(value)")
        }
        if case .subscription(let change) = awaiting {
            // A subscription change answers with confirmations (handled above); anything else is its error.
            guard case .error(let text) = value else { return fail("unexpected reply to \(change.command): \(value)") }
            _ = pending.removeFirst()
            return subscriptionRefused(change, RedisServerError(text))
        }
        _ = pending.removeFirst()
        switch awaiting {
        case .reply(let handler):
            counters.replies &+= 1
            if let handler { handler(Self.result(value)) } else { countUnhandled(value) }
        case .login(let step):
            loginAnswered(step, value)
        case .scriptLoad(let script):
            script.sha = value.string
        case .scriptRun(let script, let handler):
            scriptAnswered(script, value, handler)
        case .healthCheck, .subscription:
            break
        }
    }

    /// An error answering a command sent without a handler is counted, not lost.
    func countUnhandled(_ value: RESPValue) {
        guard case .error(let text) = value else { return }
        counters.unhandledErrors &+= 1
        counters.lastUnhandledError = text
    }

    static func result(_ value: RESPValue) -> Result<RESPValue, RedisError> {
        if case .error(let text) = value { return .failure(.server(RedisServerError(text))) }
        return .success(value)
    }

    private func checkHealth() {
        guard phase == .ready, pending.isEmpty else { return }
        output.append("PING")
        pending.append(.healthCheck)
    }

    // MARK: Losing the connection

    func timedOut(_ connection: Connection<RedisSocket>) {
        let seconds = RedisConnectionStatus.seconds
        closingReason = phase == .ready
            ? "no reply from Redis in \(seconds(configuration.commandTimeout.nanoseconds)) s"
            : "connect and login took over \(seconds(configuration.connectTimeout.nanoseconds)) s"
        Self.abort(connection, reason: .timedOut)
    }

    func shuttingDown(_ connection: Connection<RedisSocket>) {
        // The loop drains: stop reconnecting, and close once the replies in flight are in.
        stopTimers()
        if pending.isEmpty || phase != .ready {
            connection.close(reason: .shutdown)
        } else {
            closeWhenIdle = true
        }
    }

    func closed(_ connection: Connection<RedisSocket>, reason: CloseReason) {
        guard connection.id == connectionID else { return }
        let why = closingReason ?? describe(reason)
        closingReason = nil
        guard reason == .shutdown && phase != .closed else { return connectionEnded(why) }
        // The loop is going away: so is the client.
        phase = .closed
        stopTimers()
        connectionEnded(why)
        enter(.closed, error: why)
    }

    /// The connection is gone, or a connect could not start: account for it
    /// and try again later.
    private func connectionEnded(_ why: String) {
        connectionID = nil
        setupSent = false
        reader = RESPReader(limits: configuration.limits)
        output.truncate(to: 0)
        replyTimerArmed = false
        closeWhenIdle = false
        if phase == .closed {
            return failPending(with: .closed)
        }
        let wasReady = phase == .ready
        phase = .waiting
        if wasReady || status.state == .connecting {
            status.reconnectAttempts = status.state == .connecting ? 1 : 0
            enter(.down, error: why)
        } else {
            status.reconnectAttempts += 1
            status.lastError = why
            onStatusChange?(status)
        }
        failPending(with: .connectionLost(reason: why))
        guard phase == .waiting else { return }  // an observer or handler closed the client
        if let limit = configuration.reconnect.maxAttempts, status.reconnectAttempts >= limit {
            phase = .closed
            stopTimers()
            return enter(.closed, error: "gave up after \(status.reconnectAttempts) attempts to connect; last: \(why)")
        }
        let delay = configuration.reconnect.delay(beforeAttempt: status.reconnectAttempts + 1, random: Double.random(in: 0..<1))
        reconnectTimer = loop.schedule(after: delay) { [weak self] in
            self?.reconnectTimer = nil
            self?.connect()
        }
    }

    /// Everything awaited fails with `error` (subscriptions are kept and
    /// renewed by the next connection).
    private func failPending(with error: RedisError) {
        let awaited = pending.removeAll()
        subscriptions.connectionLost()
        loginStepsLeft = 0
        for awaiting in awaited {
            switch awaiting {
            case .reply(let handler), .scriptRun(_, let handler): handler?(.failure(error))
            case .subscription(let change): subscriptionInterrupted(change, closing: phase == .closed)
            case .login, .scriptLoad, .healthCheck: break
            }
        }
        if phase == .closed {
            for handler in subscriptions.takeWaiting() { handler(.failure(.closed)) }
        }
    }

    private func enter(_ state: RedisConnectionState, error: String?) {
        let now = monotonicNanoseconds()
        if status.state == .down && state == .up {
            let outage = now &- status.since
            status.outages += 1
            status.lastOutageNanoseconds = outage
            status.totalDowntimeNanoseconds &+= outage
        }
        // Down counts from the start of the first attempt when Redis was never reached.
        if !(status.state == .connecting && state == .down) { status.since = now }
        status.state = state
        if let error { status.lastError = error }
        if state == .up { status.reconnectAttempts = 0 }
        onStatusChange?(status)
    }

    private func stopTimers() {
        if let timer = reconnectTimer { loop.cancel(timer) }
        if let timer = healthTimer { loop.cancel(timer) }
        reconnectTimer = nil
        healthTimer = nil
    }

    /// Runs `body` on the loop's next pass: for callbacks that must not run
    /// inside the call that causes them.
    func later(_ body: @escaping () -> Void) {
        loop.schedule(after: 0, body)
    }

    private func describe(_ reason: CloseReason) -> String {
        switch reason {
        case .peerClosed: "Redis closed the connection"
        case .reset: "Redis reset the connection"
        case .connectFailed(let error): "connect to \(address) failed: \(String(cString: strerror(error.errno)))"
        default: "\(reason)"
        }
    }
}
