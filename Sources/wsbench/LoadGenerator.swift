import Glibc
import Reactor
import WebSocketCodec

/// One loop's share of the load: its connections' callbacks, the opening of
/// new connections, the send schedule, and its counters. Lives on its loop;
/// the coordinator reaches it through `LoopBound` and posted tasks.
///
/// Hot state sits behind pointers (`statistics`, `trackers`): access through
/// an unsafe pointer is not checked for exclusivity at run time, which a
/// class's stored properties would be on every frame.
final class LoadGenerator: ConnectionHandler {
    typealias Context = ConnectionState

    let plan: RunPlan
    let loop: EventLoop
    unowned(unsafe) var connections: Connections<LoadGenerator>!
    /// Every loop's generator, for closed-loop broadcast wake-ups.
    var peers: [LoopBound<LoadGenerator>] = []
    let statistics: UnsafeMutablePointer<LoopStatistics>
    var random = FastRandom()
    let limits = WebSocketLimits()
    /// permessage-deflate: inflates for every connection whose server compresses each message on
    /// its own; nil without --deflate.
    let sharedInflater: MessageInflater?
    /// permessage-deflate with a server that keeps its context: each such connection's own
    /// inflater, by slot (kept out of the connection's inline state, which every read copies).
    /// Unchecked: the optimizer hoists a checked access out of the receive loop, which then
    /// costs every read an exclusivity check (measured: 1,218 → 1,303 instructions a read with
    /// one frame), deflate or not; the generator is confined to its loop anyway.
    @exclusivity(unchecked) var ownInflaters: [MessageInflater?] = []

    // Opening connections.
    /// Connections still to start, and the pace (0: as fast as the in-flight cap allows).
    var toOpen = 0
    var rampPerSecond = 0.0
    var rampStart: UInt64 = 0
    var rampStarted = 0
    /// Connecting or handshaking now.
    var inFlight = 0
    /// Connections this loop has started; connection number = this × loops + loop index.
    var started = 0
    /// Handshakes under way, by connection slot.
    var handshakes: [ClientHandshake?] = []
    /// Established connections that are still open and not closing.
    var openCount = 0
    /// The same, by transport (`Transport.rawValue`).
    var openByTransport = [0, 0, 0]

    // Receivers (room scenarios): one row of `plan.publisherCount` trackers each.
    var trackers: UnsafeMutablePointer<SequenceTracker> {
        didSet { span.trackers = trackers }
    }
    var trackerRowCapacity = 0
    /// Each row's connection, to skip rows whose connection has gone.
    var rowConnections: [ConnectionID] = []
    /// Rows below this have been given a window's baseline.
    var rowsStarted = 0

    // Senders: echo connections or publishers, in the order they opened.
    var senders: [ConnectionID] = []
    var publisherSlots: [UInt32: ConnectionID] = [:]
    /// Messages sent by publishers whose connection has closed.
    var publishedByClosed: [UInt32: UInt64] = [:]

    // The current window.
    var window: SendingWindow?
    /// Copies of the window's bounds for the hot path; `measureStart` is
    /// .max outside a window, so nothing is recorded then.
    var measureStart: UInt64 = .max {
        didSet { span.start = measureStart }
    }
    var measureEnd: UInt64 = 0 {
        didSet { span.end = measureEnd }
    }
    var isClosedLoop = true {
        didSet { span.closedLoop = isClosedLoop }
    }
    /// The four fields above in one value, kept in step: the receive path
    /// reads it with one exclusivity check per read instead of four (each a
    /// runtime call of about 70 instructions, by callgrind).
    private(set) var span: MeasuredSpan
    /// Open loop: the next local message and the spacing of local messages.
    var nextLocalMessage: UInt64 = 0
    var localInterval = 0.0
    var windowSenders: [ConnectionID] = []
    /// True once the window's end has passed and the last message went out.
    var sendingFinished = true
    /// Closed loop: the senders' first messages have gone.
    var closedLoopStarted = false
    var tickTimer: TimerID?

    // Closed-loop broadcast: deliveries counted here since the last flush, per publisher.
    var pendingDeliverySequence: [UInt64] = []
    var pendingDeliveryCount: [UInt64] = []
    var pendingPublishers: [Int] = []

