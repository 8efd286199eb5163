import Reactor
import WebSocketCodec

/// The broadcaster's part on one loop. Every method runs on that loop.
///
/// A room's home loop (chosen by its name) sequences it: publishes from
/// other loops are forwarded there (one post per destination loop per pass),
/// the home encodes them once per wire format in use into the room's batch,
/// and at the end of the pass sends the sealed batch to each loop with
/// members (one post per loop per pass). Each loop then writes every new
/// batch of a room to each member in one system call. Every member thus gets
/// the room's messages in one order, from the same bytes.
public final class LoopBroadcaster {
    public let loop: EventLoop
    let configuration: BroadcastConfiguration
    unowned let group: Broadcaster

    /// The broadcaster this is a part of (every loop's).
    public var broadcaster: Broadcaster { group }
    /// Where deliveries go, by wire format; set by the server before the
    /// first subscribe. Each lives as long as the loop (the server's handler
    /// for this loop), so it is held without reference counting.
    private var sinks: [UnownedSink?]

    var roomsByName: [String: LocalRoom] = [:]
    /// nil where a forgotten room was; its index is reused.
    var roomsByIndex: [LocalRoom?] = []
    private var freeIndices: [UInt32] = []
    /// Publishes waiting to be forwarded to their rooms' home loops, by loop.
    private var forwards: [[Forward]]
    /// Sealed batches waiting to be posted to other loops, by loop.
    private var outgoing: [[Batch]]
    /// Home rooms with an open batch this pass.
    private var openRooms: [LocalRoom] = []
    /// Rooms with batches to deliver to this loop's members this pass.
    private var deliveryRooms: [LocalRoom] = []
    /// Deflates the messages of this loop's rooms for their permessage-deflate members: one for
    /// every room homed here, made when the first such room has a message to encode.
    private var compressor: DeflateFrameEncoder?
    let slices: UnsafeMutablePointer<SharedSlice>
    // Touched for every member delivered to, only on this loop.
    @exclusivity(unchecked) var sliceCount = 0
    private static let maxSlices = 1024

    /// A resume on the room's own home loop, answered at the end of the pass.
    struct LocalResume {
        let room: String
        let connection: ConnectionID
        let format: WireFormat
        let after: UInt64
        let formerly: SubscriberID?
        let replayEveryCopy: Bool
        let resumed: (@Sendable (ResumeResult) -> Void)?
    }
    private var localResumes: [LocalResume] = []

    // Delivery policies (LoopBroadcaster+Policy.swift).
    /// Options of rooms, kept for rooms made (or made again) later.
    var roomOptions: [String: RoomOptions] = [:]
    /// One member's messages of a delivery, reused from member to member.
    var policyScratch: [MemberBacklog.Entry] = []
    /// Rooms where some member holds messages back for a rate.
    var roomsHoldingBack: Set<UInt32> = []
    var rateSweepScheduled = false

    struct Forward: Sendable {
        let room: String
        let message: BroadcastMessage
        let exclusion: Exclusion
    }

    init(loop: EventLoop, group: Broadcaster, configuration: BroadcastConfiguration) {
        self.loop = loop
        self.group = group
        self.configuration = configuration
        forwards = Array(repeating: [], count: group.loopCount)
        outgoing = Array(repeating: [], count: group.loopCount)
        roomOptions = configuration.roomOptions
        sinks = Array(repeating: nil, count: group.formats.count)
        slices = .allocate(capacity: Self.maxSlices)
        loop.addPreFlushHook { [unowned self] in endOfPass() }
        let idle = configuration.idleRoomTimeout.nanoseconds
        if idle > 0 {
            loop.scheduleRepeating(every: max(idle / 2, 10_000_000)) { [unowned self] in forgetIdleRooms(idleFor: idle) }
        }
    }

    deinit { slices.deallocate() }

    // MARK: Sinks

    /// The sink of every format that has none of its own.
    public var sink: DeliverySink? {
        get { sinks.first??.sink }
        set {
            for index in sinks.indices { sinks[index] = newValue.map(UnownedSink.init) }
        }
    }

