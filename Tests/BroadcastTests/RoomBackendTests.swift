import Broadcast
import Reactor
import Synchronization
import XCTest

/// A backend that numbers rooms elsewhere, played by the test: it records
/// what the broadcaster asks of it, and the test answers as Redis would,
/// through `Broadcaster.handle(_:onLoop:)`.
final class ScriptedBackend: RoomBackend {
    struct Publish {
        let room: String
        let message: BroadcastMessage
        let exclusion: Exclusion
        let completion: PublishCompletion?
    }

    struct Fetch: Equatable {
        let room: String
        let after: UInt64
        let through: UInt64
        let request: UInt64
    }

    let publishes = Mutex<[Publish]>([])
    let listened = Mutex<[String]>([])
    let stopped = Mutex<[String]>([])
    let fetches = Mutex<[Fetch]>([])
    private let attached = Mutex<Broadcaster?>(nil)

    var numbersLocally: Bool { false }

    func attach(to broadcaster: Broadcaster) { attached.withLock { $0 = broadcaster } }

    func publish(_ message: BroadcastMessage, to room: String, excluding exclusion: Exclusion, after lastSequence: UInt64,
                 completion: PublishCompletion?) -> UInt64? {
        publishes.withLock { $0.append(Publish(room: room, message: message, exclusion: exclusion, completion: completion)) }
        return nil
    }

    func listen(to room: String) { listened.withLock { $0.append(room) } }
    func stopListening(to room: String) { stopped.withLock { $0.append(room) } }

    func fetch(_ room: String, after: UInt64, through: UInt64, request: UInt64) {
        fetches.withLock { $0.append(Fetch(room: room, after: after, through: through, request: request)) }
    }

    func statusJSON() -> String? { "{\"kind\":\"scripted\"}" }

    /// Sends `events` to the home loop of `room`, as the backend's loop would.
    func send(_ events: [RoomBackendEvent], for room: String) {
        let broadcaster = attached.withLock { $0! }
        broadcaster.handle(events, onLoop: broadcaster.homeLoop(of: room))
    }

    func message(_ room: String, _ sequence: UInt64, _ text: String, excluding exclusion: Exclusion = Exclusion()) -> RoomBackendEvent {
        .message(NumberedMessage(room: room, sequence: sequence, message: BroadcastMessage(text: text), exclusion: exclusion))
    }

    func numbered(_ room: String, _ sequences: ClosedRange<UInt64>) -> [NumberedMessage] {
        sequences.map { NumberedMessage(room: room, sequence: $0, message: BroadcastMessage(text: "m\($0)")) }
    }
}

extension Harness {
    /// A harness whose rooms `ScriptedBackend` numbers.
    static func scripted(loops: Int = 2, formats: WireFormatRegistry = WireFormatRegistry(),
                         adjust: (inout BroadcastConfiguration) -> Void = { _ in }) throws -> (Harness, ScriptedBackend) {
        let backend = ScriptedBackend()
        var configuration = BroadcastConfiguration()
        configuration.backend = backend
        adjust(&configuration)
        return (try Harness(loops: loops, configuration: configuration, formats: formats), backend)
    }
}

final class RoomBackendTests: XCTestCase {
    private func harness(loops: Int = 2) throws -> (Harness, ScriptedBackend) {
        try Harness.scripted(loops: loops)
    }

    func testTheLocalBackendNumbersOnTheHomeLoopAndAnswersOnThePublishersLoop() throws {
        let harness = try Harness(loops: 2)
        let home = harness.broadcaster.homeLoop(of: "local")
        let away = 1 - home
        let answers = Mutex<[(UInt64, Bool)]>([])
        let loop = harness.group.loops[away]
        harness.on(away) { rooms, _ in
            XCTAssertTrue(rooms.publishesAreNumberedHere)
            for _ in 0..<3 {
                rooms.publish(BroadcastMessage(text: "x"), to: "local") { result in
                    answers.withLock { $0.append(((try? result.get()) ?? 0, loop.inEventLoop)) }
                }
            }
        }
        XCTAssertTrue(waitUntil { answers.withLock { $0.count } == 3 })
        XCTAssertEqual(answers.withLock { $0.map(\.0) }, [1, 2, 3])
        XCTAssertEqual(answers.withLock { $0.map(\.1) }, [true, true, true], "answered on the publisher's loop")
    }

