import Glibc
import Reactor
import Synchronization
import WebSocketCodec

// The reactor's own write and read paths, over real sockets (Unix socket pairs), so the gate sees
// what `Connections` costs around the system calls: corking, the vectored write (epoll) or the
// queued send requests (io_uring), the read into the loop's buffer or a provided buffer, and the
// handler call. The kernel's share is not counted (callgrind sees user space). Each runs on both
// backends; the names without a suffix are epoll's.
//
// write: one shared 70-byte frame to each of 1,000 connections, one `write(slices:)` each, as
//        the broadcaster delivers (one iteration is one pass delivering to all of them).
// echo:  100 connections each receive one 32-byte message and write it back; one iteration is
//        one pass in which all 100 are read and echoed.
// WebSocket echo: the same with what echo-server does to a message: a masked 32-byte text frame
//        read (header, unmask, UTF-8) and a 34-byte frame written back; per echoed message.

extension Benchmark {
    static var socketBenchmarks: [Benchmark] {
        [IOBackend.epoll, .uring].flatMap { io in
            let suffix = io == .epoll ? "" : "-uring"
            let on = io == .epoll ? "epoll" : "io_uring"
            return [
                Benchmark(
                    name: "write-1000-sockets" + suffix,
                    operation: "write one shared 70-byte frame to each of 1,000 connections (\(on))",
                    itemsPerIteration: 1000, item: "write", gateIterations: 64,
                    prepare: { SocketPairs(count: 1000, mode: .write, io: io).workload() }),
                Benchmark(
                    name: "echo-100-sockets" + suffix,
                    operation: "read a 32-byte message on each of 100 connections and echo it (\(on))",
                    itemsPerIteration: 100, item: "echo", gateIterations: 256,
                    prepare: { SocketPairs(count: 100, mode: .echo, io: io).workload() }),
                Benchmark(
                    name: "echo-100-websockets" + suffix,
                    operation: "read a masked 32-byte text frame on each of 100 connections and echo it as a frame (\(on))",
                    itemsPerIteration: 100, item: "echoed message", gateIterations: 256,
                    prepare: { SocketPairs(count: 100, mode: .webSocketEcho, io: io).workload() }),
            ]
        }
    }
}

/// `count` socket pairs: one end of each adopted by a `Connections` on a one-loop group, the
/// other (the peer) written and read by the benchmark, from the same loop, so the sequence of
/// passes and readiness reports (or completions) is the same in every run.
private final class SocketPairs: Sendable {
    enum Mode { case write, echo, webSocketEcho }

    static let messageSize = 32
    /// The write benchmark empties the peers every this many passes (their socket buffers hold that).
    static let drainInterval = 16

    final class State {
        let connections: Connections<RawHandler>
        let ids: [ConnectionID]
        let peers: [Int32]
        let frame: SharedBuffer
        let scratch: UnsafeMutableRawBufferPointer
        /// Echo: what one peer sends, and what comes back.
        let request: [UInt8]
        let replySize: Int
        // The harness's own state, on the loop only: unchecked, so what it costs per echo stays small
        // beside what is measured.
        @exclusivity(unchecked) var passes = 0
        /// Echo: the peers (by index) whose echo of the round's message has not come back yet.
        @exclusivity(unchecked) var unanswered: [Int] = []
        @exclusivity(unchecked) var checksum: UInt64 = 0

        init(connections: Connections<RawHandler>, ids: [ConnectionID], peers: [Int32], frame: SharedBuffer, mode: Mode) {
            self.connections = connections
            self.ids = ids
            self.peers = peers
            self.frame = frame
            scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
            let payload = [UInt8](repeating: 0x61, count: SocketPairs.messageSize)
            if mode == .webSocketEcho {
                request = FrameEncoder.frame(opcode: .text, payload: payload, maskKey: MaskKey(wireValue: 0x3712_9a5c))
                replySize = FrameEncoder.headerSize(payloadLength: payload.count, masked: false) + payload.count
            } else {
                request = payload
                replySize = payload.count
            }
        }

        deinit { scratch.deallocate() }
    }

