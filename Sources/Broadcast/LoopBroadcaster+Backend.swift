import Reactor

// The home loop's side of a backend that numbers rooms elsewhere (one that
// spans processes): it listens to a room while this process has members,
// puts what the backend sends back in order (`Resequencer`), appends it as if
// it had been published here, and answers resumes that reach further back
// than its history from the backend. None of it runs when rooms are numbered
// locally.

/// What putting a backend's messages in order found, on one loop's home rooms.
public struct SequencingStatistics: Sendable, Equatable {
    /// Messages that arrived more than once (live and fetched), dropped.
    public var duplicates = 0
    /// Gaps in what arrived, filled by fetching from the backend.
    public var fills = 0
    /// Resumes that reached further back than this process's history, answered from the backend.
    public var backendReplays = 0
    /// Sequences given up: the backend no longer had them (or never used them).
    public var missed: UInt64 = 0
    /// Times a room started over because the backend's sequence went back.
    public var startedOver = 0

    public init() {}

    public mutating func add(_ other: SequencingStatistics) {
        duplicates += other.duplicates
        fills += other.fills
        backendReplays += other.backendReplays
        missed += other.missed
        startedOver += other.startedOver
    }
}

/// A resume waiting on the room's home loop for the room to be synchronized, for
/// messages older than the history to come from the backend, or for the room to
/// get as far as the resume here.
struct WaitingReplay {
    let after: UInt64
    /// The resuming member's: what comes from the backend is encoded in it alone.
    let format: WireFormat
    /// Ahead of the room here (the client saw `after` on another process, and it is still on
    /// its way to this one): answered once the room gets there, or once a synchronization asked
    /// for since shows the backend below it (the room started over there).
    var ahead = false
    /// Periodic checks that found it still ahead: at `LoopBroadcaster.aheadChecks` it is answered as it stands.
    var checksAhead = 0
    /// The fetch in flight for it, once asked, and the range it covers.
    var request: UInt64?
    /// The fetch found in flight by the last periodic check.
    var requestAtLastCheck: UInt64?
    var through: UInt64 = 0
    /// What came so far (a backend may answer a long range in parts).
    var fetched: [NumberedMessage] = []
    let answer: (LoopBroadcaster.ReplayAnswer) -> Void
}

extension LoopBroadcaster {
    // MARK: Listening

    /// The room has a member in this process: listen to it, starting where the backend stands.
    func listenIfNeeded(_ room: LocalRoom) {
        guard !room.listening else { return }
        room.listening = true
        room.resequencer.reset()
        room.fillRequest = nil
        backend.listen(to: room.name)
    }

    /// The room has no member left in this process: stop listening. A later listen starts afresh.
    func stopListeningIfUnneeded(_ room: LocalRoom) {
        guard room.listening, !room.hasMembersAnywhere else { return }
        room.listening = false
        room.resequencer.reset()
        room.fillRequest = nil
        forgetAwaitedAppends(room)  // no member here to deliver them to
        backend.stopListening(to: room.name)
        // Their members left; answered from what is here, the answers go nowhere.
        let waiting = room.waitingReplays
        room.waitingReplays = []
        for replay in waiting { replay.answer(localReplay(room, after: replay.after)) }
    }

    // MARK: From the backend