    /// Deliveries in `format` go to `sink` (set after `sink`, which sets them all).
    public func setSink(_ sink: DeliverySink, for format: WireFormat) {
        sinks[format.index] = UnownedSink(sink)
    }

    @inline(__always)
    func sink(for format: WireFormat) -> DeliverySink? { sinks[format.index]?.sink }

    // MARK: Rooms

    func room(named name: String) -> LocalRoom {
        if let room = roomsByName[name] {
            room.lastActive = loop.now
            return room
        }
        let index = freeIndices.popLast() ?? UInt32(roomsByIndex.count)
        let room = LocalRoom(
            name: name, index: index, home: group.homeLoop(of: name),
            history: History(maxCount: configuration.historyCount, maxBytes: configuration.historyBytes),
            formatCount: group.formats.count)
        room.lastActive = loop.now
        room.conflates = roomOptions[name]?.conflate ?? false
        roomsByName[name] = room
        if Int(index) == roomsByIndex.count { roomsByIndex.append(room) } else { roomsByIndex[Int(index)] = room }
        return room
    }

    /// Forgets the rooms unused here for `idleFor` nanoseconds. A room that
    /// comes back starts afresh: sequence 1, empty history, zero counters.
    private func forgetIdleRooms(idleFor idle: UInt64) {
        let now = loop.now
        for case let room? in roomsByIndex where room.isUnused && now &- room.lastActive >= idle {
            roomsByName[room.name] = nil
            roomsByIndex[Int(room.index)] = nil
            freeIndices.append(room.index)
        }
    }

    /// The room's index on this loop (what `RoomMembership.room` and `DeliverySink.isMember` use).
    public func roomIndex(of name: String) -> UInt32? { roomsByName[name]?.index }

    public func roomName(at index: UInt32) -> String { roomsByIndex[Int(index)]?.name ?? "" }

    /// Rooms with members on this loop, and how many.
    public func localRooms() -> [(name: String, members: Int)] {
        roomsByIndex.compactMap { $0 }.filter { $0.memberCount > 0 }.map { ($0.name, $0.memberCount) }
    }

    /// The members of a room on this loop, every format.
    public func localMembers(of name: String) -> [ConnectionID] {
        guard let room = roomsByName[name] else { return [] }
        return room.lists.flatMap { $0.members.filter { $0 != MemberList.hole } }
    }

    // MARK: Membership

    /// What a resuming subscriber is told.
    public enum ResumeResult: Sendable, Equatable {
        /// It was sent every message after the sequence it gave (this many);
        /// the room's last sequence then was `lastSequence`.
        case resumed(replayed: Int, lastSequence: UInt64)
        /// Messages after its sequence were no longer held; it gets new ones only.
        case gapTooOld(oldestAvailable: UInt64?, lastSequence: UInt64)
    }

    /// Adds `connection` to `name`, to be sent messages in `format`. With
    /// `resumeAfter`, it is first sent the room's messages after that
    /// sequence from history (in order, before any new one), and `resumed`
    /// reports how that went. The replay leaves out what the member would
    /// not have been sent live: messages sent to several rooms that reach it
    /// through another room it is in now, and, when it says who it was before
    /// it reconnected (`formerly`), the messages that left that subscriber out
    /// (its own, sent to everyone but itself). Memberships now may not be
    /// memberships then: a client that can tell copies apart asks for every
    /// copy (`replayEveryCopy`) and takes one.
    public func subscribe(
        _ connection: ConnectionID, to name: String, format: WireFormat = .webSocket, options: SubscriptionOptions = SubscriptionOptions(),
        resumeAfter: UInt64? = nil, formerly: SubscriberID? = nil, replayEveryCopy: Bool = false,
        resumed: (@Sendable (ResumeResult) -> Void)? = nil
    ) -> RoomMembership {
        loop.assertInLoop()
        let room = room(named: name)
        let formatIsNewHere = room.lists[format.index].count == 0
        let position = room.add(connection, format: format)
        if !options.isDefault { room.options[connection] = options }
        if room.home == loop.index {
            room.formats.insert(format)
        } else if formatIsNewHere {
            let origin = loop.index
            group.post(to: room.home) { $0.interest(in: name, from: origin, format: format) }
        }
        if let sequence = resumeAfter {
            // Until the home answers, nothing reaches this member; after, only what follows the replay.
            room.floors[connection] = .max
            if room.home == loop.index {
                // Answered at the end of this pass, after the pass's batches are sealed and before
                // they are delivered: a posted answer would arrive after them, and they would be
                // skipped for this member without being in its replay.
                localResumes.append(LocalResume(room: name, connection: connection, format: format, after: sequence,
                                                formerly: formerly, replayEveryCopy: replayEveryCopy, resumed: resumed))
            } else {
                let origin = loop.index
                group.post(to: room.home) { home in
                    let answer = home.replay(name, after: sequence)
                    home.group.post(to: origin) {
                        $0.finishResume(name, connection, format, answer, formerly: formerly, replayEveryCopy: replayEveryCopy, resumed)
                    }
                }
            }
        }
        return RoomMembership(room: room.index, position: position, format: format)
    }

