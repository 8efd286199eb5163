import Glibc
import Reactor
import Synchronization

/// Closed-loop echo client: each connection keeps one message in flight.
final class LoadHandler: ConnectionHandler, Sendable {
    struct Context: ConnectionContext { var received = 0 }
    let message: [UInt8]
    let replies = Atomic<Int>(0)
    let opened = Atomic<Int>(0)

    init(size: Int) { message = [UInt8](repeating: 0x61, count: size) }

    func connectionOpened(_ connection: Connection<LoadHandler>) {
        opened.add(1, ordering: .relaxed)
        connection.write(message)
    }

    func connection(_ connection: Connection<LoadHandler>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        connection.context.received += bytes.count
        while connection.context.received >= message.count {
            connection.context.received -= message.count
            replies.add(1, ordering: .relaxed)
            connection.write(message)
        }
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<LoadHandler>, reason: CloseReason) {
        if reason != .shutdown { StandardError.write("reactor-bench: connection closed: \(reason)") }
    }
}

func load(_ arguments: Arguments) throws {
    let count = arguments.int("-c", default: 100)
    let seconds = arguments.int("-d", default: 5)
    let size = arguments.int("-s", default: 64)
    let address = try SocketAddress(host: arguments.host, port: arguments.int("--port", default: 0))
    let group = try EventLoopGroup(loopCount: arguments.threads, io: arguments.io)
    let handlers = Mutex<[LoadHandler]>([])
    group.onEveryLoop { loop in
        let handler = LoadHandler(size: size)
        handlers.withLock { $0.append(handler) }
        let connections = Connections(loop: loop, handler: handler)
        let share = count / group.loops.count + (loop.index < count % group.loops.count ? 1 : 0)
        for _ in 0..<share {
            do { _ = try connections.connect(to: address) } catch { StandardError.write("reactor-bench: \(error)") }
        }
    }
    let all = handlers.withLock { $0 }
    func total() -> Int { all.reduce(0) { $0 + $1.replies.load(ordering: .relaxed) } }
    usleep(500_000)  // warm-up
    let serverPID = arguments["--server-pid"]
    let startReplies = total(), startCPU = processCPUSeconds(), startServerCPU = serverPID.map { processCPUSeconds($0) } ?? 0
    let start = monotonicNanoseconds()
    sleep(UInt32(seconds))
    let elapsed = Double(monotonicNanoseconds() - start) / 1e9
    let messages = Double(total() - startReplies)
    let clientCPU = processCPUSeconds() - startCPU
    let opened = all.reduce(0) { $0 + $1.opened.load(ordering: .relaxed) }
    var report = "connections \(opened)/\(count)  size \(size) B  messages/s \(Int(messages / elapsed))  client CPU \(format1(clientCPU / elapsed * 100))%"
    if let serverPID {
        let serverCPU = processCPUSeconds(serverPID) - startServerCPU
        report += "  server CPU \(format1(serverCPU / elapsed * 100))%  server µs/message \(format2(serverCPU * 1e6 / messages))"
    }
    print(report)
    group.shutdown()
}

func format1(_ value: Double) -> String { String(Double(Int(value * 10)) / 10) }
func format2(_ value: Double) -> String { String(Double(Int(value * 100)) / 100) }
