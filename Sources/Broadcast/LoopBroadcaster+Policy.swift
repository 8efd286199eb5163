import Reactor

/// Deliveries that look at each member: conflation by key for members that
/// are behind, per-key rates, and volatile messages. They choose which of the
/// shared encodings a member is sent; nothing is encoded per member. A
/// member is behind while the kernel has refused some of what it was sent
/// (bytes are queued for it); what it holds back then is the newest message
/// of each key, sent (in the room's order) as soon as its queue drains.
extension LoopBroadcaster {
    /// Sets what every member of room `name` gets, on this loop (see `Broadcaster.setOptions`).
    public func setOptions(_ options: RoomOptions, for name: String) {
        loop.assertInLoop()
        roomOptions[name] = options
        roomsByName[name]?.conflates = options.conflate
    }

    /// Whether every member of room `name` conflates (`RoomOptions.conflate`), as this loop knows it.
    public func conflates(_ name: String) -> Bool {
        loop.assertInLoop()
        return roomOptions[name]?.conflate ?? false
    }

    /// The member's queue drained (it read what it was sent): what it held
    /// back in the room of `membership` goes now, as far as its rates allow.
    public func memberDrained(_ member: ConnectionID, in membership: RoomMembership) {
        guard Int(membership.room) < roomsByIndex.count, let room = roomsByIndex[Int(membership.room)],
              let backlog = room.backlogs[member], !backlog.isEmpty, let sink = sink(for: membership.format) else { return }
        _ = sendHeldBack(backlog, to: member, in: room, sink: sink, alsoSending: 0)
    }

    /// What a member holds back in room `name`, by key (its payloads as text): for tests and diagnostics.
    func heldBack(for member: ConnectionID, in name: String) -> [String: String] {
        guard let backlog = roomsByName[name]?.backlogs[member] else { return [:] }
        return backlog.entries.mapValues { entry in
            let frame = UnsafeRawBufferPointer(rebasing: entry.encoding.buffer.bytes[entry.start..<entry.end])
            let header = frame[1] & 0x7F == 127 ? 10 : (frame[1] & 0x7F == 126 ? 4 : 2)
            return String(decoding: frame[header...], as: UTF8.self)
        }
    }

    /// Whether this pass must look at the member's messages one by one: it is
    /// behind (conflation, volatile messages, the skip policy apply), it has a
    /// rate per key, or it holds messages back. A gone member goes that way too
    /// (which returns at once).
    @inline(never)  // off the path of rooms without policy, which must not pay for it
    func needsMemberPolicy(_ member: ConnectionID, sink: DeliverySink, in room: LocalRoom) -> Bool {
        guard let queued = sink.queuedBytes(of: member), queued == 0 else { return true }
        if let backlog = room.backlogs[member], !backlog.isEmpty { return true }
        return room.options[member].map { $0.keyInterval > 0 } ?? false
    }

    /// One member's share of a delivery, message by message.
    func deliverWithPolicy(_ batches: [Batch], _ encodings: [Encoding], to member: ConnectionID, format: WireFormat, sink: DeliverySink,
                           in room: LocalRoom, lastSequence: UInt64) {
        guard let queued = sink.queuedBytes(of: member) else { return }
        let options = room.options[member] ?? SubscriptionOptions()
        let behind = queued > 0
        let conflating = room.conflates || options.conflate
        let interval = options.keyInterval
        let skipSlow = configuration.slowSubscriberPolicy == .skip
        let overCap = queued > configuration.maxQueuedBytes
        let now = loop.now
        let me = SubscriberID(loop: loop.index, connection: member)
        let floor = room.floors[member] ?? 0
        var backlog = room.backlogs[member]
        var counts = (sent: 0, conflated: 0, volatileDropped: 0, dropped: 0)
        policyScratch.removeAll(keepingCapacity: true)
        for (batch, encoding) in zip(batches, encodings) where floor < batch.lastSequence {
            let firstIndex = floor >= batch.firstSequence ? Int(floor - batch.firstSequence) + 1 : 0
            for index in firstIndex..<batch.count {
                if let exclusion = batch.exclusion(of: index), isExcluded(me, member, sink, by: exclusion) { continue }
                let traits = batch.traits(of: index)
                let entry = MemberBacklog.Entry(sequence: batch.firstSequence + UInt64(index), encoding: encoding,
                                                start: encoding.start(of: index), end: encoding.ends[index])
                if traits.isVolatile && behind {
                    counts.volatileDropped += 1
                    continue
                }
                if let key = traits.key {
                    if backlog == nil && (interval > 0 || (conflating && behind)) {
                        backlog = MemberBacklog(format: format)  // a rate needs to know when each key last went
                        room.backlogs[member] = backlog
                    }
                    let rateHolds = interval > 0 && backlog!.lastSent[key].map { now &- $0 < interval } ?? false
                    if (conflating && behind) || rateHolds {
                        if backlog!.entries.updateValue(entry, forKey: key) != nil { counts.conflated += 1 }
                        if interval > 0 { noteRateLimited(room) }
                        continue
                    }
                    // Going now: an older one of its key still waiting is out of date.
                    if backlog?.entries.removeValue(forKey: key) != nil { counts.conflated += 1 }
                    if interval > 0 { backlog?.lastSent[key] = now }
                } else if skipSlow && overCap {
                    counts.dropped += 1
                    continue
                }
                policyScratch.append(entry)
                counts.sent += 1
            }
        }
        if let backlog, !behind, !backlog.isEmpty {
            counts.sent += sendHeldBack(backlog, to: member, in: room, sink: sink, alsoSending: policyScratch.count)
        } else if !policyScratch.isEmpty {
            write(policyScratch, to: member, in: room, sink: sink, lastSequence: lastSequence)
        }
        room.statistics.delivered += counts.sent
        room.statistics.conflated += counts.conflated
        room.statistics.volatileDropped += counts.volatileDropped
        room.statistics.dropped += counts.dropped
    }

