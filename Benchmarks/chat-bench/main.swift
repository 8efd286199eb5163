// chat-bench: chat-server under a room of users. N users enter the chat room
// (all in none of the named rooms, so every message goes to everyone); then,
// step by step, they send messages at a total rate, in turn, open loop. For
// each step: messages sent, stored (acknowledged: the server acknowledges
// after COMMIT), refused, delivered to every user, latency from the scheduled
// send to each delivery and to the acknowledgement, and the server's CPU.
import Glibc
import Histograms
import Reactor
import Synchronization

let usage = """
usage: chat-bench --port N [--host 127.0.0.1] [--users 1000] [--rates 100,200,500,1000]
                  [--seconds 5] [--drain 2] [--threads 1] [--server-pid PID] [--label TEXT]

Prints a markdown table: one row per rate. A user sends at most rate/users messages a
second, so keep that under the server's --flood-rate (5 by default).
"""

struct Options {
    var host = "127.0.0.1"
    var port = 0
    var users = 1000
    var rates: [Double] = [100, 200, 500, 1000]
    var seconds = 5
    var drain = 2
    var threads = 1
    var serverPID: String?
    var label = ""
}

func parseOptions() -> Options {
    var options = Options()
    var flags = CommandLineFlags(Array(CommandLine.arguments.dropFirst()))
    do throws(CommandLineFlags.UsageError) {
        while let name = flags.next() {
            switch name {
            case "-h", "--help":
                print(usage)
                exit(0)
            case "--host": options.host = try flags.value()
            case "--port": options.port = try flags.integer(1...65535)
            case "--users": options.users = try flags.integer(1...18000)
            case "--rates":
                let text = try flags.value()
                let rates = text.split(separator: ",").compactMap { Double($0) }.filter { $0 > 0 }
                guard !rates.isEmpty, rates.count == text.split(separator: ",").count else {
                    throw CommandLineFlags.UsageError("--rates takes positive numbers separated by commas, got '\(text)'")
                }
                options.rates = rates
            case "--seconds": options.seconds = try flags.integer(1...3600)
            case "--drain": options.drain = try flags.integer(0...60)
            case "--threads": options.threads = try flags.integer(1...64)
            case "--server-pid": options.serverPID = try flags.value()
            case "--label": options.label = try flags.value()
            default: throw flags.unknown()
            }
        }
        guard options.port > 0 else { throw CommandLineFlags.UsageError("--port is required") }
    } catch {
        StandardError.write("chat-bench: \(error.message)\n\(usage)")
        exit(2)
    }
    return options
}

let options = parseOptions()
let address: SocketAddress
do {
    address = try SocketAddress(host: options.host, port: options.port)
} catch {
    StandardError.write("chat-bench: \(options.host):\(options.port): \(error)")
    exit(2)
}
let group: EventLoopGroup
do {
    group = try EventLoopGroup(loopCount: options.threads)
} catch {
    StandardError.write("chat-bench: cannot start the loops: \(error)")
    exit(1)
}
let handlers = Mutex<[Int: LoopBound<ChatUsers>]>([:])
// Names unique per run, so the same database can take several runs.
let runTag = String(UInt32(truncatingIfNeeded: monotonicNanoseconds() / 1000), radix: 36)
group.onEveryLoop { loop in
    let users = ChatUsers(host: options.host, port: options.port, namePrefix: "u\(runTag)-")
    _ = Connections(loop: loop, handler: users)
    handlers.withLock { $0[loop.index] = LoopBound(users, loop: loop) }
}

/// Runs `body` with each loop's users, on its loop, and waits.
func eachLoop(_ body: @escaping @Sendable (ChatUsers) -> Void) {
    group.onEveryLoop { loop in
        if let users = handlers.withLock({ $0[loop.index] }) { body(users.value) }
    }
}

func sum<T: Sendable>(_ read: @escaping @Sendable (ChatUsers) -> T, _ combine: (T, T) -> T, _ initial: T) -> T {
    let collected = Mutex<[T]>([])
    eachLoop { users in
        let value = read(users)
        collected.withLock { $0.append(value) }
    }
    return collected.withLock { $0 }.reduce(initial, combine)
}