    func testAPublishGoesToTheBackendAndItsAnswerComesBackOnThePublishersLoop() throws {
        let (harness, backend) = try harness()
        let away = 1 - harness.broadcaster.homeLoop(of: "chat")
        let loop = harness.group.loops[away]
        let answer = Mutex<(Result<UInt64, PublishError>, Bool)?>(nil)
        let sender = SubscriberID(loop: away, connection: ConnectionID(slot: 9, generation: 1))
        harness.on(away) { rooms, _ in
            XCTAssertFalse(rooms.publishesAreNumberedHere)
            rooms.publish(BroadcastMessage(text: "hi"), to: "chat", excluding: Exclusion(subscriber: sender)) { result in
                answer.withLock { $0 = (result, loop.inEventLoop) }
            }
        }
        XCTAssertTrue(waitUntil { backend.publishes.withLock { $0.count } == 1 })
        let publish = try XCTUnwrap(backend.publishes.withLock { $0.first })
        XCTAssertEqual(publish.room, "chat")
        XCTAssertEqual(publish.exclusion.subscriber, sender)
        // Nothing is delivered or numbered before the backend has numbered it.
        XCTAssertEqual(harness.broadcaster.statistics()["chat"]?.published ?? 0, 0)
        publish.completion?(.failure(.unavailable("Redis is down")))
        XCTAssertTrue(waitUntil { answer.withLock { $0 } != nil })
        XCTAssertEqual(answer.withLock { $0?.0 }, .failure(.unavailable("Redis is down")))
        XCTAssertEqual(answer.withLock { $0?.1 }, true)
    }

