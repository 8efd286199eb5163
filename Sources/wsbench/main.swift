import Glibc
import Reactor

do {
    guard let options = try BenchOptionsParser.parse(Array(CommandLine.arguments.dropFirst())) else {
        print(BenchOptionsParser.usage)
        exit(0)
    }
    StandardError.write("wsbench: the \(options.scenario.rawValue) scenario is not built yet")
    exit(1)
} catch {
    StandardError.write("wsbench: \(error.message)\n\n\(BenchOptionsParser.usage)")
    exit(2)
}