    /// Events from the backend for rooms homed on this loop, in the order it sent them.
    func handle(_ events: [RoomBackendEvent]) {
        loop.assertInLoop()
        for event in events {
            switch event {
            case .message(let numbered):
                guard let room = roomsByName[numbered.room], room.listening else { continue }
                apply(room.resequencer.receive(numbered.sequence, numbered), to: room)
            case .synchronized(let name, let lastSequence):
                guard let room = roomsByName[name], room.listening else { continue }
                room.fillRequest = nil
                apply(room.resequencer.synchronize(lastSequence: lastSequence), to: room)
                continueWaitingReplays(room, backendAt: lastSequence)
            case .fetched(let name, let request, let messages, let complete):
                guard let room = roomsByName[name] else { continue }
                if request == room.fillRequest {
                    room.fillRequest = nil
                    apply(room.resequencer.fetched(messages.map { ($0.sequence, $0) }, complete: complete), to: room)
                } else if let index = room.waitingReplays.firstIndex(where: { $0.request == request }) {
                    room.waitingReplays[index].fetched += messages
                    room.waitingReplays[index].request = nil
                    if complete || messages.isEmpty {
                        finishBackendReplay(room, room.waitingReplays.remove(at: index))
                    } else {
                        askForOlder(room, &room.waitingReplays[index], after: messages.last!.sequence)
                    }
                }
            case .fetchFailed(let name, let request, _):
                guard let room = roomsByName[name] else { continue }
                if request == room.fillRequest {
                    room.fillRequest = nil
                    room.resequencer.fetchFailed()
                } else if let index = room.waitingReplays.firstIndex(where: { $0.request == request }) {
                    // Not to be had now: told as a gap, with what this process still holds.
                    let waiting = room.waitingReplays.remove(at: index)
                    sealOpenBatch(room)
                    waiting.answer(ReplayAnswer(entries: [], lastSequence: room.lastSequence, gap: .some(room.history.oldestSequence)))
                }
            case .reconnected:
                for case let room? in roomsByIndex where room.listening && room.home == loop.index {
                    room.resequencer.desynchronize()
                    room.fillRequest = nil
                    for index in room.waitingReplays.indices {
                        room.waitingReplays[index].request = nil
                        room.waitingReplays[index].fetched = []
                    }
                }
            }
        }
    }

    /// How often a loop looks for its rooms left waiting on the backend.
    static let waitingRoomCheckInterval: UInt64 = 2_000_000_000

    /// Nothing is left held for want of an event to move it: a room still waiting for its
    /// synchronization since the last check is listened to again (the backend synchronizes it
    /// again); a fill, or a resume's fetch, still unanswered since the last check is taken for
    /// lost and asked again (a late answer is then ignored); a gap with no fill in flight (the
    /// fill failed) is asked for again.
    func checkWaitingRooms() {
        for case let room? in roomsByIndex where room.listening && room.home == loop.index {
            guard room.resequencer.isSynchronized else {
                if room.unsynchronizedAtLastCheck { backend.listen(to: room.name) }
                room.unsynchronizedAtLastCheck = true
                continue
            }
            room.unsynchronizedAtLastCheck = false
            if let request = room.fillRequest, request == room.fillRequestAtLastCheck {
                room.fillRequest = nil
                room.resequencer.fetchFailed()
            }
            room.fillRequestAtLastCheck = room.fillRequest
            if room.fillRequest == nil { apply(room.resequencer.retry(), to: room) }
            answerResumesAheadTooLong(room)
            for index in room.waitingReplays.indices {
                let waiting = room.waitingReplays[index]
                if let request = waiting.request, request == waiting.requestAtLastCheck {
                    room.waitingReplays[index].fetched = []
                    askForOlder(room, &room.waitingReplays[index], after: waiting.after)
                }
                room.waitingReplays[index].requestAtLastCheck = room.waitingReplays[index].request
            }
        }
    }

    /// Carries out what the resequencer decided.
    private func apply(_ outcome: Resequencer<NumberedMessage>.Outcome, to room: LocalRoom) {
        sequencing.duplicates += outcome.duplicates
        sequencing.missed += outcome.skipped
        if let start = outcome.startsAt, start != room.lastSequence || outcome.startedOver {
            restart(room, at: start, startedOver: outcome.startedOver)
        }
        for (sequence, numbered) in outcome.released {
            if sequence != room.lastSequence + 1 {
                // A gap given up: the next batch starts past it.
                sealOpenBatch(room)
                room.lastSequence = sequence - 1
            }
            append(numbered.message, to: room, exclusion: numbered.exclusion)
        }
        if let fetch = outcome.fetch {
            nextRequest += 1
            room.fillRequest = nextRequest
            sequencing.fills += 1
            backend.fetch(room.name, after: fetch.after, through: fetch.through, request: nextRequest)
        }
        if !room.awaitedAppends.isEmpty { noteAppended(room) }
        if !room.waitingReplays.isEmpty && !outcome.released.isEmpty { answerResumesReached(room) }
    }

    /// The room continues from `start`: what this loop holds of it before no longer leads there.
    private func restart(_ room: LocalRoom, at start: UInt64, startedOver: Bool) {
        sealOpenBatch(room)
        room.history.removeAll()
        room.lastSequence = start
        guard startedOver else { return }
        sequencing.startedOver += 1
        forgetAwaitedAppends(room)  // numbered before the backend lost the room: they never come
        let name = room.name
        lowerFloors(in: name)
        for remote in room.remoteLoops { group.post(to: remote) { $0.lowerFloors(in: name) } }
    }

