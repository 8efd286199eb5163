import Broadcast
import Synchronization

/// A room backend that numbers elsewhere (as Redis does) and answers publishes when the test
/// says so: what a server does while its publishes are in the backend's hands.
final class HeldAnswerBackend: RoomBackend {
    let completions = Mutex<[PublishCompletion]>([])
    let messages = Mutex<[BroadcastMessage]>([])
    private let attached = Mutex<Broadcaster?>(nil)

    var numbersLocally: Bool { false }
    func attach(to broadcaster: Broadcaster) { attached.withLock { $0 = broadcaster } }

    func publish(_ message: BroadcastMessage, to room: String, excluding exclusion: Exclusion, after lastSequence: UInt64,
                 completion: PublishCompletion?) -> UInt64? {
        messages.withLock { $0.append(message) }
        if let completion { completions.withLock { $0.append(completion) } }
        return nil
    }

    /// As the backend would: events for `room`, to its home loop.
    func send(_ events: [RoomBackendEvent], for room: String) {
        let broadcaster = attached.withLock { $0! }
        broadcaster.handle(events, onLoop: broadcaster.homeLoop(of: room))
    }

    /// Answers the publish made `index`-th.
    func answer(_ index: Int, _ result: Result<UInt64, PublishError>) {
        let completion = completions.withLock { $0[index] }
        completion(result)
    }

    func listen(to room: String) {}
    func stopListening(to room: String) {}
    func fetch(_ room: String, after: UInt64, through: UInt64, request: UInt64) {}
    func statusJSON() -> String? { nil }
}
