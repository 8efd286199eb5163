import Glibc
import Histograms
import Reactor
import Synchronization

// room-check: one room across nodes, checked end to end (see RoomCheckOptions.usage).
let options: RoomCheckOptions
do {
    guard let parsed = try RoomCheckOptions.parse(Array(CommandLine.arguments.dropFirst())) else {
        print(RoomCheckOptions.usage)
        exit(0)
    }
    options = parsed
} catch {
    StandardError.write("room-check: \(error.message)\n\n\(RoomCheckOptions.usage)\n")
    exit(2)
}

func say(_ text: String) {
    StandardError.write("room-check: \(text)\n")
}

// Every connection is a descriptor.
var limit = rlimit()
if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
let needed = options.subscriberCount + options.publisherCount + 64
if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && rlim_t(needed) > limit.rlim_cur {
    say("\(needed) descriptors are needed and the limit is \(limit.rlim_cur): raise it (ulimit -n)")
    exit(3)
}

let group: EventLoopGroup
do {
    group = try EventLoopGroup(loopCount: options.threads)
} catch {
    say("cannot start the loops: \(error)")
    exit(3)
}
let loopCount = options.threads
let ledger = Ledger(options: options, loops: loopCount)
let made = Mutex<[Int: LoopBound<CheckClient>]>([:])
group.onEveryLoop { loop in
    let client = CheckClient(ledger: ledger, loop: loop.index)
    _ = Connections(loop: loop, handler: client, tickInterval: 100_000_000)
    made.withLock { $0[loop.index] = LoopBound(client, loop: loop) }
}
let clients = made.withLock { table in (0..<loopCount).map { table[$0]! } }

/// Runs `body` with each loop's client, on its loop, and returns what they gave.
func onClients<Value: Sendable>(_ body: @escaping @Sendable (CheckClient) -> Value) -> [Value] {
    let results = Mutex<[Int: Value]>([:])
    group.onEveryLoop { loop in
        let value = body(clients[loop.index].value)
        results.withLock { $0[loop.index] = value }
    }
    return results.withLock { table in (0..<loopCount).map { table[$0]! } }
}

/// Sums `field` over the subscribers each loop owns (subscriber s lives on loop s % loops).
func subscriberTotal(_ field: @escaping @Sendable (Ledger.Subscriber) -> Int) -> Int {
    onClients { client in
        stride(from: client.loopIndex, to: options.subscriberCount, by: loopCount).reduce(0) { $0 + field(ledger.subscribers[$1]) }
    }.reduce(0, +)
}

func waitFor(seconds: Double, every interval: Double = 0.1, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
    while monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(UInt32(interval * 1e6))
    }
    return condition()
}

func stop(_ status: Int32, _ why: String) -> Never {
    say(why)
    _ = onClients { $0.closeAll() }
    group.shutdown()
    exit(status)
}

// 1. Connect: subscribers spread over the nodes, each on a loop; publishers likewise.
let started = monotonicNanoseconds()
_ = onClients { client in
    let subscribers = stride(from: client.loopIndex, to: options.subscriberCount, by: loopCount).map { ($0, $0 / options.subscribersPerNode) }
    let publishers = Array(stride(from: client.loopIndex, to: options.publisherCount, by: loopCount))
    client.open(subscribers: subscribers, publishers: publishers)
}
let everyone = options.subscriberCount + options.publisherCount
guard waitFor(seconds: 120, { ledger.opened.load(ordering: .relaxed) + ledger.failedConnections.load(ordering: .relaxed) >= everyone }),
      ledger.failedConnections.load(ordering: .relaxed) == 0 else {
    stop(1, "connections: \(ledger.opened.load(ordering: .relaxed)) of \(everyone) opened; \(ledger.firstError.withLock { $0 } ?? "timed out")")
}
say("\(options.subscriberCount) subscribers and \(options.publisherCount) publishers connected to \(options.nodes.count) node(s) in \((monotonicNanoseconds() - started) / 1_000_000) ms")

// 2. Probe until every subscriber hears the room: every node listens to it by then.
_ = onClients { $0.probe(true) }
guard waitFor(seconds: 60, { subscriberTotal { $0.sawProbe ? 1 : 0 } == options.subscriberCount }) else {
    stop(1, "only \(subscriberTotal { $0.sawProbe ? 1 : 0 }) of \(options.subscriberCount) subscribers heard a probe in 60 s")
}
_ = onClients { $0.probe(false) }
usleep(200_000)  // the last probe's answer