    /// A room started over: members that had resumed wait for no sequence of the old numbering
    /// (those whose resume is still being answered keep waiting for the answer), and what members
    /// hold back (conflation, rates) goes before anything of the new numbering.
    private func lowerFloors(in name: String) {
        guard let room = roomsByName[name] else { return }
        room.floors = room.floors.filter { $0.value == .max }
        if !room.backlogs.isEmpty { releaseHeldBack(in: room) }
    }

    // MARK: This process's publishes, until they are back

    /// `completion`, wrapped so that the publish counts in `Broadcaster.publishesInFlight` until
    /// it failed, or was numbered and then appended to `room` here (its members get it).
    func trackedUntilAppended(_ room: LocalRoom, _ completion: PublishCompletion?) -> PublishCompletion {
        let group = group, home = loop.index, name = room.name
        group.backendPublishes.add(1, ordering: .relaxed)
        return { result in
            group.post(to: home) { $0.backendAnswered(name, result) }
            completion?(result)
        }
    }

    /// On the home loop: the backend's answer to a publish of this process. Numbered past what
    /// the room has here, it is back once appended; a room not listened to gets nothing back.
    private func backendAnswered(_ name: String, _ result: Result<UInt64, PublishError>) {
        guard case .success(let sequence) = result, let room = roomsByName[name], room.listening,
              sequence > room.lastSequence else {
            group.backendPublishes.subtract(1, ordering: .relaxed)
            return
        }
        room.awaitedAppends.append(sequence)
    }

    /// The room moved on: the publishes numbered up to where it is are back.
    private func noteAppended(_ room: LocalRoom) {
        let waiting = room.awaitedAppends.count
        room.awaitedAppends.removeAll { $0 <= room.lastSequence }
        group.backendPublishes.subtract(waiting - room.awaitedAppends.count, ordering: .relaxed)
    }

    private func forgetAwaitedAppends(_ room: LocalRoom) {
        group.backendPublishes.subtract(room.awaitedAppends.count, ordering: .relaxed)
        room.awaitedAppends = []
    }

    // MARK: Resumes from the backend

    /// A resume this loop's history cannot answer: once the room is synchronized, from the
    /// backend for what is older than the history, then from the history.
    func replayFromBackend(_ room: LocalRoom, after sequence: UInt64, format: WireFormat, answer: @escaping (ReplayAnswer) -> Void) {
        var waiting = WaitingReplay(after: sequence, format: format, answer: answer)
        if room.resequencer.isSynchronized {
            sequencing.backendReplays += 1
            askForOlder(room, &waiting, after: sequence)
        }
        room.waitingReplays.append(waiting)
    }

    /// Asks for the messages after `after` that the history no longer (or does not yet) hold.
    func askForOlder(_ room: LocalRoom, _ waiting: inout WaitingReplay, after: UInt64) {
        nextRequest += 1
        waiting.request = nextRequest
        waiting.through = (room.history.oldestSequence ?? room.lastSequence + 1) - 1
        backend.fetch(room.name, after: after, through: waiting.through, request: nextRequest)
    }

    /// The room is synchronized, the backend at `current`: resumes waiting for that are answered,
    /// go to the backend, or wait for the room to get as far as they are (see `WaitingReplay.ahead`).
    private func continueWaitingReplays(_ room: LocalRoom, backendAt current: UInt64) {
        guard room.resequencer.isSynchronized else { return }
        var index = 0
        while index < room.waitingReplays.count {
            guard room.waitingReplays[index].request == nil, room.waitingReplays[index].fetched.isEmpty else {
                index += 1
                continue
            }
            let after = room.waitingReplays[index].after
            if after > room.lastSequence {
                if current < after {
                    // Not even the backend is there: it started the room over (or the client invents).
                    room.waitingReplays.remove(at: index).answer(localReplay(room, after: after))
                } else {
                    room.waitingReplays[index].ahead = true  // the fill under way brings the room there
                    index += 1
                }
                continue
            }
            if room.history.covers(after: after, lastAssigned: room.lastSequence) {
                room.waitingReplays.remove(at: index).answer(localReplay(room, after: after))
            } else {
                sequencing.backendReplays += 1
                askForOlder(room, &room.waitingReplays[index], after: after)
                index += 1
            }
        }
    }