// Enter: every user connects, takes a name and gets its history.
let started = monotonicNanoseconds()
let loopCount = options.threads
group.onEveryLoop { loop in
    guard let users = handlers.withLock({ $0[loop.index] })?.value else { return }
    for user in stride(from: loop.index, to: options.users, by: loopCount) {
        do { try users.open(user: user, to: address) } catch { StandardError.write("chat-bench: connect: \(error)") }
    }
}
while true {
    let entered = sum({ $0.entered }, +, 0)
    let failures = sum({ $0.failures }, +, [])
    if !failures.isEmpty {
        StandardError.write("chat-bench: \(failures.count) users failed; first: \(failures[0])")
        exit(1)
    }
    if entered == options.users { break }
    if monotonicNanoseconds() - started > 120_000_000_000 {
        StandardError.write("chat-bench: only \(entered) of \(options.users) users entered within 120 s")
        exit(1)
    }
    usleep(100_000)
}
let enterSeconds = Double(monotonicNanoseconds() - started) / 1e9
sleep(2)  // the joined notices of the last users settle

func format(_ value: Double, _ digits: Int = 0) -> String {
    var text = String(Int((value * pow(10, Double(digits))).rounded()))
    guard digits > 0 else { return text }
    while text.count <= digits { text = "0" + text }
    text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
    return text
}

func milliseconds(_ nanoseconds: UInt64) -> String { format(Double(nanoseconds) / 1e6, 1) }

print("\(options.users) users entered in \(format(enterSeconds, 1)) s\(options.label.isEmpty ? "" : "; " + options.label)")
print()
print("| offered msg/s | sent | stored msg/s | refused | delivered/s | delivered / expected | delivery p50 / p99 / max ms | ack p50 / p99 ms | server CPU | client CPU |")
print("|---|---|---|---|---|---|---|---|---|---|")
for (index, rate) in options.rates.enumerated() {
    let step = index + 1
    let perLoop = rate / Double(options.threads)
    let cpuBefore = options.serverPID.map { processCPUSeconds($0) } ?? 0
    let clientCPUBefore = processCPUSeconds()
    let stepStart = monotonicNanoseconds()
    eachLoop { $0.start(step: step, rate: perLoop) }
    sleep(UInt32(options.seconds))
    eachLoop { $0.stop() }
    let sendSeconds = Double(monotonicNanoseconds() - stepStart) / 1e9
    let cpu = options.serverPID.map { processCPUSeconds($0) } ?? 0
    let clientCPU = processCPUSeconds() - clientCPUBefore
    sleep(UInt32(options.drain))
    let counts = sum({ $0.counts }, { (a: ChatUsers.StepCounts, b: ChatUsers.StepCounts) in
        var total = a
        total.sent += b.sent
        total.acknowledged += b.acknowledged
        total.refused += b.refused
        total.delivered += b.delivered
        total.deliveryLatency.merge(b.deliveryLatency)
        total.ackLatency.merge(b.ackLatency)
        return total
    }, ChatUsers.StepCounts())
    let expected = counts.acknowledged * options.users
    let serverCPU = options.serverPID == nil ? "n/a" : format((cpu - cpuBefore) / sendSeconds * 100) + "%"
    let complete = expected == 0 ? "0" : format(Double(counts.delivered) / Double(expected) * 100, 1) + "%"
    print("| \(format(rate)) | \(counts.sent) | \(format(Double(counts.acknowledged) / sendSeconds)) | \(counts.refused) "
        + "| \(format(Double(counts.delivered) / sendSeconds)) | \(complete) "
        + "| \(milliseconds(counts.deliveryLatency.percentile(50))) / \(milliseconds(counts.deliveryLatency.percentile(99))) / \(milliseconds(counts.deliveryLatency.max)) "
        + "| \(milliseconds(counts.ackLatency.percentile(50))) / \(milliseconds(counts.ackLatency.percentile(99))) | \(serverCPU) "
        + "| \(format(clientCPU / sendSeconds * 100))% |")
    fflush(nil)
}
group.shutdown()
