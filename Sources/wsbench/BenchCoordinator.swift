import Glibc
import Histograms
import Reactor
import Synchronization

/// Drives a run from the main thread: starts the loops' generators, opens
/// connections, runs measuring windows, drains, closes, and gathers the
/// loops' counters. The loops are reached only through posted tasks
/// (`onEveryLoop`), so nothing here touches loop state directly.
final class BenchCoordinator {
    let options: BenchOptions
    let plan: RunPlan
    let group: EventLoopGroup
    private let generators: [LoopBound<LoadGenerator>]
    private let progressLine: ProgressLine
    /// Every window's latencies since the run began, for the live line's totals.
    private(set) var latestTotals = LoopStatistics()

    init(options: BenchOptions) throws(SystemError) {
        self.options = options
        let plan = try RunPlan(options: options)
        self.plan = plan
        group = try EventLoopGroup(loopCount: options.threads, io: options.io)
        let created = Mutex<[Int: LoopBound<LoadGenerator>]>([:])
        group.onEveryLoop { loop in
            let generator = LoadGenerator.start(plan: plan, on: loop)
            created.withLock { $0[loop.index] = LoopBound(generator, loop: loop) }
        }
        let generators = created.withLock { table in (0..<options.threads).map { table[$0]! } }
        self.generators = generators
        group.onEveryLoop { loop in generators[loop.index].value.setPeers(generators) }
        progressLine = ProgressLine(scenario: options.scenario)
    }

    /// Runs `body` on every loop's generator and returns the results in loop order.
    func onLoops<Result: Sendable>(_ body: @escaping @Sendable (LoadGenerator) -> Result) -> [Result] {
        let results = Mutex<[Int: Result]>([:])
        let generators = self.generators
        group.onEveryLoop { loop in
            let result = body(generators[loop.index].value)
            results.withLock { $0[loop.index] = result }
        }
        return results.withLock { table in (0..<generators.count).map { table[$0]! } }
    }

    /// A snapshot whose latency goes into `latency` (so none is lost from a window's total).
    private func snapshot(merging latency: inout WindowLatency) -> LoopStatistics {
        let statistics = snapshot()
        latency.merge(statistics)
        return statistics
    }

    /// Every loop's counters, merged; their latency is what arrived since the last call.
    func snapshot() -> LoopStatistics {
        var merged = LoopStatistics()
        for statistics in onLoops({ $0.snapshot() }) { merged.merge(statistics) }
        return merged
    }

    struct Progress {
        var toOpen = 0
        var inFlight = 0
        var open = 0
        var openByTransport = [0, 0, 0]
        var live = 0
        var sendingFinished = true
        var published: [UInt32: UInt64] = [:]
        var outstandingReplies: UInt64 = 0
        var openSlow = 0
        var keysBehind = 0
    }

    func progress() -> Progress {
        var merged = Progress()
        for part in onLoops({ $0.progress() }) {
            merged.toOpen += part.toOpen
            merged.inFlight += part.inFlight
            merged.open += part.open
            for index in 0..<merged.openByTransport.count { merged.openByTransport[index] += part.openByTransport[index] }
            merged.live += part.live
            merged.sendingFinished = merged.sendingFinished && part.sendingFinished
            merged.published.merge(part.published) { max($0, $1) }
            merged.outstandingReplies += part.outstandingReplies
            merged.openSlow += part.openSlow
            merged.keysBehind += part.keysBehind
        }
        return merged
    }

    /// Each publisher's message count so far.
    func publishedCounts(_ progress: Progress) -> [UInt64] {
        (0..<plan.publisherCount).map { progress.published[UInt32($0)] ?? 0 }
    }

    // MARK: Connecting

    /// Opens `count` more connections (spread over the loops) and waits until
    /// each has handshaken or failed.
    func connect(_ count: Int, perSecond: Int, phase: String) {
        let loops = options.threads
        let ramp = Double(perSecond) / Double(loops)
        _ = onLoops { generator in
            let share = count / loops + (generator.loop.index < count % loops ? 1 : 0)
            generator.open(share, perSecond: ramp)
            return 0
        }
        waitUntil(phase: phase, deadline: nil) { progress in progress.toOpen == 0 && progress.inFlight == 0 }
    }

    /// Polls every 50 ms, printing the live line each second, until `done`
    /// or the deadline. True when `done`.
    @discardableResult
    func waitUntil(phase: String, deadline: UInt64?, interruptible: Bool = true, _ done: (Progress) -> Bool) -> Bool {
        var nextLine = monotonicNanoseconds() + 1_000_000_000
        while true {
            let current = progress()
            if done(current) { return true }
            if interruptible && Interruption.requested { return false }
            let now = monotonicNanoseconds()
            if let deadline, now >= deadline { return false }
            if now >= nextLine {
                report(phase: phase, progress: current)
                nextLine += 1_000_000_000
            }
            usleep(50_000)
        }
    }

    private func report(phase: String, progress: Progress) {
        let statistics = snapshot()
        progressLine.show(phase: phase, statistics: statistics, open: progress.open)
    }

