import Glibc
import Reactor

// wsbench: a WebSocket load generator (echo, broadcast, connect, sse, longpoll and events scenarios).
if CommandLine.arguments.dropFirst().first == ReceiveBenchmark.flag {
    do {
        let benchmark = try ReceiveBenchmark.parse(Array(CommandLine.arguments.dropFirst(2)))
        let result = try ReceiveBenchmark.run(benchmark)
        print(ReceiveBenchmark.report(result, size: benchmark.size, scenario: benchmark.scenario))
        exit(result.isValid ? ExitStatus.passed : ExitStatus.failed)
    } catch let error as UsageError {
        StandardError.write("wsbench: \(error.message)\n\(ReceiveBenchmark.usage)")
        exit(ExitStatus.usage)
    } catch {
        StandardError.write("wsbench: cannot run: \(error)")
        exit(ExitStatus.cannotRun)
    }
}

if CommandLine.arguments.dropFirst().first == DeflateSizes.flag {
    do {
        let samples = try DeflateSizes.parse(Array(CommandLine.arguments.dropFirst(2)))
        print(DeflateSizes.report(DeflateSizes.measure(samples: samples), samples: samples))
        exit(ExitStatus.passed)
    } catch {
        StandardError.write("wsbench: \(error.message)\n\(DeflateSizes.usage)")
        exit(ExitStatus.usage)
    }
}

let options: BenchOptions
do {
    guard let parsed = try BenchOptionsParser.parse(Array(CommandLine.arguments.dropFirst())) else {
        print(BenchOptionsParser.usage)
        exit(ExitStatus.passed)
    }
    options = parsed
} catch {
    StandardError.write("wsbench: \(error.message)\n\n\(BenchOptionsParser.usage)")
    exit(ExitStatus.usage)
}

DescriptorLimit.raise(toFit: options)
Interruption.install()
let result: RunResult
do {
    result = try BenchRun.run(options)
} catch {
    StandardError.write("wsbench: cannot run: \(error)")
    exit(ExitStatus.cannotRun)
}
print(TextReport.render(result))
fflush(nil)
if let path = options.jsonPath, !JSONReport.write(result, to: path) {
    StandardError.write("wsbench: cannot write \(path): \(String(cString: strerror(errno)))")
    exit(ExitStatus.cannotRun)
}
if let path = options.soakCSVPath, let soak = result.soak, !SoakReport.write(soak, to: path) {
    StandardError.write("wsbench: cannot write \(path): \(String(cString: strerror(errno)))")
    exit(ExitStatus.cannotRun)
}
exit(result.exitStatus)
