import Glibc
import Reactor
import Synchronization
import WebSocketCodec

/// `wsbench --receive-benchmark [--frames N] [--size BYTES] [--per-read N] [--scenario broadcast|sse|events]`
/// (hidden; `Benchmarks/client-receive.sh` runs it): how fast the receive
/// path takes server frames, with no kernel under it. wsbench must outrun
/// the server it measures, so this is the client's own ceiling.
///
/// It measures the live code, not a copy: a real `LoadGenerator` on a real
/// loop, one subscriber adopted from a socketpair (no byte ever crosses it)
/// and established through the same `established` as a live handshake, and
/// each batch handed to `connection(_:received:)`, the callback the reactor
/// calls after `recv`, from the loop's own receive buffer. The frames are
/// what echo-server sends a subscriber: unmasked binary frames with a valid
/// header and consecutive sequence numbers (sse: an SSE subscriber's chunks,
/// one `data:` event each; events: text frames, each a room packet whose
/// `message` event carries the text message); every one is tracked, counted
/// and timed into the histogram, and the counts are checked at the end.
enum ReceiveBenchmark {
    static let flag = "--receive-benchmark"

    struct Options: Equatable {
        var frames = 100_000_000
        var size = 64
        /// Frames handed over per call; 0: as many as fill the reactor's receive buffer.
        var perRead = 0
        /// broadcast (binary frames), sse (event stream chunks) or events (room packets).
        var scenario = Scenario.broadcast
    }

