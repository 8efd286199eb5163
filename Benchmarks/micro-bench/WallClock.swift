import Reactor

/// One benchmark's wall-clock result: the best of several timed runs of the same iteration count.
struct Timing {
    let benchmark: Benchmark
    let iterations: Int
    let repetitions: Int
    let bestSeconds: Double

    var secondsPerIteration: Double { bestSeconds / Double(iterations) }
    var nanosecondsPerOp: Double { secondsPerIteration * 1e9 }
    var opsPerSecond: Double { 1 / secondsPerIteration }
    /// Payload throughput in 10^9 bytes per second, where it applies.
    var gigabytesPerSecond: Double? {
        benchmark.bytesPerIteration > 0 ? Double(benchmark.bytesPerIteration) / secondsPerIteration / 1e9 : nil
    }
    var nanosecondsPerItem: Double { nanosecondsPerOp / Double(benchmark.itemsPerIteration) }
}

/// Times `benchmark`: grows the iteration count until one run lasts `minimumSeconds` (so the
/// clock's resolution and the loop's wake-up are negligible), then keeps the fastest of
/// `repetitions` runs, the one least disturbed by whatever else shares the machine.
func time(_ benchmark: Benchmark, repetitions: Int, minimumSeconds: Double) -> Timing {
    let workload = benchmark.prepare()
    defer { workload.tearDown() }
    var checksum: UInt64 = 0
    func seconds(_ iterations: Int) -> Double {
        let start = monotonicNanoseconds()
        checksum &+= workload.run(iterations)
        return Double(monotonicNanoseconds() - start) / 1e9
    }
    var iterations = 1
    var elapsed = seconds(iterations)  // also the warm-up
    while elapsed < minimumSeconds {
        let scale = elapsed > 0 ? min(10, max(2, minimumSeconds / elapsed * 1.2)) : 10
        iterations = Int(Double(iterations) * scale)
        elapsed = seconds(iterations)
    }
    var best = elapsed
    for _ in 1..<max(repetitions, 1) { best = min(best, seconds(iterations)) }
    if checksum == 0x5EED_F00D { print("") }  // never true in practice; keeps the checksum live
    return Timing(benchmark: benchmark, iterations: iterations, repetitions: repetitions, bestSeconds: best)
}