    public func unsubscribe(_ connection: ConnectionID, _ membership: RoomMembership) {
        loop.assertInLoop()
        guard Int(membership.room) < roomsByIndex.count, let room = roomsByIndex[Int(membership.room)] else { return }
        guard room.remove(connection, format: membership.format, at: membership.position) else { return }
        room.lastActive = loop.now
        if room.memberCount == 0 && room.home != loop.index {
            let name = room.name, origin = loop.index
            group.post(to: room.home) { $0.noInterest(in: name, from: origin) }
        }
    }

    /// On the home loop: another loop has members in `format` now.
    private func interest(in name: String, from origin: Int, format: WireFormat) {
        let room = room(named: name)
        room.remoteLoops.insert(origin)
        room.formats.insert(format)
    }

    /// On the home loop: another loop lost its last member.
    private func noInterest(in name: String, from origin: Int) {
        roomsByName[name]?.remoteLoops.remove(origin)
    }

    /// On the home loop: the history after `sequence`, as batches and indices.
    private func replay(_ name: String, after sequence: UInt64) -> ReplayAnswer {
        let room = room(named: name)
        // What is still in the open batch is delivered with it, after the replay.
        sealOpenBatch(room)
        switch room.history.messages(after: sequence, lastAssigned: room.lastSequence) {
        case .messages(let entries):
            return ReplayAnswer(entries: entries.map { ($0.batch, $0.index) }, lastSequence: room.lastSequence, gap: nil)
        case .gapTooOld(let oldest):
            return ReplayAnswer(entries: [], lastSequence: room.lastSequence, gap: .some(oldest))
        }
    }

    struct ReplayAnswer: @unchecked Sendable {
        let entries: [(Batch, Int)]
        let lastSequence: UInt64
        /// Set when the gap was too old: the oldest sequence still held, if any.
        let gap: UInt64??
    }

    /// Back on the member's loop: send the replay, then let new messages through.
    private func finishResume(_ name: String, _ connection: ConnectionID, _ format: WireFormat, _ answer: ReplayAnswer,
                              formerly: SubscriberID?, replayEveryCopy: Bool, _ resumed: (@Sendable (ResumeResult) -> Void)?) {
        guard let room = roomsByName[name], room.floors[connection] != nil, let sink = sink(for: format) else { return }  // left meanwhile
        room.floors[connection] = answer.lastSequence
        let me = SubscriberID(loop: loop.index, connection: connection)
        var derived: [ObjectIdentifier: Encoding] = [:]
        var replayed = 0
        for (batch, index) in answer.entries {
            if let exclusion = batch.exclusion(of: index) {
                let wasLeftOut = formerly != nil && exclusion.subscriber == formerly
                // Whether it came through another room depends on memberships then, not now: with
                // `replayEveryCopy` every copy goes and the client takes one (by an id of its own).
                let cameElsewhere = !replayEveryCopy && isExcluded(me, connection, sink, by: exclusion)
                if wasLeftOut || exclusion.subscriber == me || cameElsewhere { continue }
            }
            let encoding = batch.encoding(format)
                ?? derived[ObjectIdentifier(batch), default: batch.derive(format, with: group.formats.encoder(format))]
            derived[ObjectIdentifier(batch)] = encoding
            addSlice(encoding.buffer, from: encoding.start(of: index), to: encoding.ends[index], for: connection, sink: sink,
                     lastSequence: 0)
            replayed += 1
        }
        if let last = answer.entries.last {
            _ = flushSlices(to: connection, sink: sink, lastSequence: last.0.firstSequence + UInt64(last.1))
        }
        withExtendedLifetime((answer, derived)) {}
        room.statistics.delivered += replayed
        if let gap = answer.gap {
            resumed?(.gapTooOld(oldestAvailable: gap, lastSequence: answer.lastSequence))
        } else {
            resumed?(.resumed(replayed: replayed, lastSequence: answer.lastSequence))
        }
    }