// 3. Publish on schedule, then wait for the last deliveries.
let cpuStart = options.serverPIDs.map { processCPUSeconds($0) }
let redisCPUStart = options.redisPID.map { processCPUSeconds($0) }
let publishStart = monotonicNanoseconds() + 50_000_000
_ = onClients { $0.startPublishing(at: publishStart) }
// However slow the machine, as long as answers keep coming.
var lastAnswered = -1
var answeredSince = monotonicNanoseconds()
while ledger.answered.load(ordering: .relaxed) < options.messages {
    let now = ledger.answered.load(ordering: .relaxed)
    if now != lastAnswered {
        lastAnswered = now
        answeredSince = monotonicNanoseconds()
    } else if monotonicNanoseconds() - answeredSince > UInt64(options.drainTimeout * 1e9) {
        break
    }
    usleep(50_000)
}
let publishEnd = monotonicNanoseconds()
let answered = ledger.answered.load(ordering: .relaxed)
// Written by the loops; every publish is answered, so they write no more.
let acknowledgedCount = onClients { client in
    stride(from: client.loopIndex, to: options.publisherCount, by: loopCount).reduce(0) { total, publisher in
        total + (0..<options.perPublisher).filter { ledger.outcomes[publisher * options.perPublisher + $0] == .acknowledged }.count
    }
}.reduce(0, +)
let expected = acknowledgedCount * options.subscriberCount
// Until every acknowledged message is in and a second passes with nothing more, or nothing
// arrives for the drain timeout.
var lastTotal = -1
var steadySince = monotonicNanoseconds()
while true {
    let total = subscriberTotal { $0.received }
    if total != lastTotal {
        lastTotal = total
        steadySince = monotonicNanoseconds()
    }
    let quiet = monotonicNanoseconds() - steadySince
    if total >= expected && quiet > 1_000_000_000 || quiet > UInt64(options.drainTimeout * 1e9) { break }
    usleep(200_000)
}
let drainEnd = monotonicNanoseconds()
let cpuEnd = options.serverPIDs.map { processCPUSeconds($0) }
let redisCPUEnd = options.redisPID.map { processCPUSeconds($0) }
_ = onClients { $0.closeAll() }
group.shutdown()

// 4. The verdict, read now that the loops are gone.
var failures: [String] = []
if let error = ledger.firstError.withLock({ $0 }) { failures.append(error) }
if answered < options.messages { failures.append("only \(answered) of \(options.messages) publishes were answered") }
let messageSlots = options.publisherCount * options.perPublisher
var outcomeCounts = [Ledger.Outcome: Int]()
for id in 0..<messageSlots where (id % options.perPublisher) < options.messages(of: id / options.perPublisher) {
    outcomeCounts[ledger.outcomes[id], default: 0] += 1
}
var missing = 0, unexpected = 0, inconsistent = 0, unknownDelivered = 0
for id in 0..<messageSlots where (id % options.perPublisher) < options.messages(of: id / options.perPublisher) {
    var holders = 0
    for subscriber in 0..<options.subscriberCount where ledger.hasReceived(subscriber: subscriber, message: id) { holders += 1 }
    switch ledger.outcomes[id] {
    case .acknowledged: missing += options.subscriberCount - holders
    case .unknown:
        if holders != 0 && holders != options.subscriberCount { inconsistent += 1 }
        if holders > 0 { unknownDelivered += 1 }
    case .refused, .notSent, .otherStatus: unexpected += holders
    }
}
var duplicates = 0, reordered = 0, foreign = 0, closedEarly = 0, deliveries = 0
var digests = Set<UInt64>()
var deliveriesPerNode = [Int](repeating: 0, count: options.nodes.count)
for subscriber in 0..<options.subscriberCount {
    let record = ledger.subscribers[subscriber]
    duplicates += record.duplicates
    reordered += record.reordered
    foreign += record.foreign
    closedEarly += record.closedEarly ? 1 : 0
    deliveries += record.received
    deliveriesPerNode[subscriber / options.subscribersPerNode] += record.received
    digests.insert(record.digest)
}
if missing > 0 { failures.append("\(missing) deliveries of acknowledged messages are missing") }
if unexpected > 0 { failures.append("\(unexpected) deliveries of messages that were refused (503) or never sent") }
if inconsistent > 0 { failures.append("\(inconsistent) messages of unknown outcome (504) reached some subscribers and not others") }
if duplicates > 0 { failures.append("\(duplicates) duplicate deliveries") }
if reordered > 0 { failures.append("\(reordered) messages arrived before an earlier one of their publisher") }
if foreign > 0 { failures.append("\(foreign) messages that are not room-check's") }
if closedEarly > 0 { failures.append("\(closedEarly) subscribers were closed during the run") }
if digests.count > 1 { failures.append("subscribers saw \(digests.count) different orders") }

// The one order must be the sequence order of the 202s (when every delivered message has one).
var orderMatchesSequence: Bool?
let acknowledged = (0..<messageSlots).filter { ledger.outcomes[$0] == .acknowledged }
let sequences = acknowledged.map { ledger.sequences[$0] }
let numbered = sequences.contains { $0 != 0 }  // a node without a room backend answers 202 without "seq"
if numbered && (Set(sequences).count != sequences.count || sequences.contains(0)) {
    failures.append("two acknowledgements carried the same sequence, or one carried none")
} else if numbered && unknownDelivered == 0 && options.subscriberCount > 0 {
    var digest: UInt64 = 0xcbf2_9ce4_8422_2325
    for id in acknowledged.sorted(by: { ledger.sequences[$0] < ledger.sequences[$1] }) {
        var value = UInt64(id)
        for _ in 0..<4 {
            digest = (digest ^ (value & 0xFFFF)) &* 0x100_0000_01b3
            value >>= 16
        }
    }
    orderMatchesSequence = digests == [digest]
    if orderMatchesSequence == false { failures.append("the subscribers' order is not the order of the sequences in the 202s") }
}

