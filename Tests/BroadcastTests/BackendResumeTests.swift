import Broadcast
import Reactor
import Synchronization
import XCTest

/// Resumes on a process whose rooms a backend numbers elsewhere (Redis): a client that comes
/// from another node, where it may have seen more than this node has yet.
private let steady = ConnectionID(slot: 1, generation: 1), mover = ConnectionID(slot: 2, generation: 1)

final class BackendResumeTests: XCTestCase {
    /// A room with a member here, where the backend stands at 100 and 101, 102 came since.
    private func feed(loops: Int = 1) throws -> (Harness, ScriptedBackend) {
        let (harness, backend) = try Harness.scripted(loops: loops)
        harness.on(0) { rooms, _ in _ = rooms.subscribe(steady, to: "feed") }
        harness.settle()
        backend.send([.synchronized(room: "feed", lastSequence: 100), backend.message("feed", 101, "m101"),
                      backend.message("feed", 102, "m102")], for: "feed")
        harness.settle()
        return (harness, backend)
    }

    /// What a resume was told, once it was.
    private final class Outcome: Sendable {
        private let told = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        var result: LoopBroadcaster.ResumeResult? { told.withLock { $0 } }
        func tell(_ result: LoopBroadcaster.ResumeResult) { told.withLock { $0 = result } }
    }

    private func resume(_ harness: Harness, on loop: Int, after: UInt64) -> Outcome {
        let outcome = Outcome()
        harness.on(loop) { rooms, _ in _ = rooms.subscribe(mover, to: "feed", resumeAfter: after, resumed: outcome.tell) }
        harness.settle()
        return outcome
    }

    /// The client saw 103 on another node; here the room has released up to 102 (103 is still
    /// on its way). It is neither told the room started over nor sent 103 again: its resume
    /// waits until the room gets there, and asks the backend where it stands meanwhile.
    func testAResumeAheadOfThisProcessWaitsForTheRoomToGetThere() throws {
        let (harness, backend) = try feed()
        let outcome = resume(harness, on: 0, after: 103)
        XCTAssertNil(outcome.result, "nothing to answer yet")
        XCTAssertEqual(backend.listened.withLock { $0 }, ["feed", "feed"], "a synchronization is asked for")
        backend.send([backend.message("feed", 103, "m103"), backend.message("feed", 104, "m104")], for: "feed")
        harness.settle()
        XCTAssertEqual(outcome.result, .resumed(replayed: 0, lastSequence: 103))
        XCTAssertEqual(harness.on(0) { _, sink in sink.received[mover]?.messages }, ["m104"], "it had 103 already")
        XCTAssertEqual(harness.on(0) { _, sink in sink.received[steady]?.messages }, ["m101", "m102", "m103", "m104"])
    }

    /// The synchronization says the backend is past the resume: what this process lacks is
    /// fetched, and the member, on another loop than the room's home, gets what follows its 103.
    func testAResumeAheadIsAnsweredOnceTheRoomIsFilledToWhereTheBackendStands() throws {
        let (harness, backend) = try feed(loops: 2)
        let away = 1 - harness.broadcaster.homeLoop(of: "feed")
        let outcome = resume(harness, on: away, after: 103)
        backend.send([.synchronized(room: "feed", lastSequence: 105)], for: "feed")
        harness.settle()
        let fill = try XCTUnwrap(backend.fetches.withLock { $0.last })
        XCTAssertEqual([fill.after, fill.through], [102, 105])
        XCTAssertNil(outcome.result)
        backend.send([.fetched(room: "feed", request: fill.request, messages: backend.numbered("feed", 103...105), complete: true)],
                     for: "feed")
        harness.settle()
        XCTAssertTrue(waitUntil { outcome.result != nil })
        XCTAssertEqual(outcome.result, .resumed(replayed: 2, lastSequence: 105))
        XCTAssertEqual(harness.on(away) { _, sink in sink.received[mover]?.messages }, ["m104", "m105"])
    }

    /// The synchronization says the backend is below the resume: the room started over there
    /// (Redis lost its data), and the member is told the room's last sequence, as before.
    func testAResumeAheadOfTheBackendIsToldWhereTheRoomStands() throws {
        let (harness, backend) = try feed()
        let outcome = resume(harness, on: 0, after: 150)
        backend.send([.synchronized(room: "feed", lastSequence: 102)], for: "feed")
        harness.settle()
        XCTAssertEqual(outcome.result, .resumed(replayed: 0, lastSequence: 102))
    }

    /// A backend that never says where it stands holds the resume a bounded time (two periodic
    /// checks, 2 to 4 s); then it is answered as the room stands here.
    func testAResumeAheadIsAnsweredWhenTheRoomDoesNotGetThereInTime() throws {
        let (harness, _) = try feed()
        let outcome = resume(harness, on: 0, after: 103)
        XCTAssertNil(outcome.result)
        XCTAssertTrue(waitUntil(seconds: 10) { outcome.result != nil })
        XCTAssertEqual(outcome.result, .resumed(replayed: 0, lastSequence: 102))
    }
}