    let mode: Mode
    let group: EventLoopGroup
    private let state: LoopBound<State>
    private let peers: [Int32]
    private let result = Atomic<UInt64>(0)

    init(count: Int, mode: Mode, io: IOBackend) {
        self.mode = mode
        group = try! EventLoopGroup(loopCount: 1, io: io)
        let made = Mutex<LoopBound<State>?>(nil)
        group.onEveryLoop { loop in
            let echo: RawHandler.Echo = switch mode {
            case .write: .none
            case .echo: .bytes
            case .webSocketEcho: .webSocketFrames
            }
            let connections = Connections(loop: loop, handler: RawHandler(echo: echo))
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
            made.withLock { $0 = LoopBound(State(connections: connections, ids: ids, peers: peers, frame: frame, mode: mode), loop: loop) }
        }
        state = made.withLock { $0! }
        let state = state
        let peers = Mutex<[Int32]>([])
        group.onEveryLoop { _ in peers.withLock { $0 = state.value.peers } }
        self.peers = peers.withLock { $0 }
        _ = run(2)  // the first passes size what is sized lazily
    }

    func workload() -> Workload {
        Workload(run: { iterations in self.run(iterations) }, tearDown: {
            self.group.shutdown()
            for peer in self.peers { close(peer) }
        })
    }

    /// Runs `count` iterations, one task per pass, each posting the next; returns a checksum of
    /// what the peers read. Write: an iteration is one pass. Echo: it is one round, a message to
    /// every peer and all their echoes back, which takes one pass on epoll (read and echoed in
    /// the pass after the send) and four on io_uring (the echoes' sends are submitted by the
    /// next wait, and a wait runs only part of the receives' deferred work: 20, then 40, then 40).
    func run(_ count: Int) -> UInt64 {
        let done = Reactor.Semaphore()
        state.loop.execute { self.pass(remaining: count, done: done) }
        done.wait()
        return result.load(ordering: .relaxed)
    }

    private func pass(remaining: Int, done: Reactor.Semaphore) {
        let state = self.state.value
        var left = remaining  // iterations left after this pass
        if mode == .write || collectEchoes(state) {
            if remaining == 0 {
                result.store(state.checksum, ordering: .relaxed)
                done.signal()
                return
            }
            if mode == .write { writeToAll(state) } else { sendRound(state) }
            left -= 1
        }
        let next = left
        self.state.loop.execute { self.pass(remaining: next, done: done) }
    }

    private func writeToAll(_ state: State) {
        // Before this pass writes: what the earlier passes wrote has left on either backend.
        if state.passes > 0 && state.passes % Self.drainInterval == 0 {
            drainPeers(state, expecting: Self.drainInterval * state.frame.count)
        }
        var slice = SharedSlice(state.frame, start: 0, end: state.frame.count)
        withUnsafeMutablePointer(to: &slice) { pointer in
            let slices = UnsafeBufferPointer(start: pointer, count: 1)
            for id in state.ids { state.connections.connection(id)!.write(slices: slices) }
        }
        state.passes += 1
    }

    /// Reads the echoes that are back; true once every peer has its echo of the round's message.
    private func collectEchoes(_ state: State) -> Bool {
        var index = 0
        while index < state.unanswered.count {
            let peer = state.peers[state.unanswered[index]]
            let received = recv(peer, state.scratch.baseAddress!, state.scratch.count, Int32(MSG_DONTWAIT))
            if received == state.replySize {
                state.checksum &+= UInt64(state.scratch.load(as: UInt8.self))
                state.unanswered.swapAt(index, state.unanswered.count - 1)
                state.unanswered.removeLast()
            } else if received < 0 && errno == EAGAIN {
                index += 1
            } else {
                fatalError("micro-bench: a peer read \(received) bytes, expected \(state.replySize) or nothing yet")
            }
        }
        return state.unanswered.isEmpty
    }

    /// Sends the next message from every peer.
    private func sendRound(_ state: State) {
        state.request.withUnsafeBytes { request in
            for (index, peer) in state.peers.enumerated() {
                guard send(peer, request.baseAddress!, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
                    fatalError("micro-bench: \(SystemError("send"))")
                }
                state.unanswered.append(index)
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
