// redis-bench: pipelined throughput of the Redis client on one loop.
//
//   redis-bench --url redis://127.0.0.1:6379 [--command publish|incr|script] [--window N] [-d SECONDS]
//               [--payload BYTES] [--resp2] [--server-pid PID]
//
// Keeps `window` commands in flight: each reply issues the next command, so what a pass's replies
// issue leaves in one write at its end. Reports commands per second after a 0.5 s warm-up, the
// client's CPU per command, and, given the server's pid, Redis's CPU per command.
import Glibc
import Reactor
import Redis
import Synchronization

let usage = """
    usage: redis-bench --url redis://HOST:PORT [--command publish|incr|script] [--window N] [-d SECONDS]
                       [--payload BYTES] [--resp2] [--server-pid PID]
    """

func fail(_ message: String) -> Never {
    StandardError.write("redis-bench: \(message)\n\(usage)")
    exit(2)
}

/// `--name value` pairs, and the flags that take no value.
struct Arguments {
    var options: [String: String] = [:]
    var flags: Set<String> = []

    init(_ words: ArraySlice<String>) {
        var words = words
        while let word = words.popFirst() {
            if word == "--resp2" {
                flags.insert(word)
                continue
            }
            guard word.hasPrefix("-"), let value = words.popFirst() else { fail("bad argument \(word)") }
            options[word] = value
        }
    }

    func number(_ name: String, default fallback: Int) -> Int {
        guard let text = options[name] else { return fallback }
        guard let value = Int(text), value > 0 else { fail("\(name) needs a positive number, got '\(text)'") }
        return value
    }
}

enum Command: String, Sendable { case publish, incr, script }

struct Settings: Sendable {
    let command: Command
    let window: Int
    let payload: [UInt8]
}

/// What the loop counts and the main thread reads.
final class Progress: Sendable {
    let completed = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let ready = Atomic<Bool>(false)
}

/// The load, on the loop: `window` commands in flight on one client.
final class Load {
    let client: RedisClient
    let settings: Settings
    let progress: Progress
    private var script: RedisScript?

    init(client: RedisClient, settings: Settings, progress: Progress) {
        self.client = client
        self.settings = settings
        self.progress = progress
        if settings.command == .script {
            script = client.registerScript("""
                local seq = redis.call('INCR', KEYS[1])
                redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'm', ARGV[3])
                redis.call('PUBLISH', ARGV[1], ARGV[3])
                return seq
                """)
        }
        // Holds the load strongly (the client keeps it alive for the run).
        client.onStatusChange = { status in
            if status.state == .up && !progress.ready.load(ordering: .relaxed) {
                progress.ready.store(true, ordering: .relaxed)
                for _ in 0..<settings.window { self.issue() }
            } else if status.state == .down {
                StandardError.write("redis-bench: Redis is \(status)")
            }
        }
    }

    func issue() {
        let reply: RedisReplyHandler = { [unowned self] result in
            if case .failure = result { progress.failed.add(1, ordering: .relaxed) }
            progress.completed.add(1, ordering: .relaxed)
            issue()
        }
        do {
            switch settings.command {
            case .publish:
                try client.send("PUBLISH", "bench:room", settings.payload, reply: reply)
            case .incr:
                try client.send("INCR", "bench:counter", reply: reply)
            case .script:
                try client.evaluate(script!, keys: ["bench:seq", "bench:log"], arguments: "bench:room", 1000, settings.payload, reply: reply)
            }
        } catch {
            progress.failed.add(1, ordering: .relaxed)
        }
    }
}

func main(_ arguments: Arguments) throws {
    let options = arguments.options
    guard let url = options["--url"] else { fail("--url is required") }
    guard let command = Command(rawValue: options["--command"] ?? "publish") else { fail("unknown --command \(options["--command"]!)") }
    let settings = Settings(
        command: command, window: arguments.number("--window", default: 256),
        payload: [UInt8](repeating: UInt8(ascii: "x"), count: arguments.number("--payload", default: 64)))
    let seconds = arguments.number("-d", default: 5)
    var configuration: RedisConfiguration
    do {
        configuration = try RedisConfiguration(url: url)
    } catch {
        fail("\(error)")
    }
    if arguments.flags.contains("--resp2") { configuration.protocolVersion = .resp2 }
    configuration.maxPendingCommands = max(settings.window, configuration.maxPendingCommands)

    let group = try EventLoopGroup(loopCount: 1)
    let progress = Progress()
    let clients = Mutex<[LoopBound<RedisClient>]>([])
    group.onEveryLoop { [configuration] loop in
        do {
            let client = try RedisClient(configuration: configuration, on: loop)
            _ = Load(client: client, settings: settings, progress: progress)
            clients.withLock { $0.append(LoopBound(client, loop: loop)) }
            client.start()
        } catch {
            fail("\(error)")
        }
    }
    var waited = 0
    while !progress.ready.load(ordering: .relaxed) {
        usleep(10_000)
        waited += 1
        if waited > 500 { fail("Redis at \(configuration.url) did not come up within 5 s") }
    }
    usleep(500_000)  // warm-up
    let serverPID = options["--server-pid"]
    let startCompleted = progress.completed.load(ordering: .relaxed)
    let startCPU = processCPUSeconds()
    let startServerCPU = serverPID.map { processCPUSeconds($0) } ?? 0
    let start = monotonicNanoseconds()
    sleep(UInt32(seconds))
    let elapsed = Double(monotonicNanoseconds() - start) / 1e9
    let commands = Double(progress.completed.load(ordering: .relaxed) - startCompleted)
    let clientCPU = processCPUSeconds() - startCPU

    var report = "command \(command.rawValue)  window \(settings.window)  payload \(settings.payload.count) B  commands/s \(fixed(commands / elapsed, 0))"
    report += "  client CPU \(fixed(clientCPU / elapsed * 100, 1))%  client µs/command \(fixed(clientCPU * 1e6 / commands, 2))"
    if let serverPID {
        let serverCPU = processCPUSeconds(serverPID) - startServerCPU
        report += "  redis CPU \(fixed(serverCPU / elapsed * 100, 1))%  redis µs/command \(fixed(serverCPU * 1e6 / commands, 2))"
    }
    let failures = progress.failed.load(ordering: .relaxed)
    if failures > 0 { report += "  FAILED \(failures)" }
    print(report)
    let all = clients.withLock { $0 }
    group.onEveryLoop { _ in for client in all { client.value.close() } }
    group.shutdown()
    exit(failures > 0 ? 1 : 0)
}

func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return decimals == 0 ? String(Int(rounded)) : String(rounded)
}

do {
    try main(Arguments(CommandLine.arguments.dropFirst()))
} catch {
    StandardError.write("redis-bench: \(error)")
    exit(1)
}