    /// After `beginClosing`, no new connections and no sending.
    var isClosing = false

    /// Ticks drive the ramp, the open-loop schedule and stall checks: every
    /// millisecond while connections are being opened or a schedule runs,
    /// otherwise rarely, so an idle client costs next to nothing.
    static let fastTick: UInt64 = 1_000_000
    static let slowTick: UInt64 = 50_000_000

    init(plan: RunPlan, loop: EventLoop) {
        self.plan = plan
        self.loop = loop
        sharedInflater = plan.deflate == nil ? nil : .sharedPerLoop()
        statistics = .allocate(capacity: 1)
        statistics.initialize(to: LoopStatistics())
        trackers = .allocate(capacity: 0)
        span = MeasuredSpan(start: .max, end: 0, trackers: trackers, closedLoop: true)
        pendingDeliverySequence = Array(repeating: .max, count: plan.publisherCount)
        pendingDeliveryCount = Array(repeating: 0, count: plan.publisherCount)
    }

    deinit {
        statistics.deinitialize(count: 1)
        statistics.deallocate()
        trackers.deallocate()
    }

    /// Creates the generator and its connection set on `loop` (call on that loop).
    static func start(plan: RunPlan, on loop: EventLoop) -> LoadGenerator {
        let generator = LoadGenerator(plan: plan, loop: loop)
        let connections = Connections(loop: loop, handler: generator, tickInterval: 100_000_000, tls: plan.tls)
        generator.connections = connections
        generator.scheduleTick(after: slowTick)
        loop.addPreFlushHook { [unowned generator] in generator.flushDeliveries() }
        return generator
    }

    // MARK: The tick

    func tick() {
        tickTimer = nil
        let now = monotonicNanoseconds()
        openDueConnections(now: now)
        var delay = toOpen > 0 ? Self.fastTick : Self.slowTick
        if window != nil && !sendingFinished {
            if !isClosedLoop {
                sendDueMessages(now: now)
                delay = Self.fastTick
            } else if !closedLoopStarted {
                if let window, now >= window.start { startClosedLoop(now: now) }
                delay = Self.fastTick
            } else if now >= measureEnd {
                sendingFinished = true
            } else {
                // A reply or delivery that never comes must not stop a sender for good.
                resendStalled(now: now)
                delay = min(delay, measureEnd - now)
            }
        }
        scheduleTick(after: delay)
    }

    /// The next tick in `delay` nanoseconds, replacing any scheduled one.
    func scheduleTick(after delay: UInt64) {
        if let tickTimer { loop.cancel(tickTimer) }
        tickTimer = loop.schedule(after: delay) { [unowned self] in tick() }
    }

    // MARK: For the coordinator

    /// A copy of the counters; the latency since the last copy moves out with it.
    func snapshot() -> LoopStatistics {
        let copy = statistics.pointee
        statistics.pointee.latency.reset()
        if plan.mixesTransports { statistics.pointee.byTransport.resetLatency() }
        return copy
    }

    struct Progress: Sendable {
        var toOpen: Int
        var inFlight: Int
        var open: Int
        var openByTransport: [Int]
        /// Connections of any phase, closing included.
        var live: Int
        var sendingFinished: Bool
        /// Broadcast publishers on this loop: publisher number → next sequence.
        var published: [UInt32: UInt64]
        /// Echo: messages sent whose replies have not arrived (nor been written off).
        var outstandingReplies: UInt64
    }

    func progress() -> Progress {
        var published: [UInt32: UInt64] = [:]
        for (id, connectionID) in publisherSlots {
            published[id] = connections.connection(connectionID)?.context.nextSequence ?? publishedByClosed[id] ?? 0
        }
        var outstanding: UInt64 = 0
        if plan.scenario == .echo {
            connections.forEach { connection in
                let state = connection.context
                if state.phase == .open && state.nextSequence > state.replies.expected {
                    outstanding += state.nextSequence - state.replies.expected
                }
            }
        }
        return Progress(toOpen: toOpen, inFlight: inFlight, open: openCount, openByTransport: openByTransport,
                        live: connections.count, sendingFinished: sendingFinished,
                        published: published, outstandingReplies: outstanding)
    }

    func setPeers(_ peers: [LoopBound<LoadGenerator>]) {
        self.peers = peers
    }
}