    static let usage = "Usage: wsbench --receive-benchmark [--frames N] [--size BYTES (24-65535; sse, events: 44-65535)] [--per-read N] "
        + "[--scenario broadcast|sse|events]"

    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var options = Options()
        var index = 0
        while index < arguments.count {
            let name = arguments[index]
            guard index + 1 < arguments.count else { throw UsageError("\(name) needs a value") }
            let value = arguments[index + 1]
            index += 2
            switch name {
            case "--frames":
                guard let frames = Int(value), frames > 0 else { throw UsageError("--frames needs a positive integer, got '\(value)'") }
                options.frames = frames
            case "--size", "-s":
                guard let size = parseSize(value), (MessageHeader.size...65535).contains(size) else {
                    throw UsageError("--size needs \(MessageHeader.size)-65535 bytes, got '\(value)'")
                }
                options.size = size
            case "--scenario":
                guard let scenario = Scenario(rawValue: value), [.broadcast, .sse, .events].contains(scenario) else {
                    throw UsageError("--scenario needs broadcast, sse or events, got '\(value)'")
                }
                options.scenario = scenario
            case "--per-read":
                guard let perRead = Int(value), perRead > 0 else { throw UsageError("--per-read needs a positive integer, got '\(value)'") }
                options.perRead = perRead
            default:
                throw UsageError("unknown option \(name)")
            }
        }
        if options.scenario.sendsText && options.size < TextMessageHeader.size {
            throw UsageError("--size needs \(TextMessageHeader.size)-65535 bytes with --scenario \(options.scenario.rawValue), got \(options.size)")
        }
        return options
    }

    struct Result: Sendable {
        var frames: Int
        var framesPerRead: Int
        var wallNanoseconds: UInt64
        var cpuNanoseconds: UInt64
        var received: UInt64
        var timed: UInt64
        var lost: Int64
        var duplicated: UInt64
        var errors: Int

        var framesPerSecond: Double { Double(frames) / max(Double(wallNanoseconds) / 1e9, 1e-9) }
        var nanosecondsPerFrame: Double { Double(cpuNanoseconds) / Double(max(frames, 1)) }
        /// Every frame was taken as a delivery in order and timed.
        var isValid: Bool { received == UInt64(frames) && timed == UInt64(frames) && lost == 0 && duplicated == 0 && errors == 0 }
    }

    static func run(_ options: Options) throws(SystemError) -> Result {
        var benchOptions = BenchOptions(host: "127.0.0.1", port: 9, path: "/room/bench", threads: 1)
        benchOptions.scenario = options.scenario
        benchOptions.connections = 2
        benchOptions.payloadSize = options.size
        let plan = try RunPlan(options: benchOptions)
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let outcome = Mutex<Result?>(nil)
        group.onEveryLoop { loop in
            let result = measure(options, plan: plan, on: loop)
            outcome.withLock { $0 = result }
        }
        guard let result = outcome.withLock({ $0 }) else { throw SystemError("socketpair") }
        return result
    }

    /// On the loop: one subscriber, batches of frames from the receive buffer, the clock around them.
    private static func measure(_ options: Options, plan: RunPlan, on loop: EventLoop) -> Result? {
        let generator = LoadGenerator.start(plan: plan, on: loop)
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0,
              let connection = generator.connections.adopt(pair[0]) else { return nil }
        defer { close(pair[1]) }
        // As a live subscriber: adopted (its upgrade request goes into the socketpair), then established.
        connection.context.role = options.scenario == .sse ? .eventStreamSubscriber : .subscriber
        generator.handshakes[Int(connection.slot)] = nil
        generator.inFlight += 1
        generator.established(connection)
        let row = Int(connection.context.localIndex) * plan.publisherCount

        let start = monotonicNanoseconds()
        generator.beginWindow(SendingWindow(start: start, measureStart: start, end: .max / 2, rate: 1, senderCount: 1,
                                            receiversPerMessage: 1, baseline: [0]))
        let buffer = loop.receiveBuffer
        var used = 0
        var perRead = 0
        while perRead < (options.perRead > 0 ? options.perRead : Int.max) {
            let frame = serverFrame(options, sequence: UInt64(perRead), intendedTime: start)
            guard used + frame.count <= buffer.count else { break }
            frame.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[used..<(used + frame.count)]).copyMemory(from: $0) }
            used += frame.count
            perRead += 1
        }
        let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<used])
        let reads = (options.frames + perRead - 1) / perRead
        var consumedEverything = true

        let cpuStart = threadCPUNanoseconds()
        let wallStart = monotonicNanoseconds()
        for _ in 0..<reads {
            // The same sequence numbers again: the tracker starts over, so each batch is in order.
            generator.trackers[row] = SequenceTracker()
            consumedEverything = generator.connection(connection, received: bytes) == bytes.count && consumedEverything
        }
        let wall = monotonicNanoseconds() - wallStart
        let cpu = threadCPUNanoseconds() - cpuStart

        let statistics = generator.snapshot()
        connection.close()
        return Result(
            frames: reads * perRead, framesPerRead: perRead, wallNanoseconds: wall, cpuNanoseconds: cpu,
            received: statistics.received, timed: statistics.latency.count, lost: statistics.lost,
            duplicated: statistics.duplicated, errors: statistics.errorCount + (consumedEverything ? 0 : 1))
    }

    /// One frame as echo-server sends it to a subscriber: binary with
    /// `MessageHeader` and zero padding; or a text message (a text header,
    /// 'x' padding) as an SSE chunk of one event (sse) or as a text frame
    /// holding the room's packet (events).
    static func serverFrame(_ options: Options, sequence: UInt64, intendedTime: UInt64) -> [UInt8] {
        var message = [UInt8](repeating: 0, count: options.size)
        let fields = MessageHeader.Fields(sender: 0, sequence: sequence, intendedTime: intendedTime)
        guard options.scenario.sendsText else {
            message.withUnsafeMutableBytes { MessageHeader.write(fields, to: $0.baseAddress!) }
            return FrameEncoder.frame(opcode: .binary, payload: message)
        }
        message.withUnsafeMutableBytes { TextMessageHeader.writeMessage(fields, size: options.size, to: $0.baseAddress!) }
        if options.scenario == .sse {
            let event = Array("id: \(sequence + 1)\ndata: ".utf8) + message + [0x0A, 0x0A]
            return Array(String(event.count, radix: 16).utf8) + [0x0D, 0x0A] + event + [0x0D, 0x0A]
        }
        let packet = Array(#"{"seq":\#(sequence + 1),"type":"event","ns":"/","room":"bench","event":"message","args":[""#.utf8)
            + message + Array(#""]}"#.utf8)
        return FrameEncoder.frame(opcode: .text, payload: packet)
    }

    private static func threadCPUNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    static func report(_ result: Result, size: Int, scenario: Scenario = .broadcast) -> String {
        var lines = [
            "wsbench receive benchmark: \(result.frames) frames of \(size) bytes, \(result.framesPerRead) per read, one loop"
                + (scenario == .sse ? ", SSE chunks of one event" : scenario == .events ? ", events room packets" : ""),
            "  \(Format.count(result.framesPerSecond)) frames/s, \(Format.fixed(result.nanosecondsPerFrame, 1)) ns/frame (thread CPU), "
                + "\(Format.fixed(Double(result.wallNanoseconds) / 1e9, 3)) s",
        ]
        lines.append(result.isValid
            ? "  checked: every frame tracked in order and timed"
            : "  INVALID: received \(result.received), timed \(result.timed), lost \(result.lost), duplicated \(result.duplicated), errors \(result.errors)")
        return lines.joined(separator: "\n")
    }
}