    // MARK: Publishing

    /// Publishes to one room. The message is encoded once per format, on the room's home loop.
    public func publish(_ message: BroadcastMessage, to name: String, excluding exclusion: Exclusion = Exclusion()) {
        loop.assertInLoop()
        let home = group.homeLoop(of: name)
        if home == loop.index {
            append(message, to: room(named: name), exclusion: exclusion)
        } else {
            forwards[home].append(Forward(room: name, message: message, exclusion: exclusion))
        }
    }

    /// Publishes to several rooms; a member of more than one gets it once (from the first of them).
    public func publish(_ message: BroadcastMessage, to names: [String], excluding subscriber: SubscriberID? = nil) {
        var seen: [String] = []
        for name in names where !seen.contains(name) {
            publish(message, to: name, excluding: Exclusion(subscriber: subscriber, membersOf: seen))
            seen.append(name)
        }
    }

    /// On the home loop: sequence and encode into the room's open batch.
    private func append(_ message: BroadcastMessage, to room: LocalRoom, exclusion: Exclusion) {
        if let builder = room.builder, !builder.fits(message) || builder.formats != room.formats { sealOpenBatch(room) }
        if room.builder == nil {
            let needed = BatchBuilder.largestEncoding(of: message, formats: room.formats, encoders: group.formats)
            room.builder = BatchBuilder(
                room: room.name, firstSequence: room.lastSequence + 1, formats: room.formats, encoders: group.formats,
                compressor: compressor(for: room.formats), initialCapacity: max(min(4096, configuration.batchCapacity), needed),
                limit: configuration.batchCapacity)
            openRooms.append(room)
        }
        if room.builder!.append(message, exclusion: exclusion) { room.statistics.deflated += 1 }
        room.lastSequence += 1
        room.statistics.published += 1
        room.statistics.encoded += 1
    }

    /// The loop's compressor when `formats` has the permessage-deflate format, made on first use.
    private func compressor(for formats: WireFormats) -> DeflateFrameEncoder? {
        guard let deflate = group.formats.deflate, formats.contains(deflate) else { return nil }
        if let compressor { return compressor }
        let made = (group.formats.encoder(deflate) as! WebSocketDeflateEncoder).makeCompressor()
        compressor = made
        return made
    }

    /// On the home loop: close the room's open batch, record it, and route it.
    private func sealOpenBatch(_ room: LocalRoom) {
        guard let builder = room.builder, !builder.isEmpty else { return }
        room.builder = nil
        let batch = builder.seal()
        room.history.append(batch)
        if room.memberCount > 0 { queueDelivery(batch, in: room) }
        for remote in room.remoteLoops { outgoing[remote].append(batch) }
    }

    private func queueDelivery(_ batch: Batch, in room: LocalRoom) {
        if room.pending.isEmpty { deliveryRooms.append(room) }
        room.pending.append(batch)
    }

    /// On a member loop: batches from a room's home loop.
    private func receive(_ batches: [Batch]) {
        for batch in batches {
            guard let room = roomsByName[batch.room], room.memberCount > 0 else { continue }
            room.lastActive = loop.now
            queueDelivery(batch, in: room)
        }
    }

