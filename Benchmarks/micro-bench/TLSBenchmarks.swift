import Glibc
import Reactor
import Synchronization

// The TLS write path against plain TCP, the same shape for both: 100 loopback TCP connections,
// and in each pass every connection gets ten shared 70-byte frames in one `write(slices:)`, as a
// subscriber gets its frames of a pass. Over TLS that is one SSL_write sealing 700 bytes into one
// record, then one sendmsg. The peers are not TLS-read: their ciphertext is drained raw, so only
// the server side's work is counted.

extension Benchmark {
    static var tlsBenchmarks: [Benchmark] {
        [false, true].map { secure in
            Benchmark(
                name: secure ? "write-100-tls-sockets" : "write-100-tcp-sockets",
                operation: "ten shared 70-byte frames in one write to each of 100 \(secure ? "TLS" : "TCP") connections",
                itemsPerIteration: 100, item: "write", gateIterations: 64,
                prepare: { LoopbackPairs(count: 100, secure: secure).workload() })
        }
    }
}

/// `count` loopback connections on a one-loop group: the accepted ends (TLS servers when `secure`)
/// are written to, the connecting ends only hold the other side.
private final class LoopbackPairs: Sendable {
    static let framesPerWrite = 10
    static let frameSize = 70
    /// Passes between two drains of the peers (their socket buffers hold that).
    static let drainInterval = 16

    final class State {
        let servers: Connections<RawHandler>
        let clients: Connections<RawHandler>
        let frames: SharedBuffer
        let slices: [SharedSlice]
        let scratch: UnsafeMutableRawBufferPointer
        var passes = 0
        var checksum: UInt64 = 0

        init(servers: Connections<RawHandler>, clients: Connections<RawHandler>, frames: SharedBuffer) {
            self.servers = servers
            self.clients = clients
            self.frames = frames
            slices = (0..<LoopbackPairs.framesPerWrite).map {
                SharedSlice(frames, start: $0 * LoopbackPairs.frameSize, end: ($0 + 1) * LoopbackPairs.frameSize)
            }
            scratch = .allocate(byteCount: 64 * 1024, alignment: 16)
        }

        deinit { scratch.deallocate() }
    }

    let group: EventLoopGroup
    private let state: LoopBound<State>
    private let certificate: SelfSignedCertificate?
    private let result = Atomic<UInt64>(0)

    init(count: Int, secure: Bool) {
        certificate = secure ? try! SelfSignedCertificate() : nil
        let serverTLS = try! certificate.map { try TLSContext.server(TLSConfiguration(certificates: [$0.pair])) }
        let clientTLS = secure ? try! TLSContext.client(serverName: "localhost", verifiesPeer: false) : nil
        group = try! EventLoopGroup(loopCount: 1, io: .epoll)  // as the servers run TLS (and the baseline was taken)
        let listening = try! Listener.bind(SocketAddress(host: "127.0.0.1", port: 0))
        let address = try! SocketAddress(localAddressOf: listening)
        let made = Mutex<LoopBound<State>?>(nil)
        group.onEveryLoop { loop in
            let servers = Connections(loop: loop, handler: RawHandler(echo: .none), tls: serverTLS)
            // The clients pause reading at once: their bytes are drained raw, never decrypted.
            let clients = Connections(loop: loop, handler: RawHandler(echo: .none, pausesReading: true), tls: clientTLS)
            _ = Listener(loop: loop, descriptor: listening) { servers.adopt($0) }
            for _ in 0..<count { _ = try! clients.connect(to: address) }
            let frames = SharedBuffer(capacity: Self.framesPerWrite * Self.frameSize)
            for index in 0..<frames.capacity { frames.base.storeBytes(of: UInt8(truncatingIfNeeded: index), toByteOffset: index, as: UInt8.self) }
            frames.count = frames.capacity
            made.withLock { $0 = LoopBound(State(servers: servers, clients: clients, frames: frames), loop: loop) }
        }
        state = made.withLock { $0! }
        let state = state
        // The connections (and their handshakes) are made over the loop's next passes.
        let deadline = monotonicNanoseconds() + 30_000_000_000
        while true {
            let ready = Mutex(false)
            group.onEveryLoop { _ in ready.withLock { $0 = state.value.servers.handler.ids.count == count && state.value.clients.handler.ids.count == count } }
            if ready.withLock({ $0 }) { break }
            precondition(monotonicNanoseconds() < deadline, "micro-bench: the loopback connections did not open")
            usleep(10_000)
        }
        _ = run(passes: Self.drainInterval)  // the first passes size what is sized lazily
    }

    func workload() -> Workload {
        Workload(run: { iterations in self.run(passes: iterations) }, tearDown: {
            self.group.shutdown()
            self.certificate?.remove()
        })
    }

    func run(passes count: Int) -> UInt64 {
        let done = Reactor.Semaphore()
        state.loop.execute { self.pass(remaining: count, done: done) }
        done.wait()
        return result.load(ordering: .relaxed)
    }

    private func pass(remaining: Int, done: Reactor.Semaphore) {
        let state = self.state.value
        guard remaining > 0 else {
            result.store(state.checksum, ordering: .relaxed)
            done.signal()
            return
        }
        state.slices.withUnsafeBufferPointer { slices in
            for id in state.servers.handler.ids { state.servers.connection(id)!.write(slices: slices) }
        }
        state.passes += 1
        if state.passes % Self.drainInterval == 0 { drainPeers(state) }
        self.state.loop.execute { self.pass(remaining: remaining - 1, done: done) }
    }

    /// Reads what the peers hold, raw (ciphertext over TLS), until each is empty.
    private func drainPeers(_ state: State) {
        for id in state.clients.handler.ids {
            let descriptor = state.clients.connection(id)!.descriptor
            while true {
                let received = recv(descriptor, state.scratch.baseAddress!, state.scratch.count, Int32(MSG_DONTWAIT))
                guard received > 0 else { break }
                state.checksum &+= UInt64(received)
            }
        }
    }
}
