import Glibc
import Reactor
import Synchronization

// The reactor's own write and read paths, over real sockets (Unix socket pairs), so the gate sees
// what `Connections` costs around the system calls: corking, the vectored write, the read into the
// loop's buffer and the handler call. The kernel's share is not counted (callgrind sees user space).
//
// write: one shared 70-byte frame to each of 1,000 connections, one `write(slices:)` each, as
//        the broadcaster delivers (one iteration is one pass delivering to all of them).
// echo:  100 connections each receive one 32-byte message and write it back; one iteration is
//        one pass in which all 100 are read and echoed.

extension Benchmark {
    static var socketBenchmarks: [Benchmark] {
        [
            Benchmark(
                name: "write-1000-sockets",
                operation: "write one shared 70-byte frame to each of 1,000 connections (one sendmsg each)",
                itemsPerIteration: 1000, item: "write", gateIterations: 64,
                prepare: { SocketPairs(count: 1000, mode: .write).workload() }),
            Benchmark(
                name: "echo-100-sockets",
                operation: "read a 32-byte message on each of 100 connections and echo it",
                itemsPerIteration: 100, item: "echo", gateIterations: 256,
                prepare: { SocketPairs(count: 100, mode: .echo).workload() }),
        ]
    }
}

/// `count` socket pairs: one end of each adopted by a `Connections` on a one-loop group, the
/// other (the peer) written and read by the benchmark, from the same loop, so the sequence of
/// passes and readiness reports is the same in every run.
private final class SocketPairs: Sendable {
    enum Mode { case write, echo }

    static let messageSize = 32
    /// The write benchmark empties the peers every this many passes (their socket buffers hold that).
    static let drainInterval = 16

    final class State {
        let connections: Connections<RawHandler>
        let ids: [ConnectionID]
        let peers: [Int32]
        let frame: SharedBuffer
        let scratch: UnsafeMutableRawBufferPointer
        var passes = 0
        /// Echo: messages went out in the last pass and their echoes wait at the peers.
        var awaitingEchoes = false
        var checksum: UInt64 = 0

        init(connections: Connections<RawHandler>, ids: [ConnectionID], peers: [Int32], frame: SharedBuffer) {
            self.connections = connections
            self.ids = ids
            self.peers = peers
            self.frame = frame
            scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
        }

        deinit { scratch.deallocate() }
    }

    let mode: Mode
    let group: EventLoopGroup
    private let state: LoopBound<State>
    private let peers: [Int32]
    private let result = Atomic<UInt64>(0)

    init(count: Int, mode: Mode) {
        self.mode = mode
        group = try! EventLoopGroup(loopCount: 1)
        let made = Mutex<LoopBound<State>?>(nil)
        group.onEveryLoop { loop in
            let connections = Connections(loop: loop, handler: RawHandler(echoes: mode == .echo))
            var ids: [ConnectionID] = []
            var peers: [Int32] = []
            for _ in 0..<count {
                var pair: [Int32] = [0, 0]
                guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0,
                      let connection = connections.adopt(pair[0]) else {
                    fatalError("micro-bench: \(SystemError("socketpair")); raise ulimit -n")
                }
                ids.append(connection.id)
                peers.append(pair[1])
            }
            // A WebSocket text frame: 2 bytes of header, 68 of payload.
            let frame = SharedBuffer(Array(repeating: 0x61, count: 70))
            frame.base.storeBytes(of: 0x81, as: UInt8.self)
            frame.base.storeBytes(of: 68, toByteOffset: 1, as: UInt8.self)
            made.withLock { $0 = LoopBound(State(connections: connections, ids: ids, peers: peers, frame: frame), loop: loop) }
        }
        state = made.withLock { $0! }
        let state = state
        let peers = Mutex<[Int32]>([])
        group.onEveryLoop { _ in peers.withLock { $0 = state.value.peers } }
        self.peers = peers.withLock { $0 }
        _ = run(passes: 2)  // the first passes size what is sized lazily
    }

    func workload() -> Workload {
        Workload(run: { iterations in self.run(passes: iterations) }, tearDown: {
            self.group.shutdown()
            for peer in self.peers { close(peer) }
        })
    }

    /// Runs `count` passes, one task per pass, each posting the next; returns a checksum of what
    /// the peers read.
    func run(passes count: Int) -> UInt64 {
        let done = Reactor.Semaphore()
        state.loop.execute { self.pass(remaining: count, done: done) }
        done.wait()
        return result.load(ordering: .relaxed)
    }

    private func pass(remaining: Int, done: Reactor.Semaphore) {
        let state = self.state.value
        switch mode {
        case .write: writeToAll(state)
        case .echo: echoRound(state, last: remaining == 0)
        }
        guard remaining > 0 else {
            result.store(state.checksum, ordering: .relaxed)
            done.signal()
            return
        }
        self.state.loop.execute { self.pass(remaining: remaining - 1, done: done) }
    }

    private func writeToAll(_ state: State) {
        var slice = SharedSlice(state.frame, start: 0, end: state.frame.count)
        withUnsafeMutablePointer(to: &slice) { pointer in
            let slices = UnsafeBufferPointer(start: pointer, count: 1)
            for id in state.ids { state.connections.connection(id)!.write(slices: slices) }
        }
        state.passes += 1
        if state.passes % Self.drainInterval == 0 { drainPeers(state, expecting: Self.drainInterval * state.frame.count) }
    }

    /// Reads what the previous pass echoed, then (unless it is the last) sends the next messages.
    private func echoRound(_ state: State, last: Bool) {
        if state.awaitingEchoes { drainPeers(state, expecting: Self.messageSize) }
        state.awaitingEchoes = !last
        state.passes += 1
        guard !last else { return }
        state.scratch.storeBytes(of: UInt64(state.passes), as: UInt64.self)
        for peer in state.peers {
            guard send(peer, state.scratch.baseAddress!, Self.messageSize, Int32(MSG_NOSIGNAL)) == Self.messageSize else {
                fatalError("micro-bench: \(SystemError("send"))")
            }
        }
    }

    private func drainPeers(_ state: State, expecting count: Int) {
        for peer in state.peers {
            let received = recv(peer, state.scratch.baseAddress!, state.scratch.count, 0)
            guard received == count else { fatalError("micro-bench: a peer read \(received) bytes, expected \(count)") }
            state.checksum &+= UInt64(state.scratch.load(as: UInt8.self))
        }
    }
}
