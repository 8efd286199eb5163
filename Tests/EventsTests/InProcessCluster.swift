import Broadcast
import Synchronization

/// Rooms that span the servers of this process, numbered here as Redis numbers them (RedisRooms):
/// each server's room backend is a node of the cluster (`node()`). A publish on any node reaches
/// the room's home loop on every node that listens, in order; the subscriber it leaves out is
/// kept on its own node only, as a subscriber id means nothing on another.
final class InProcessCluster: Sendable {
    fileprivate struct Entry {
        let message: BroadcastMessage
        let exclusion: Exclusion
        let origin: ObjectIdentifier
    }

    private struct State {
        /// Each room's messages; the sequence of one is its position, from 1.
        var logs: [String: [Entry]] = [:]
        var listeners: [String: [Node]] = [:]
    }

    private let state = Mutex(State())

    /// A room backend for one server.
    func node() -> Node { Node(cluster: self) }

    final class Node: RoomBackend {
        private let cluster: InProcessCluster
        private let attached = Mutex<Broadcaster?>(nil)
        /// While true, published messages do not reach this node (still on their way, as through
        /// a slow pub/sub); it finds them in the log when it fills a gap.
        let missesMessages = Atomic<Bool>(false)

        fileprivate init(cluster: InProcessCluster) { self.cluster = cluster }

        var numbersLocally: Bool { false }
        func attach(to broadcaster: Broadcaster) { attached.withLock { $0 = broadcaster } }

        func publish(_ message: BroadcastMessage, to room: String, excluding exclusion: Exclusion, after lastSequence: UInt64,
                     completion: PublishCompletion?) -> UInt64? {
            let sequence = cluster.publish(Entry(message: message, exclusion: exclusion, origin: ObjectIdentifier(self)), to: room)
            completion?(.success(sequence))
            return nil
        }

        func listen(to room: String) { cluster.listen(self, to: room) }
        func stopListening(to room: String) { cluster.stopListening(self, to: room) }
        func fetch(_ room: String, after: UInt64, through: UInt64, request: UInt64) { cluster.fetch(room, after: after, through: through, request: request, for: self) }
        func statusJSON() -> String? { nil }

        /// To the room's home loop on this node.
        fileprivate func tell(_ event: RoomBackendEvent, about room: String) {
            let broadcaster = attached.withLock { $0! }
            broadcaster.handle([event], onLoop: broadcaster.homeLoop(of: room))
        }

        /// What this node makes of an entry: the subscriber left out only if it is one of its own.
        fileprivate func numbered(_ entry: Entry, _ sequence: UInt64, in room: String) -> NumberedMessage {
            let exclusion = entry.origin == ObjectIdentifier(self) ? entry.exclusion : Exclusion(membersOf: entry.exclusion.membersOf)
            return NumberedMessage(room: room, sequence: sequence, message: entry.message, exclusion: exclusion)
        }
    }

    // Under the lock, so every node hears of a room's messages in order.

    private func publish(_ entry: Entry, to room: String) -> UInt64 {
        state.withLock { state in
            state.logs[room, default: []].append(entry)
            let sequence = UInt64(state.logs[room]!.count)
            for node in state.listeners[room] ?? [] where !node.missesMessages.load(ordering: .relaxed) {
                node.tell(.message(node.numbered(entry, sequence, in: room)), about: room)
            }
            return sequence
        }
    }

    private func listen(_ node: Node, to room: String) {
        state.withLock { state in
            if !(state.listeners[room] ?? []).contains(where: { $0 === node }) { state.listeners[room, default: []].append(node) }
            node.tell(.synchronized(room: room, lastSequence: UInt64(state.logs[room]?.count ?? 0)), about: room)
        }
    }

    private func stopListening(_ node: Node, to room: String) {
        state.withLock { $0.listeners[room]?.removeAll { $0 === node } }
    }

    private func fetch(_ room: String, after: UInt64, through: UInt64, request: UInt64, for node: Node) {
        state.withLock { state in
            let log = state.logs[room] ?? []
            let range = min(Int(after), log.count)..<min(Int(through), log.count)
            let messages = range.map { node.numbered(log[$0], UInt64($0 + 1), in: room) }
            node.tell(.fetched(room: room, request: request, messages: messages, complete: true), about: room)
        }
    }
}
