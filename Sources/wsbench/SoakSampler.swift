import Histograms
import Reactor

/// Gathers a soak's samples from the coordinator's once-a-second snapshots:
/// the latency of each interval, and at each interval's end the memory and
/// descriptors of wsbench and of the server (`--server-pid`).
final class SoakSampler {
    let intervalNanoseconds: UInt64
    private let serverPID: Int32?
    private(set) var samples: [SoakSample] = []
    private var started: UInt64 = 0
    private var nextSample: UInt64 = 0
    private var intervalLatency = LatencyHistogram()
    private var receivedAtLastSample: UInt64 = 0

    init(intervalNanoseconds: UInt64, serverPID: Int32?) {
        self.intervalNanoseconds = intervalNanoseconds
        self.serverPID = serverPID
    }

    /// Measuring begins: `statistics` are the counters then.
    func start(at now: UInt64, statistics: LoopStatistics) {
        started = now
        nextSample = now + intervalNanoseconds
        receivedAtLastSample = statistics.received
        intervalLatency.reset()
    }

    /// A snapshot while measuring (its latency is what arrived since the
    /// previous one); takes a sample once an interval has passed.
    func observe(_ statistics: LoopStatistics, open: Int, at now: UInt64) {
        intervalLatency.merge(statistics.latency)
        guard now >= nextSample else { return }
        let hasLatency = intervalLatency.count > 0
        samples.append(SoakSample(
            elapsedNanoseconds: now - started, openConnections: open,
            received: statistics.received - receivedAtLastSample, lost: statistics.lost, errors: statistics.errorCount,
            p50Nanoseconds: hasLatency ? intervalLatency.percentile(50) : nil,
            p99Nanoseconds: hasLatency ? intervalLatency.percentile(99) : nil,
            maxNanoseconds: hasLatency ? intervalLatency.max : nil,
            server: serverPID.map { ProcessUsage.read(String($0)) }, client: ProcessUsage.read()))
        receivedAtLastSample = statistics.received
        intervalLatency.reset()
        nextSample += intervalNanoseconds
        if nextSample <= now { nextSample = now + intervalNanoseconds }  // a stall: no burst of catch-up samples
    }
}