    /// A resume ahead of the room here: it waits until the room gets there (what the client has
    /// must not come again), and asks the backend where the room stands (a synchronization).
    func waitForRoom(_ room: LocalRoom, toReach sequence: UInt64, format: WireFormat, answer: @escaping (ReplayAnswer) -> Void) {
        room.waitingReplays.append(WaitingReplay(after: sequence, format: format, ahead: true, answer: answer))
        backend.listen(to: room.name)
    }

    /// The room got as far as some resumes ahead of it: answered as any other.
    private func answerResumesReached(_ room: LocalRoom) {
        var index = 0
        while index < room.waitingReplays.count {
            guard room.waitingReplays[index].ahead, room.waitingReplays[index].after <= room.lastSequence else {
                index += 1
                continue
            }
            var waiting = room.waitingReplays.remove(at: index)
            if room.history.covers(after: waiting.after, lastAssigned: room.lastSequence) {
                waiting.answer(localReplay(room, after: waiting.after))
            } else {
                // The room went past the whole history meanwhile: the rest comes from the backend.
                waiting.ahead = false
                sequencing.backendReplays += 1
                askForOlder(room, &waiting, after: waiting.after)
                room.waitingReplays.append(waiting)
            }
        }
    }

    /// Periodic checks that a resume ahead of the room may wait through.
    static let aheadChecks = 2

    /// A resume ahead of the room that it did not reach in time (the backend never got there, or
    /// never said): answered as it stands (the client is told the room's last sequence here).
    private func answerResumesAheadTooLong(_ room: LocalRoom) {
        var index = 0
        while index < room.waitingReplays.count {
            guard room.waitingReplays[index].ahead else {
                index += 1
                continue
            }
            room.waitingReplays[index].checksAhead += 1
            guard room.waitingReplays[index].checksAhead >= Self.aheadChecks else {
                index += 1
                continue
            }
            let waiting = room.waitingReplays.remove(at: index)
            waiting.answer(localReplay(room, after: waiting.after))
        }
    }

    /// What the backend sent, then the history after it: one answer, in order.
    private func finishBackendReplay(_ room: LocalRoom, _ waiting: WaitingReplay) {
        sealOpenBatch(room)
        let fetched = waiting.fetched.filter { $0.sequence > waiting.after && $0.sequence <= waiting.through }
        if waiting.through > waiting.after && fetched.first.map({ $0.sequence > waiting.after + 1 }) ?? true {
            // The backend no longer has the first messages asked for.
            let oldest = fetched.first?.sequence ?? room.history.oldestSequence
            return waiting.answer(ReplayAnswer(entries: [], lastSequence: room.lastSequence, gap: .some(oldest)))
        }
        let continuesAfter = fetched.last?.sequence ?? waiting.after
        guard room.history.covers(after: continuesAfter, lastAssigned: room.lastSequence) else {
            // The history moved on past what was fetched (a busy room): fetch the rest.
            var again = waiting
            again.fetched = fetched
            askForOlder(room, &again, after: continuesAfter)
            room.waitingReplays.append(again)
            return
        }
        var entries = replayBatches(of: fetched, in: room, format: waiting.format)
        if case .messages(let held) = room.history.messages(after: continuesAfter, lastAssigned: room.lastSequence) {
            entries += held.map { ($0.batch, $0.index) }
        }
        waiting.answer(ReplayAnswer(entries: entries, lastSequence: room.lastSequence, gap: nil))
    }

    /// Fetched messages encoded for one member's replay, in its format alone (deflated only for a
    /// permessage-deflate member, and counted), one batch per run of consecutive sequences.
    private func replayBatches(of messages: [NumberedMessage], in room: LocalRoom, format: WireFormat) -> [(Batch, Int)] {
        var formats = WireFormats()
        formats.insert(format)
        var entries: [(Batch, Int)] = []
        var start = 0
        while start < messages.count {
            var end = start + 1
            while end < messages.count && messages[end].sequence == messages[end - 1].sequence + 1 { end += 1 }
            var builder = BatchBuilder(
                room: room.name, firstSequence: messages[start].sequence, formats: formats, encoders: group.formats,
                compressor: compressor(for: formats), initialCapacity: 4096, limit: .max)
            for message in messages[start..<end] {
                if builder.append(message.message, exclusion: message.exclusion) { room.statistics.deflated += 1 }
            }
            let batch = builder.seal()
            entries += (0..<batch.count).map { (batch, $0) }
            start = end
        }
        return entries
    }
}
