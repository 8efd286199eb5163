@testable import Broadcast
import Reactor
import Synchronization
import WebSocketCodec
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

    // MARK: Replays from the backend, by format

    private func quotes(_ room: String, _ sequences: ClosedRange<UInt64>) -> [NumberedMessage] {
        sequences.map { NumberedMessage(room: room, sequence: $0, message: BroadcastMessage(text: quote(Int($0)))) }
    }

    /// Messages from the backend are deflated once for the room, like local ones; a resume the
    /// backend answers is deflated for its permessage-deflate member, and those deflates count.
    func testABackendReplayToADeflateMemberIsDeflatedAndCounted() throws {
        var formats = WireFormatRegistry()
        let deflate = formats.register(WebSocketDeflateEncoder())
        let (harness, backend) = try Harness.scripted(loops: 2, formats: formats)
        for index in 0..<2 { harness.on(index) { _, sink in sink.inflater = MessageInflater.sharedPerLoop() } }
        let a = ConnectionID(slot: 5, generation: 1), b = ConnectionID(slot: 6, generation: 1)
        harness.on(0) { rooms, _ in _ = rooms.subscribe(a, to: "q", format: deflate) }
        harness.on(1) { rooms, _ in _ = rooms.subscribe(b, to: "q", format: deflate) }
        harness.settle()
        backend.send([.synchronized(room: "q", lastSequence: 50)] + quotes("q", 51...55).map { .message($0) }, for: "q")
        harness.settle()
        for (index, member) in [(0, a), (1, b)] {
            let received = harness.on(index) { _, sink in sink.received[member] }
            XCTAssertEqual(received?.messages, (51...55).map { quote($0) })
            XCTAssertEqual(received?.compressed, 5)
        }
        XCTAssertEqual(harness.broadcaster.statistics()["q"]?.deflated, 5, "once per message")
        // From before this node's history: 48...50 come from the backend.
        let away = 1 - harness.broadcaster.homeLoop(of: "q")
        let outcome = Outcome()
        harness.on(away) { rooms, _ in _ = rooms.subscribe(mover, to: "q", format: deflate, resumeAfter: 47, resumed: outcome.tell) }
        harness.settle()
        let fetch = try XCTUnwrap(backend.fetches.withLock { $0.last })
        XCTAssertEqual([fetch.after, fetch.through], [47, 50])
        backend.send([.fetched(room: "q", request: fetch.request, messages: quotes("q", 48...50), complete: true)], for: "q")
        harness.settle()
        XCTAssertTrue(waitUntil { outcome.result != nil })
        let received = harness.on(away) { _, sink in sink.received[mover] }
        XCTAssertEqual(received?.messages, (48...55).map { quote($0) })
        XCTAssertEqual(received?.compressed, 8, "the replayed ones deflated too")
        XCTAssertEqual(harness.broadcaster.statistics()["q"]?.deflated, 8, "and counted")
    }

    /// A plain member resuming from the backend, in a room that also has deflate members: its
    /// replay is made in its format only, and the home loop's compressor does nothing for it.
    func testABackendReplayIsEncodedInTheResumingMembersFormatOnly() throws {
        var formats = WireFormatRegistry()
        let deflate = formats.register(WebSocketDeflateEncoder())
        let (harness, backend) = try Harness.scripted(loops: 1, formats: formats)
        harness.on(0) { _, sink in sink.inflater = MessageInflater.sharedPerLoop() }
        harness.on(0) { rooms, _ in _ = rooms.subscribe(steady, to: "q", format: deflate) }
        harness.settle()
        backend.send([.synchronized(room: "q", lastSequence: 100)] + quotes("q", 101...101).map { .message($0) }, for: "q")
        harness.settle()
        let deflatesBefore = harness.on(0) { rooms, _ in rooms.compressor?.compressedCount }
        XCTAssertEqual(deflatesBefore, 1)
        for slot in 0..<3 {
            let resumer = ConnectionID(slot: UInt32(10 + slot), generation: 1)
            harness.on(0) { rooms, _ in _ = rooms.subscribe(resumer, to: "q", resumeAfter: 50) }
            harness.settle()
            let fetch = try XCTUnwrap(backend.fetches.withLock { $0.last })
            backend.send([.fetched(room: "q", request: fetch.request, messages: quotes("q", 51...100), complete: true)], for: "q")
            harness.settle()
            let received = harness.on(0) { _, sink in sink.received[resumer] }
            XCTAssertEqual(received?.messages, (51...101).map { quote($0) })
            XCTAssertEqual(received?.compressed, 0)
        }
        XCTAssertEqual(harness.on(0) { rooms, _ in rooms.compressor?.compressedCount }, deflatesBefore, "none of them reads deflated frames")
        XCTAssertEqual(harness.broadcaster.statistics()["q"]?.deflated, 1)
    }
}
