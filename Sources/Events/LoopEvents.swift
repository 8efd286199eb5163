import Reactor

/// The events layer's part on one loop: the sweep that times out the replies
/// its sockets wait for (one timer per loop, never one per reply).
final class LoopEvents {
    let eventLoop: EventLoop
    /// Sockets waiting for a reply.
    private var waiting: [ObjectIdentifier: SocketState] = [:]
    private var sweeping = false
    let sweepInterval: UInt64

    init(eventLoop: EventLoop, sweepInterval: UInt64) {
        self.eventLoop = eventLoop
        self.sweepInterval = sweepInterval
    }

    func waitForReply(_ socket: SocketState) {
        waiting[ObjectIdentifier(socket)] = socket
        guard !sweeping else { return }
        sweeping = true
        eventLoop.scheduleRepeating(every: sweepInterval) { [unowned self] in sweep() }
    }

    func forget(_ socket: SocketState) {
        waiting[ObjectIdentifier(socket)] = nil
    }

    private func sweep() {
        let now = eventLoop.now
        for (key, socket) in waiting {
            let expired = socket.pendingAcks.filter { $0.value.deadline <= now }
            for (id, pending) in expired.sorted(by: { $0.key < $1.key }) {
                socket.pendingAcks[id] = nil
                pending.callback(.failure(.timedOut))
            }
            if socket.pendingAcks.isEmpty { waiting[key] = nil }
        }
    }
}