var latency = LatencyHistogram()
for histogram in ledger.histograms { latency.merge(histogram.pointee) }
let seconds = Double(drainEnd - publishStart) / 1e9
let publishSeconds = Double(publishEnd - publishStart) / 1e9
let serverCPU = zip(cpuStart, cpuEnd).map { $1 - $0 }
let redisCPU = zip([redisCPUStart].compactMap { $0 }, [redisCPUEnd].compactMap { $0 }).map { $1 - $0 }.first
func fixed(_ value: Double, _ digits: Int = 3) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
}
func milliseconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 }

let passed = failures.isEmpty
var lines = [
    "nodes \(options.nodes.count), subscribers \(options.subscriberCount), publishers \(options.publisherCount), room \(options.room)",
    "publishes \(options.messages) at \(fixed(options.rate, 0))/s over \(fixed(publishSeconds, 2)) s: acknowledged \(outcomeCounts[.acknowledged] ?? 0), refused (503) \(outcomeCounts[.refused] ?? 0), unknown (504) \(outcomeCounts[.unknown] ?? 0) (\(unknownDelivered) of them delivered), other \(outcomeCounts[.otherStatus] ?? 0), never sent \(outcomeCounts[.notSent] ?? 0)",
    "deliveries \(deliveries) of \(expected) acknowledged x subscribers, \(fixed(Double(deliveries) / max(seconds, 1e-9), 0))/s; missing \(missing), unexpected \(unexpected), duplicates \(duplicates), reordered \(reordered)",
    "orders seen \(digests.count); the order of the 202s' sequences: \(orderMatchesSequence.map { $0 ? "yes" : "no" } ?? (numbered ? "not checked (504s delivered)" : "not checked (no sequences)"))",
    "latency p50 \(fixed(milliseconds(latency.percentile(50)))) ms, p99 \(fixed(milliseconds(latency.percentile(99)))) ms, max \(fixed(milliseconds(latency.max))) ms",
]
for (node, cpu) in serverCPU.enumerated() {
    let perDelivery = deliveriesPerNode[node] > 0 ? cpu / Double(deliveriesPerNode[node]) * 1e6 : 0
    lines.append("node \(options.nodeNames[node]): CPU \(fixed(cpu, 2)) s, \(fixed(perDelivery)) µs per delivery (\(deliveriesPerNode[node]) deliveries)")
}
if let redisCPU { lines.append("redis CPU \(fixed(redisCPU, 2)) s, \(fixed(redisCPU / Double(max(1, outcomeCounts[.acknowledged] ?? 0)) * 1e6)) µs per publish") }
lines.append(passed ? "PASSED" : "FAILED: " + failures.joined(separator: "; "))
print(lines.joined(separator: "\n"))

if let path = options.jsonPath {
    let cpuEntries = serverCPU.enumerated().map { node, cpu in
        "{\"node\":\"\(options.nodeNames[node])\",\"cpuSeconds\":\(fixed(cpu, 3)),\"deliveries\":\(deliveriesPerNode[node]),\"microsecondsPerDelivery\":\(deliveriesPerNode[node] > 0 ? fixed(cpu / Double(deliveriesPerNode[node]) * 1e6) : "null")}"
    }
    let json = """
    {"nodes":\(options.nodes.count),"subscribers":\(options.subscriberCount),"publishers":\(options.publisherCount),\
    "messages":\(options.messages),"rate":\(options.rate),"acknowledged":\(outcomeCounts[.acknowledged] ?? 0),\
    "refused":\(outcomeCounts[.refused] ?? 0),"unknown":\(outcomeCounts[.unknown] ?? 0),"unknownDelivered":\(unknownDelivered),\
    "deliveries":\(deliveries),"expectedDeliveries":\(expected),"missing":\(missing),"unexpected":\(unexpected),\
    "duplicates":\(duplicates),"reordered":\(reordered),"orders":\(digests.count),\
    "orderMatchesSequence":\(orderMatchesSequence.map { "\($0)" } ?? "null"),"publishSeconds":\(fixed(publishSeconds)),\
    "seconds":\(fixed(seconds)),"deliveriesPerSecond":\(fixed(Double(deliveries) / max(seconds, 1e-9), 0)),\
    "latencyMs":{"p50":\(fixed(milliseconds(latency.percentile(50)))),"p99":\(fixed(milliseconds(latency.percentile(99)))),"max":\(fixed(milliseconds(latency.max)))},\
    "servers":[\(cpuEntries.joined(separator: ","))],"redisCpuSeconds":\(redisCPU.map { fixed($0) } ?? "null"),\
    "passed":\(passed),"failures":[\(failures.map { "\"" + String($0.map { $0 == "\"" || $0 == "\\" ? "'" : $0 }) + "\"" }.joined(separator: ","))]}

    """
    guard let file = fopen(path, "w") else { say("cannot write \(path)"); exit(3) }
    fputs(json, file)
    fclose(file)
}
exit(passed ? 0 : 1)
