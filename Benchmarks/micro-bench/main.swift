// micro-bench: the codec and fan-out hot paths, one at a time.
//   list     every benchmark, tab-separated: name, the gate's iteration count, items per op, item, what one op is
//   run      wall-clock throughput, best of several runs; a Markdown table on stdout, JSON with --json
//   measure  exactly N iterations after the setup and nothing else: what callgrind counts for the gate
//   syscall-cost  nanoseconds per system call (getppid), best of 5 runs of 1,000,000
import Glibc
import Reactor

let usage = """
    usage: micro-bench list
           micro-bench run [NAME...] [--json FILE] [--repetitions R] [--min-time SECONDS]
           micro-bench measure NAME --iterations N
           micro-bench syscall-cost
    """

func fail(_ message: String) -> Never {
    StandardError.write("micro-bench: \(message)")
    exit(2)
}

func benchmark(named name: String) -> Benchmark {
    guard let found = Benchmark.all.first(where: { $0.name == name }) else {
        fail("no benchmark named '\(name)' (see micro-bench list)")
    }
    return found
}

/// Names, then `--option value` pairs.
func parse(_ words: ArraySlice<String>) -> (names: [String], options: [String: String]) {
    var names: [String] = []
    var options: [String: String] = [:]
    var rest = words
    while let word = rest.popFirst() {
        if word.hasPrefix("--") {
            guard let value = rest.popFirst() else { fail("\(word) needs a value\n\(usage)") }
            options[word] = value
        } else {
            names.append(word)
        }
    }
    return (names, options)
}

func number<T: LosslessStringConvertible>(_ options: [String: String], _ name: String, default fallback: T) -> T {
    guard let text = options[name] else { return fallback }
    guard let value = T(text) else { fail("\(name) needs a number, got '\(text)'") }
    return value
}

let words = CommandLine.arguments.dropFirst()
let (names, options) = parse(words.dropFirst())
switch words.first {
case "list":
    for benchmark in Benchmark.all {
        let columns = [benchmark.name, "\(benchmark.gateIterations)", "\(benchmark.itemsPerIteration)", benchmark.item, benchmark.operation]
        print(columns.joined(separator: "\t"))
    }

case "run":
    let selected = names.isEmpty ? Benchmark.all : names.map(benchmark(named:))
    let repetitions: Int = number(options, "--repetitions", default: 5)
    let minimumSeconds: Double = number(options, "--min-time", default: 0.2)
    var timings: [Timing] = []
    for benchmark in selected {
        timings.append(time(benchmark, repetitions: repetitions, minimumSeconds: minimumSeconds))
        StandardError.write("micro-bench: \(benchmark.name) done")
    }
    print(markdownTable(timings), terminator: "")
    if let path = options["--json"], !write(json(timings), to: path) { fail("cannot write \(path)") }

case "measure":
    guard names.count == 1, let text = options["--iterations"], let iterations = Int(text), iterations >= 0 else {
        fail(usage)
    }
    let workload = benchmark(named: names[0]).prepare()
    let checksum = workload.run(iterations)
    workload.tearDown()
    print("checksum \(checksum)")

case "syscall-cost":
    print((systemCallNanoseconds() * 10).rounded() / 10)

default:
    fail(usage)
}
