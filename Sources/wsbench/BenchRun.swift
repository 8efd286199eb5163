import Glibc
import Reactor

/// Everything a run produced, for the table, the JSON and the exit status.
struct RunResult: Sendable {
    var options: BenchOptions
    /// The URL actually asked for (broadcast may add /room/wsbench; sse and longpoll give the room's WebSocket URL).
    var url: String
    /// The loops' counters over the whole run, after closing.
    var totals = LoopStatistics()
    /// Measuring windows: one, or one per rung of a ladder or step.
    var windows: [WindowResult] = []
    /// Connect scenario: first connect to last handshake, and the client's CPU meanwhile.
    var connectSeconds: Double?
    var connectCPUSeconds: Double?
    var connectServerCPUSeconds: Double?
    /// Rate ladder: the highest rate kept up with, and why each rung passed or not.
    var ladder: [RungVerdict] = []
    var highestKeptUpRate: Int?
    /// Step mode: the largest room whose p95 stayed under the limit.
    var steps: [RungVerdict] = []
    var largestRoom: Int?
    /// Soak: the samples and whether memory and descriptors stayed flat.
    var soak: SoakResult?
    /// Ended early by SIGINT or SIGTERM.
    var interrupted = false

    var isLadder: Bool { !options.rateLadder.isEmpty || options.findMaxRate }
    var isStep: Bool { options.stepSubscribers != nil }
}

/// A rung of a rate ladder or a step: its window and whether it passed.
struct RungVerdict: Sendable {
    var window: WindowResult
    var passed: Bool
    /// Why not, when it did not pass.
    var reason: String
}

/// The top of a run: the scenario's phases in order.
enum BenchRun {
    static func run(_ options: BenchOptions) throws(SystemError) -> RunResult {
        let coordinator = try BenchCoordinator(options: options)
        defer { coordinator.shutdown() }
        var result = RunResult(options: options, url: url(options, coordinator.plan))
        switch options.scenario {
        case .connect:
            runConnectStorm(coordinator, &result)
        case .echo, .broadcast, .sse, .longpoll, .events:
            if options.stepSubscribers != nil {
                StepMode.run(coordinator, &result)
            } else {
                coordinator.connect(options.connections, perSecond: options.connectionsOpenedPerSecond, phase: "connect")
                // Room joins trail their 101 (or SSE head) on some servers; give them a moment before publishing.
                if options.scenario.isRoom { usleep(100_000) }
                if result.isLadder {
                    RateLadder.run(coordinator, &result)
                } else if let soak = options.soakNanoseconds {
                    let sampler = SoakSampler(intervalNanoseconds: options.sampleIntervalNanoseconds, serverPID: options.serverPID)
                    result.windows.append(coordinator.runWindow(rate: options.messagesPerSecond, label: "soak", soak: sampler))
                    result.soak = SoakResult(
                        intervalNanoseconds: sampler.intervalNanoseconds, samples: sampler.samples,
                        verdict: SoakVerdict(
                            samples: sampler.samples, soakNanoseconds: soak, intervalNanoseconds: sampler.intervalNanoseconds,
                            warmUpNanoseconds: options.soakWarmUpNanoseconds))
                } else {
                    result.windows.append(coordinator.runWindow(rate: options.messagesPerSecond, label: "measure"))
                }
            }
            coordinator.closeAll()
        }
        result.totals = coordinator.snapshot()
        result.interrupted = Interruption.requested
        return result
    }

    /// Opens (at the ramp, if any) and closes `-c` connections; each handshakes, then closes.
    private static func runConnectStorm(_ coordinator: BenchCoordinator, _ result: inout RunResult) {
        let options = coordinator.options
        let clientCPU = processCPUSeconds()
        let serverCPU = options.serverPID.map { processCPUSeconds(String($0)) }
        coordinator.connect(options.connections, perSecond: options.connectionsOpenedPerSecond, phase: "connect")
        result.connectCPUSeconds = processCPUSeconds() - clientCPU
        if let serverCPU, let pid = options.serverPID { result.connectServerCPUSeconds = processCPUSeconds(String(pid)) - serverCPU }
        let totals = coordinator.snapshot()
        if totals.lastHandshakeEnd > totals.firstConnectStart {
            result.connectSeconds = Double(totals.lastHandshakeEnd - totals.firstConnectStart) / 1e9
        }
        if Interruption.requested { _ = coordinator.onLoops { $0.beginClosing(); return 0 } }
        coordinator.waitUntil(phase: "closing", deadline: monotonicNanoseconds() + options.timeoutNanoseconds, interruptible: false) {
            $0.live == 0
        }
    }

    private static func url(_ options: BenchOptions, _ plan: RunPlan) -> String {
        var adjusted = options
        adjusted.path = plan.path
        return adjusted.url
    }
}