    // MARK: A measuring window

    /// Sends at `rate` (0: closed loop) for the warmup plus the duration,
    /// drains, writes off what never arrived, and returns what was measured.
    /// A soak's sampler sees every snapshot taken while measuring.
    func runWindow(rate: Int, label: String, soak: SoakSampler? = nil) -> WindowResult {
        let isTicker = plan.scenario == .ticker
        let roomBefore = isTicker ? roomCounters() : nil
        let before = snapshot()
        let current = progress()
        let baseline = publishedCounts(current)
        let senderCount = plan.scenario.isRoom ? current.published.count : current.open
        let start = monotonicNanoseconds() + 20_000_000  // lets every loop see the window before it opens
        let window = SendingWindow(
            start: start, measureStart: start + options.warmupNanoseconds,
            end: start + options.warmupNanoseconds + options.durationNanoseconds,
            rate: rate, senderCount: max(1, senderCount), receiversPerMessage: max(0, current.open - 1), baseline: baseline)
        _ = onLoops { $0.beginWindow(window); return 0 }

        var latency = WindowLatency()
        var clientCPUStart = 0.0
        var serverCPUStart = 0.0
        var measuring = false
        var arrivedBefore: UInt64 = 0
        var bytesBefore: UInt64 = 0
        var arrivedBeforeByTransport = CountersByTransport()
        var measuredFrom: UInt64 = 0
        var nextLine = monotonicNanoseconds() + 1_000_000_000
        while true {
            let now = monotonicNanoseconds()
            if !measuring && now >= window.measureStart {
                measuring = true
                let statistics = snapshot(merging: &latency)
                arrivedBefore = statistics.received
                bytesBefore = statistics.bytesReceived
                arrivedBeforeByTransport = statistics.byTransport
                clientCPUStart = processCPUSeconds()
                serverCPUStart = options.serverPID.map { processCPUSeconds(String($0)) } ?? 0
                measuredFrom = monotonicNanoseconds()
                soak?.start(at: measuredFrom, statistics: statistics)
            }
            if now >= window.end && measuring { break }
            if Interruption.requested {
                // Stop sending now; what was measured so far is reported.
                _ = onLoops { $0.endWindowEarly(); return 0 }
                if !measuring {
                    measuring = true
                    clientCPUStart = processCPUSeconds()
                    measuredFrom = monotonicNanoseconds()
                }
                break
            }
            if now >= nextLine {
                let statistics = snapshot(merging: &latency)
                let open = progress().open
                progressLine.show(phase: measuring ? label : "warmup", statistics: statistics, open: open)
                if measuring { soak?.observe(statistics, open: open, at: monotonicNanoseconds()) }
                nextLine += 1_000_000_000
            }
            let wake = min(nextLine, measuring ? window.end : window.measureStart)
            usleep(UInt32(min(100_000, max(200, (wake > now ? wake - now : 0) / 1_000))))
        }
        let clientCPU = processCPUSeconds() - clientCPUStart
        let serverCPU = options.serverPID.map { processCPUSeconds(String($0)) - serverCPUStart }
        let measuredEnd = snapshot(merging: &latency)
        let serverResident = isTicker ? options.serverPID.flatMap { ProcessUsage.read(String($0)).residentBytes } : nil
        // Slow subscribers' deliveries count too: the CPU time is divided by every delivery. Theirs are
        // counted by the loops by read time, as they read at full speed the moment publishing stops.
        let slowArrived = measuredEnd.ticker.slowReceivedInWindow
        let arrived = measuredEnd.received - arrivedBefore + slowArrived
        let bytesArrived = measuredEnd.bytesReceived - bytesBefore
        let measuredFor = monotonicNanoseconds() - measuredFrom

        // Drain: everything sent must arrive or be written off after the timeout.
        waitUntil(phase: "drain", deadline: nil, interruptible: false) { $0.sendingFinished }
        let sent = progress()
        let published = publishedCounts(sent)
        let drainDeadline = monotonicNanoseconds() + options.timeoutNanoseconds
        switch plan.scenario {
        case .echo:
            waitUntil(phase: "drain", deadline: drainDeadline, interruptible: false) { $0.outstandingReplies == 0 }
        case .ticker:
            // Every receiver, slow ones at their pace, must come to hold the last value of every key.
            var finals = [UInt32](repeating: 0, count: plan.keyCount)
            for values in onLoops({ $0.publishedKeyValues() }) {
                for key in 0..<finals.count { finals[key] = max(finals[key], values[key]) }
            }
            let settled = finals
            _ = onLoops { $0.settleKeys(finals: settled); return 0 }
            waitUntil(phase: "drain", deadline: drainDeadline, interruptible: false) { [self] progress in
                _ = snapshot(merging: &latency)
                return progress.keysBehind == 0
            }
        case .broadcast, .sse, .longpoll, .events:
            let expected = expectedDeliveries(from: baseline, to: published, receivers: sent.open)
            waitUntil(phase: "drain", deadline: drainDeadline, interruptible: false) { [self] _ in
                let statistics = snapshot(merging: &latency)
                return UInt64(max(0, Int64(statistics.received - before.received) + statistics.lost - before.lost)) >= expected
            }
        case .connect:
            break
        }
        _ = onLoops { $0.closeOutLoss(published: published); return 0 }
        let after = snapshot(merging: &latency)
        var ticker: TickerWindow?
        if isTicker {
            // The server's counters are refreshed every 250 ms: wait for them to include the drain.
            if roomBefore != nil { usleep(300_000) }
            let roomDelta = roomBefore.flatMap { earlier in roomCounters()?.since(earlier) }
            var counters = after.ticker.since(before.ticker)
            counters.staleness = latency.staleness
            let fastReceivers = sent.open - sent.openSlow - (plan.publisherCount == 1 ? 1 : 0)
            ticker = TickerWindow(
                keyCount: plan.keyCount, fastReceivers: fastReceivers, slowReceivers: sent.openSlow,
                fastArrived: arrived - slowArrived, slowArrived: slowArrived, counters: counters,
                serverConflated: roomDelta?.conflated, serverVolatileDropped: roomDelta?.volatileDropped,
                serverResidentBytes: serverResident)
        }
        var byTransport: [TransportWindow] = []
        if plan.mixesTransports {
            for transport in Transport.allCases {
                // A lone publisher (on WebSocket) hears nothing: it is not a receiver.
                let receivers = sent.openByTransport[transport.rawValue] - (transport == .webSocket && plan.publisherCount == 1 ? 1 : 0)
                guard receivers > 0 else { continue }
                let counters = after.byTransport[transport]
                let earlier = before.byTransport[transport]
                byTransport.append(TransportWindow(
                    transport: transport, receivers: receivers,
                    latency: latency.byTransport[transport.rawValue], received: counters.receivedInWindow,
                    arrived: measuredEnd.byTransport[transport].received - arrivedBeforeByTransport[transport].received,
                    lost: counters.lost - earlier.lost, duplicated: counters.duplicated - earlier.duplicated,
                    reordered: counters.reordered - earlier.reordered))
            }
        }
        return WindowResult(
            rate: rate, roomSize: sent.open, durationNanoseconds: options.durationNanoseconds, latency: latency.total,
            sent: after.sentInWindow, received: after.receivedInWindow, arrived: arrived, bytesArrived: bytesArrived,
            measuredNanoseconds: measuredFor,
            lost: after.lost - before.lost, duplicated: after.duplicated - before.duplicated,
            reordered: after.reordered - before.reordered,
            errors: after.errorCount - before.errorCount,
            maxSendLag: after.maxSendLag, maxPublisherBacklog: after.maxPublisherBacklog,
            clientCPUSeconds: clientCPU, serverCPUSeconds: serverCPU, historyGaps: after.historyGaps - before.historyGaps,
            byTransport: byTransport, ticker: ticker)
    }