    /// Sends the held-back messages that may go now (all, without a rate;
    /// those whose key's turn has come, with one), merged in sequence order
    /// with the first `alsoSending` entries of `policyScratch`. Returns how
    /// many held-back messages went.
    @discardableResult
    func sendHeldBack(_ backlog: MemberBacklog, to member: ConnectionID, in room: LocalRoom, sink: DeliverySink, alsoSending: Int) -> Int {
        if alsoSending == 0 { policyScratch.removeAll(keepingCapacity: true) }
        let interval = room.options[member]?.keyInterval ?? 0
        let now = loop.now
        var released: [MemberBacklog.Entry] = []
        for (key, entry) in backlog.entries where interval == 0 || now &- (backlog.lastSent[key] ?? 0) >= interval {
            released.append(entry)
            backlog.entries[key] = nil
            if interval > 0 { backlog.lastSent[key] = now }
        }
        guard !released.isEmpty || !policyScratch.isEmpty else { return 0 }
        policyScratch += released
        policyScratch.sort { $0.sequence < $1.sequence }
        write(policyScratch, to: member, in: room, sink: sink, lastSequence: policyScratch.last!.sequence)
        room.statistics.delivered += alsoSending == 0 ? released.count : 0
        withExtendedLifetime(released) {}
        return released.count
    }

    /// Sends now everything members of `room` hold back, rates notwithstanding: the room started
    /// over, and what they hold is of the numbering before, which must not follow the new one.
    func releaseHeldBack(in room: LocalRoom) {
        for (member, backlog) in room.backlogs where !backlog.isEmpty {
            guard let sink = sink(for: backlog.format) else { continue }
            let held = backlog.entries.values.sorted { $0.sequence < $1.sequence }
            backlog.entries.removeAll()
            write(held, to: member, in: room, sink: sink, lastSequence: held.last!.sequence)
            room.statistics.delivered += held.count
        }
    }

    /// One write of `entries` to the member; past its cap it is evicted, as any member.
    private func write(_ entries: [MemberBacklog.Entry], to member: ConnectionID, in room: LocalRoom, sink: DeliverySink,
                       lastSequence: UInt64) {
        for entry in entries {
            addSlice(entry.encoding.buffer, from: entry.start, to: entry.end, for: member, sink: sink, lastSequence: lastSequence)
        }
        guard let queued = flushSlices(to: member, sink: sink, lastSequence: lastSequence) else { return }
        if configuration.slowSubscriberPolicy == .close && queued > configuration.maxQueuedBytes {
            room.statistics.evicted += 1
            sink.evict(member)
        }
    }

    /// A room holds back messages for a rate: a sweep of this loop (one
    /// timer for every room and member) sends them when their turn comes.
    private func noteRateLimited(_ room: LocalRoom) {
        roomsHoldingBack.insert(room.index)
        guard !rateSweepScheduled else { return }
        rateSweepScheduled = true
        loop.scheduleRepeating(every: Self.rateSweepInterval) { [unowned self] in sweepRateLimited() }
    }

    /// How often rate-limited messages are looked at: a limit is kept within this.
    static var rateSweepInterval: UInt64 { 10_000_000 }

    private func sweepRateLimited() {
        for index in roomsHoldingBack {
            guard Int(index) < roomsByIndex.count, let room = roomsByIndex[Int(index)] else {
                roomsHoldingBack.remove(index)
                continue
            }
            var waiting = false
            for (member, backlog) in room.backlogs where !backlog.isEmpty {
                guard let sink = sink(for: backlog.format), let queued = sink.queuedBytes(of: member) else { continue }
                if queued == 0 { sendHeldBack(backlog, to: member, in: room, sink: sink, alsoSending: 0) }
                waiting = waiting || !backlog.isEmpty
            }
            if !waiting { roomsHoldingBack.remove(index) }
        }
    }
}