    /// Sends publishes waiting for other loops now rather than at the end of
    /// the pass. Call it before acknowledging a publish to its sender (an
    /// HTTP 202, say): a publish that was acknowledged must be sequenced
    /// before anything the sender does after the acknowledgement.
    public func forwardNow() {
        for (home, list) in forwards.enumerated() where !list.isEmpty {
            forwards[home] = []
            group.post(to: home) { broadcaster in
                for forward in list {
                    broadcaster.append(forward.message, to: broadcaster.room(named: forward.room), exclusion: forward.exclusion)
                }
            }
        }
    }

    // MARK: End of pass

    private func endOfPass() {
        forwardNow()
        if !openRooms.isEmpty {
            let rooms = openRooms
            openRooms = []
            for room in rooms { sealOpenBatch(room) }
        }
        if !localResumes.isEmpty {
            let resumes = localResumes
            localResumes = []
            for resume in resumes {
                finishResume(resume.room, resume.connection, resume.format, replay(resume.room, after: resume.after),
                             formerly: resume.formerly, replayEveryCopy: resume.replayEveryCopy, resume.resumed)
            }
        }
        for (destination, list) in outgoing.enumerated() where !list.isEmpty {
            outgoing[destination] = []
            group.post(to: destination) { $0.receive(list) }
        }
        if !deliveryRooms.isEmpty {
            let rooms = deliveryRooms
            deliveryRooms = []
            for room in rooms {
                for index in room.lists.indices where room.lists[index].count > 0 {
                    deliver(room.pending, in: WireFormat(index: index), to: room)
                }
                if !room.floors.isEmpty, let newest = room.pending.last?.lastSequence {
                    room.floors = room.floors.filter { $0.value > newest }  // resumed members now fully caught up
                }
                room.pending = []
            }
        }
    }

    /// Writes the room's new batches to each member of one format here: one
    /// system call per member.
    private func deliver(_ batches: [Batch], in format: WireFormat, to room: LocalRoom) {
        guard let sink = sink(for: format) else { return }
        let encodings = batches.map { $0.encoding(format) ?? $0.derive(format, with: group.formats.encoder(format)) }
        let cap = configuration.maxQueuedBytes
        let skipSlow = configuration.slowSubscriberPolicy == .skip
        let messageCount = batches.reduce(0) { $0 + $1.count }
        let lastSequence = batches.last!.lastSequence
        let simple = room.floors.isEmpty && batches.allSatisfy { $0.exclusions.isEmpty }
        let policy = room.needsMemberPolicy(for: batches)
        // Every member of the simple case gets the same ranges: made once here.
        let whole = encodings.map { SharedSlice($0.buffer, start: 0, end: $0.buffer.count) }
        var delivered = 0, dropped = 0, evicted = 0
        defer {
            room.statistics.delivered += delivered
            room.statistics.dropped += dropped
            room.statistics.evicted += evicted
        }
        for member in room.lists[format.index].members where member != MemberList.hole {
            if policy {
                deliverWithPolicy(batches, encodings, to: member, format: format, sink: sink, in: room, lastSequence: lastSequence)
                continue
            }
            if skipSlow, let queued = sink.queuedBytes(of: member), queued > cap {
                dropped += messageCount
                continue
            }
            var sent = messageCount
            if simple {
                for slice in whole { addSlice(slice, for: member, sink: sink, lastSequence: lastSequence) }
            } else {
                sent = gatherFiltered(batches, encodings, for: member, sink: sink, in: room)
            }
            guard let queued = flushSlices(to: member, sink: sink, lastSequence: lastSequence) else { continue }
            delivered += sent
            if !skipSlow && queued > cap {
                evicted += 1
                sink.evict(member)
            }
        }
        withExtendedLifetime((batches, encodings)) {}
    }