    /// ticker: the server's counters for the room, from its /stats (nil when it has none, or over TLS).
    private func roomCounters() -> RoomCounters? {
        guard !options.secure, let room = RunPlan.room(ofURLPath: plan.path)?.name else { return nil }
        return RoomCounters.read(host: options.host, port: options.port, room: room)
    }

    /// Deliveries the published messages owe: each reaches every open
    /// receiver but its own publisher.
    private func expectedDeliveries(from baseline: [UInt64], to published: [UInt64], receivers: Int) -> UInt64 {
        var total: UInt64 = 0
        for publisher in 0..<published.count {
            total += (published[publisher] - baseline[publisher]) * UInt64(max(0, receivers - 1))
        }
        return total
    }

    // MARK: Closing

    /// Close frames everywhere, then waits (bounded) for the server's answers.
    func closeAll() {
        _ = onLoops { $0.beginClosing(); return 0 }
        waitUntil(phase: "closing", deadline: monotonicNanoseconds() + options.timeoutNanoseconds + 500_000_000, interruptible: false) {
            $0.live == 0
        }
    }

    func shutdown() {
        group.shutdown()
    }
}

/// A window's latency as it is gathered from the loops' snapshots: the
/// total, and per transport (`Transport.rawValue`).
struct WindowLatency {
    var total = LatencyHistogram()
    var byTransport = [LatencyHistogram(), LatencyHistogram(), LatencyHistogram()]
    /// ticker: the slow subscribers' staleness.
    var staleness = LatencyHistogram()

    mutating func merge(_ statistics: LoopStatistics) {
        total.merge(statistics.latency)
        staleness.merge(statistics.ticker.staleness)
        for transport in Transport.allCases { byTransport[transport.rawValue].merge(statistics.byTransport[transport].latency) }
    }
}

extension LoopStatistics {
    /// Everything that fails a run apart from loss: connection and protocol errors.
    var errorCount: Int { connectFailures + handshakeFailures + unexpectedCloses + protocolErrors }
}
