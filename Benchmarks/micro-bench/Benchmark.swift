// What a micro benchmark is, and the list of them.

/// One micro benchmark. `prepare` does the fixed setup (buffers, a loop group) and returns the
/// workload, whose `run(n)` does exactly `n` iterations and nothing else: the wall clock times
/// it, and callgrind counts it at two values of `n` so the setup cancels out.
struct Benchmark {
    let name: String
    /// What one iteration does, in words.
    let operation: String
    /// Payload bytes one iteration processes, for GB/s; 0 where bytes per second means nothing.
    var bytesPerIteration = 0
    /// What one iteration consists of when it is several of something (a publish is 1,000
    /// deliveries), so the report can give the figure per item too.
    var itemsPerIteration = 1
    var item = "op"
    /// Iterations of the gate's shorter callgrind run (the longer one runs twice as many):
    /// enough that the difference is a steady state, few enough that valgrind stays quick.
    let gateIterations: Int
    let prepare: () -> Workload
}

/// A prepared benchmark body.
struct Workload {
    /// Runs exactly `iterations` iterations. The checksum depends on the work, so the optimizer cannot drop it.
    let run: (_ iterations: Int) -> UInt64
    var tearDown: () -> Void = {}
}

extension Benchmark {
    /// Every benchmark, in report order.
    static var all: [Benchmark] {
        parseBenchmarks + encodeBenchmarks + payloadBenchmarks + [handshake] + publishBenchmarks + respBenchmarks + deflateBenchmarks + socketBenchmarks + tlsBenchmarks
    }
}

/// Hides a value from the optimizer, so work on it is neither hoisted out of a benchmark loop
/// nor folded away. Unoptimized and not inlined: the compiler cannot see that it returns its argument.
@inline(never) @_optimize(none)
func opaque(_ pointer: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer { pointer }

@inline(never) @_optimize(none)
func opaque(_ pointer: UnsafeRawPointer) -> UnsafeRawPointer { pointer }