    /// Slices for one member when some messages are not for it (exclusions,
    /// or a resume floor); returns how many messages it is sent.
    private func gatherFiltered(_ batches: [Batch], _ encodings: [Encoding], for member: ConnectionID, sink: DeliverySink,
                                in room: LocalRoom) -> Int {
        let me = SubscriberID(loop: loop.index, connection: member)
        let floor = room.floors[member] ?? 0
        var sent = 0
        for (batch, encoding) in zip(batches, encodings) where floor < batch.lastSequence {
            let firstIndex = floor >= batch.firstSequence ? Int(floor - batch.firstSequence) + 1 : 0
            let last = batch.firstSequence + UInt64(batch.count) - 1
            let mentioned = batch.excludedSubscribers.contains(me) || batch.hasRoomExclusions
            if !mentioned {
                addSlice(encoding.buffer, from: encoding.start(of: firstIndex), to: encoding.buffer.count, for: member, sink: sink, lastSequence: last)
                sent += batch.count - firstIndex
                continue
            }
            var runStart = -1
            // Exclusions are in message order, at most one per message: walked alongside, not searched.
            var next = 0
            while next < batch.exclusions.count && batch.exclusions[next].index < firstIndex { next += 1 }
            for index in firstIndex..<batch.count {
                var excluded = false
                if next < batch.exclusions.count && batch.exclusions[next].index == index {
                    excluded = isExcluded(me, member, sink, by: batch.exclusions[next].exclusion)
                    next += 1
                }
                if excluded {
                    if runStart >= 0 {
                        addSlice(encoding.buffer, from: encoding.start(of: runStart), to: encoding.start(of: index), for: member, sink: sink, lastSequence: last)
                    }
                    runStart = -1
                } else {
                    if runStart < 0 { runStart = index }
                    sent += 1
                }
            }
            if runStart >= 0 {
                addSlice(encoding.buffer, from: encoding.start(of: runStart), to: encoding.buffer.count, for: member, sink: sink, lastSequence: last)
            }
        }
        return sent
    }

    func isExcluded(_ me: SubscriberID, _ member: ConnectionID, _ sink: DeliverySink, by exclusion: Exclusion) -> Bool {
        if exclusion.subscriber == me { return true }
        for other in exclusion.membersOf {
            if let room = roomsByName[other], sink.isMember(member, ofRoom: room.index) { return true }
        }
        return false
    }

    /// Adds a range for `member`, writing out first if IOV_MAX ranges are waiting.
    @inline(__always)
    func addSlice(_ buffer: SharedBuffer, from start: Int, to end: Int, for member: ConnectionID, sink: DeliverySink,
                          lastSequence: UInt64) {
        addSlice(SharedSlice(buffer, start: start, end: end), for: member, sink: sink, lastSequence: lastSequence)
    }

    @inline(__always)
    func addSlice(_ slice: SharedSlice, for member: ConnectionID, sink: DeliverySink, lastSequence: UInt64) {
        guard slice.end > slice.start else { return }
        if sliceCount == Self.maxSlices { _ = flushSlices(to: member, sink: sink, lastSequence: lastSequence) }
        slices[sliceCount] = slice
        sliceCount += 1
    }

    /// Writes the gathered ranges to `member`; its queued bytes, or nil if
    /// it is gone (or nothing was gathered).
    func flushSlices(to member: ConnectionID, sink: DeliverySink, lastSequence: UInt64) -> Int? {
        guard sliceCount > 0 else { return nil }
        let count = sliceCount
        sliceCount = 0
        return sink.deliver(UnsafeBufferPointer(start: slices, count: count), to: member, lastSequence: lastSequence)
    }

    // MARK: Statistics

    /// This loop's counters of every room it knows.
    public func localStatistics() -> [String: RoomStatistics] {
        var result: [String: RoomStatistics] = [:]
        for case let room? in roomsByIndex {
            var counters = room.statistics
            counters.subscribers = room.memberCount
            if room.home == loop.index {
                counters.historyMessages = room.history.count
                counters.historyBytes = room.history.bytes
            }
            result[room.name] = counters
        }
        return result
    }

    /// The room's last sequence number, on its home loop.
    public func lastSequence(of name: String) -> UInt64? {
        guard group.homeLoop(of: name) == loop.index else { return nil }
        return roomsByName[name]?.lastSequence
    }
}