    /// A graceful shutdown waits for this process's publishes to come back before it closes:
    /// each counts until it failed, or its numbered message was appended (the answer and the
    /// message may come in either order).
    func testAPublishIsInFlightUntilItFailedOrItsMessageIsBack() throws {
        let (harness, backend) = try harness()
        let home = harness.broadcaster.homeLoop(of: "chat")
        let member = ConnectionID(slot: 1, generation: 1)
        harness.on(1 - home) { rooms, _ in _ = rooms.subscribe(member, to: "chat") }
        harness.settle()
        backend.send([.synchronized(room: "chat", lastSequence: 0)], for: "chat")
        harness.on(1 - home) { rooms, _ in rooms.publish(BroadcastMessage(text: "m1"), to: "chat") }
        XCTAssertTrue(waitUntil { backend.publishes.withLock { $0.count } == 1 })
        XCTAssertEqual(harness.broadcaster.publishesInFlight, 1)
        backend.publishes.withLock { $0[0] }.completion?(.success(1))  // the answer first
        harness.settle()
        XCTAssertEqual(harness.broadcaster.publishesInFlight, 1, "numbered, not yet back for the members here")
        backend.send([backend.message("chat", 1, "m1")], for: "chat")
        harness.settle()
        XCTAssertEqual(harness.broadcaster.publishesInFlight, 0)
        XCTAssertEqual(harness.on(1 - home) { _, sink in sink.received[member]?.messages }, ["m1"])

        harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "lost"), to: "chat") }
        harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: "nobody here"), to: "elsewhere") }
        XCTAssertTrue(waitUntil { backend.publishes.withLock { $0.count } == 3 })
        XCTAssertEqual(harness.broadcaster.publishesInFlight, 2)
        backend.publishes.withLock { $0[1] }.completion?(.failure(.outcomeUnknown("the connection was lost")))
        backend.publishes.withLock { $0[2] }.completion?(.success(7))  // a room this process does not listen to
        XCTAssertTrue(waitUntil { harness.broadcaster.publishesInFlight == 0 })
    }

    func testTheHomeLoopListensWhileTheProcessHasMembers() throws {
        let (harness, backend) = try harness()
        let home = harness.broadcaster.homeLoop(of: "lobby")
        let away = 1 - home
        let a = ConnectionID(slot: 1, generation: 1), b = ConnectionID(slot: 2, generation: 1)
        let first = harness.on(away) { rooms, _ in rooms.subscribe(a, to: "lobby") }
        let second = harness.on(home) { rooms, _ in rooms.subscribe(b, to: "lobby") }
        harness.settle()
        XCTAssertEqual(backend.listened.withLock { $0 }, ["lobby"], "once for the process, not per loop")
        harness.on(home) { rooms, _ in rooms.unsubscribe(b, second) }
        harness.settle()
        XCTAssertEqual(backend.stopped.withLock { $0 }, [], "a member is left on another loop")
        harness.on(away) { rooms, _ in rooms.unsubscribe(a, first) }
        harness.settle()
        XCTAssertEqual(backend.stopped.withLock { $0 }, ["lobby"])
    }

    /// Messages numbered elsewhere reach the members of every loop once each, in
    /// sequence order, whatever order they arrive in; a gap is fetched.
    func testNumberedMessagesAreDeliveredInOrderOnceEach() throws {
        let (harness, backend) = try harness()
        let members = (0..<2).map { loop in (loop, ConnectionID(slot: 1, generation: 1)) }
        for (loop, member) in members { harness.on(loop) { rooms, _ in _ = rooms.subscribe(member, to: "feed") } }
        harness.settle()
        backend.send([.synchronized(room: "feed", lastSequence: 10)], for: "feed")
        backend.send([backend.message("feed", 11, "m11"), backend.message("feed", 13, "m13"), backend.message("feed", 11, "m11"),
                      backend.message("feed", 14, "m14")], for: "feed")
        harness.settle()
        XCTAssertEqual(backend.fetches.withLock { $0.map { [$0.after, $0.through] } }, [[11, 12]])
        let request = try XCTUnwrap(backend.fetches.withLock { $0.first?.request })
        backend.send([.fetched(room: "feed", request: request, messages: backend.numbered("feed", 12...12), complete: true)], for: "feed")
        backend.send([backend.message("feed", 15, "m15")], for: "feed")
        harness.settle()
        for (loop, member) in members {
            XCTAssertEqual(harness.on(loop) { _, sink in sink.received[member]?.messages }, ["m11", "m12", "m13", "m14", "m15"])
        }
        let home = harness.broadcaster.homeLoop(of: "feed")
        XCTAssertEqual(harness.on(home) { rooms, _ in rooms.lastSequence(of: "feed") }, 15)
        XCTAssertEqual(harness.on(home) { rooms, _ in rooms.sequencing.duplicates }, 1)
        XCTAssertEqual(harness.on(home) { rooms, _ in rooms.sequencing.fills }, 1)
        XCTAssertEqual(harness.broadcaster.statistics()["feed"]?.encoded, 5, "each message encoded once for the process")
    }

    /// A process that begins listening mid-stream starts where the room stands; a member
    /// resuming from before that gets the older messages from the backend, then the rest.
    func testAResumeOlderThanTheProcessHistoryIsAnsweredFromTheBackend() throws {
        let (harness, backend) = try harness()
        let home = harness.broadcaster.homeLoop(of: "news")
        let away = 1 - home
        let steady = ConnectionID(slot: 1, generation: 1), mover = ConnectionID(slot: 2, generation: 1)
        harness.on(away) { rooms, _ in _ = rooms.subscribe(steady, to: "news") }
        harness.settle()
        // Held until the backend says where the room stands: 100 messages were published before.
        backend.send([backend.message("news", 101, "m101")], for: "news")
        backend.send([.synchronized(room: "news", lastSequence: 100), backend.message("news", 102, "m102")], for: "news")
        harness.settle()
        XCTAssertEqual(harness.on(away) { _, sink in sink.received[steady]?.messages }, ["m101", "m102"])
        // A client that moved here from another process saw up to 97.
        let outcome = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        harness.on(away) { rooms, _ in
            _ = rooms.subscribe(mover, to: "news", resumeAfter: 97) { result in outcome.withLock { $0 = result } }
        }
        harness.settle()
        XCTAssertEqual(backend.fetches.withLock { $0.map { [$0.after, $0.through] } }, [[97, 100]], "what is older than the history")
        // Live messages go on while the backend answers; they must not overtake the replay.
        backend.send([backend.message("news", 103, "m103")], for: "news")
        harness.settle()
        let request = try XCTUnwrap(backend.fetches.withLock { $0.first?.request })
        backend.send([.fetched(room: "news", request: request, messages: backend.numbered("news", 98...100), complete: true)], for: "news")
        backend.send([backend.message("news", 104, "m104")], for: "news")
        harness.settle()
        XCTAssertTrue(waitUntil { outcome.withLock { $0 } != nil })
        XCTAssertEqual(outcome.withLock { $0 }, .resumed(replayed: 6, lastSequence: 103))
        XCTAssertEqual(harness.on(away) { _, sink in sink.received[mover]?.messages },
                       ["m98", "m99", "m100", "m101", "m102", "m103", "m104"])
        XCTAssertEqual(harness.on(away) { _, sink in sink.received[steady]?.messages }, ["m101", "m102", "m103", "m104"])
    }

    func testAResumeTheBackendCannotServeIsAGap() throws {
        let (harness, backend) = try harness(loops: 1)
        backend.send([.synchronized(room: "old", lastSequence: 0)], for: "old")  // not listening yet: ignored
        let outcome = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        harness.on(0) { rooms, _ in
            _ = rooms.subscribe(ConnectionID(slot: 1, generation: 1), to: "old", resumeAfter: 5) { result in outcome.withLock { $0 = result } }
        }
        harness.settle()
        backend.send([.synchronized(room: "old", lastSequence: 500)], for: "old")
        harness.settle()
        let request = try XCTUnwrap(backend.fetches.withLock { $0.first })
        XCTAssertEqual([request.after, request.through], [5, 500])
        // The stream was trimmed: it keeps 401 onwards.
        backend.send([.fetched(room: "old", request: request.request, messages: backend.numbered("old", 401...500), complete: true)],
                     for: "old")
        XCTAssertTrue(waitUntil { outcome.withLock { $0 } != nil })
        XCTAssertEqual(outcome.withLock { $0 }, .gapTooOld(oldestAvailable: 401, lastSequence: 500))
    }

    /// An exclusion carried by a numbered message leaves out that subscriber of this process.
    func testExclusionsOfNumberedMessagesApply() throws {
        let (harness, backend) = try harness(loops: 1)
        let sender = ConnectionID(slot: 1, generation: 1), other = ConnectionID(slot: 2, generation: 1)
        harness.on(0) { rooms, _ in
            _ = rooms.subscribe(sender, to: "talk")
            _ = rooms.subscribe(other, to: "talk")
        }
        harness.settle()
        backend.send([.synchronized(room: "talk", lastSequence: 0),
                      backend.message("talk", 1, "mine", excluding: Exclusion(subscriber: SubscriberID(loop: 0, connection: sender))),
                      backend.message("talk", 2, "theirs")], for: "talk")
        harness.settle()
        XCTAssertEqual(harness.on(0) { _, sink in sink.received[sender]?.messages }, ["theirs"])
        XCTAssertEqual(harness.on(0) { _, sink in sink.received[other]?.messages }, ["mine", "theirs"])
    }

    /// Nothing waits forever on an answer that did not come: a room left unsynchronized is
    /// listened to again, a gap whose fill failed or was never answered is asked for again, by
    /// the periodic check.
    func testARoomLeftWaitingIsAskedForAgain() throws {
        let (harness, backend) = try harness(loops: 1)
        let member = ConnectionID(slot: 1, generation: 1)
        harness.on(0) { rooms, _ in _ = rooms.subscribe(member, to: "stuck") }
        harness.settle()
        XCTAssertEqual(backend.listened.withLock { $0 }, ["stuck"])
        // The backend's answer to the listen was lost (Redis answered LOADING, say).
        XCTAssertTrue(waitUntil(seconds: 10) { backend.listened.withLock { $0.count } >= 2 }, "listened to again")
        backend.send([.synchronized(room: "stuck", lastSequence: 0), backend.message("stuck", 1, "m1"), backend.message("stuck", 3, "m3")],
                     for: "stuck")
        harness.settle()
        let first = try XCTUnwrap(backend.fetches.withLock { $0.first })
        backend.send([.fetchFailed(room: "stuck", request: first.request, reason: "LOADING")], for: "stuck")
        XCTAssertTrue(waitUntil(seconds: 10) { backend.fetches.withLock { $0.count } >= 2 }, "the fill is asked for again")
        let again = try XCTUnwrap(backend.fetches.withLock { $0.last })
        XCTAssertEqual([again.after, again.through], [1, 2])
        backend.send([.fetched(room: "stuck", request: again.request, messages: backend.numbered("stuck", 2...2), complete: true)],
                     for: "stuck")
        harness.settle()
        XCTAssertEqual(harness.on(0) { _, sink in sink.received[member]?.messages }, ["m1", "m2", "m3"])
        // A fill whose answer never comes (lost with its connection, say) is asked again.
        backend.send([backend.message("stuck", 5, "m5")], for: "stuck")
        XCTAssertTrue(waitUntil { backend.fetches.withLock { $0.count } == 3 })
        XCTAssertTrue(waitUntil(seconds: 10) { backend.fetches.withLock { $0.count } >= 4 }, "the unanswered fill is asked again")
        let last = try XCTUnwrap(backend.fetches.withLock { $0.last })
        XCTAssertEqual([last.after, last.through], [3, 4])
        backend.send([.fetched(room: "stuck", request: last.request, messages: backend.numbered("stuck", 4...4), complete: true)],
                     for: "stuck")
        harness.settle()
        XCTAssertEqual(harness.on(0) { _, sink in sink.received[member]?.messages }, ["m1", "m2", "m3", "m4", "m5"])
    }

    /// The backend restarted without its data: the room starts over and its history goes.
    func testARoomStartsOverWhenTheBackendWentBack() throws {
        let (harness, backend) = try harness(loops: 1)
        let member = ConnectionID(slot: 1, generation: 1)
        harness.on(0) { rooms, _ in _ = rooms.subscribe(member, to: "r") }
        harness.settle()
        backend.send([.synchronized(room: "r", lastSequence: 0)] + (1...5).map { backend.message("r", $0, "old\($0)") }, for: "r")
        backend.send([.reconnected, backend.message("r", 1, "new1"), .synchronized(room: "r", lastSequence: 1),
                      backend.message("r", 2, "new2")], for: "r")
        harness.settle()
        XCTAssertEqual(harness.on(0) { _, sink in sink.received[member]?.messages }, ["old1", "old2", "old3", "old4", "old5", "new1", "new2"])
        XCTAssertEqual(harness.on(0) { rooms, _ in rooms.lastSequence(of: "r") }, 2)
        XCTAssertEqual(harness.on(0) { rooms, _ in rooms.sequencing.startedOver }, 1)
        // Its history is the new numbering's only.
        let outcome = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        harness.on(0) { rooms, _ in
            _ = rooms.subscribe(ConnectionID(slot: 2, generation: 1), to: "r", resumeAfter: 0) { result in outcome.withLock { $0 = result } }
        }
        harness.settle()
        XCTAssertEqual(outcome.withLock { $0 }, .resumed(replayed: 2, lastSequence: 2))
    }
}
