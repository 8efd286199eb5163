import Reactor
import WebSocketCodec

// Sending: the open-loop schedule, the closed loop, and the window's edges.
extension LoadGenerator {
    /// Starts a window. Open loop: this loop's senders share the rate in
    /// proportion to their number, taking turns. Closed loop: each sends one
    /// message now and the next when the last one is answered (echo) or has
    /// reached every receiver (broadcast).
    func beginWindow(_ newWindow: SendingWindow) {
        window = newWindow
        measureStart = newWindow.measureStart
        measureEnd = newWindow.end
        isClosedLoop = newWindow.rate == 0
        statistics.pointee.resetWindow()
        let width = plan.publisherCount
        for row in rowsStarted..<rowConnections.count {
            for publisher in 0..<width {
                // A message of this window may already have come from a faster loop.
                let tracker = trackers + (row * width + publisher)
                tracker.pointee.expected = max(tracker.pointee.expected, newWindow.baseline[publisher])
            }
        }
        rowsStarted = rowConnections.count
        windowSenders = senders.filter { connections.connection($0)?.context.phase == .open }
        sendingFinished = windowSenders.isEmpty
        nextLocalMessage = 0
        closedLoopStarted = false
        scheduleTick(after: Self.fastTick)
        if isClosedLoop { return }  // the tick starts the senders at `start`, when every loop has the window
        let now = monotonicNanoseconds()
        localInterval = 1e9 * Double(newWindow.senderCount) / (Double(newWindow.rate) * Double(max(1, windowSenders.count)))
        for (position, id) in windowSenders.enumerated() {
            let connection = connections.connection(id)!
            if connection.context.role == .echo { connection.context.localIndex = UInt32(position) }
            connection.context.windowFirstSequence = connection.context.nextSequence
        }
        sendDueMessages(now: now)
    }

    /// Interrupted: no more sending in this window.
    func endWindowEarly() {
        let now = monotonicNanoseconds()
        measureEnd = min(measureEnd, now)
        sendingFinished = true
    }

    /// Open loop: every message due by `now` leaves, stamped with the time it was due.
    func sendDueMessages(now: UInt64) {
        guard let window, !windowSenders.isEmpty else {
            sendingFinished = true
            return
        }
        let senderCount = UInt64(windowSenders.count)
        while true {
            let intended = window.start &+ UInt64(Double(nextLocalMessage) * localInterval)
            if intended >= window.end {
                sendingFinished = true
                break
            }
            if intended > now { break }
            let position = Int(nextLocalMessage % senderCount)
            nextLocalMessage &+= 1
            guard let connection = connections.connection(windowSenders[position]),
                  connection.context.phase == .open else { continue }
            statistics.pointee.maxSendLag = max(statistics.pointee.maxSendLag, now &- intended)
            send(connection, intendedTime: intended)
        }
        if plan.scenario.isRoom {
            for id in windowSenders {
                guard let connection = connections.connection(id) else { continue }
                statistics.pointee.maxPublisherBacklog = max(statistics.pointee.maxPublisherBacklog, connection.queuedBytes)
            }
        }
    }

    /// Closed loop: every sender's first message.
    func startClosedLoop(now: UInt64) {
        closedLoopStarted = true
        for id in windowSenders {
            if let connection = connections.connection(id) { sendNext(connection, now: now) }
        }
    }

    /// Closed loop: the next message, intended now.
    func sendNext(_ connection: Connection<LoadGenerator>, now: UInt64) {
        guard !sendingFinished, now < measureEnd, connection.context.phase == .open else { return }
        connection.context.lastSendTime = now
        send(connection, intendedTime: now)
    }

    /// Closed loop: senders still waiting after the timeout send again (what
    /// they waited for is counted lost at the end).
    func resendStalled(now: UInt64) {
        for id in windowSenders {
            guard let connection = connections.connection(id), connection.context.phase == .open,
                  now &- connection.context.lastSendTime > plan.timeout else { continue }
            sendNext(connection, now: now)
        }
    }

    /// One message, written in place into the cork: a masked binary frame
    /// with `MessageHeader` and zero padding, (sse, longpoll) a masked text
    /// frame with `TextMessageHeader` and 'x' padding, (ticker) a masked text
    /// frame with a JSON quote feed from the pool, its header filled in, or
    /// (events) the sse text message as the argument of a `publish` event
    /// packet. Sent plain even with permessage-deflate: compression is per message.
    @inline(__always)
    func send(_ connection: Connection<LoadGenerator>, intendedTime: UInt64) {
        let size = plan.payloadSize
        let format = plan.payloadFormat
        let length = format == .eventPacket ? size &+ EventPacket.publishOverhead : size
        let sequence = connection.context.nextSequence
        connection.context.nextSequence = sequence &+ 1
        let fields = MessageHeader.Fields(sender: connection.context.senderID, sequence: sequence, intendedTime: intendedTime)
        let key = MaskKey(wireValue: UInt32(truncatingIfNeeded: random.next()))
        connection.write(reserving: FrameEncoder.headerSize(payloadLength: length, masked: true) + length) { buffer in
            let base = buffer.baseAddress!
            let headerLength = FrameEncoder.writeHeader(opcode: format == .binary ? .binary : .text, payloadLength: length, maskKey: key, into: base)
            let payload = base + headerLength
            switch format {
            case .binary:
                var padding = payload
                var paddingCount = size
                if size >= MessageHeader.size {
                    MessageHeader.write(fields, to: payload)
                    padding += MessageHeader.size
                    paddingCount -= MessageHeader.size
                }
                padding.initializeMemory(as: UInt8.self, repeating: 0, count: paddingCount)
            case .text:
                TextMessageHeader.writeMessage(fields, size: size, to: payload)
            case .ticker:
                let pool = plan.tickerPool
                pool[Int(sequence % UInt64(pool.count))].withUnsafeBytes { payload.copyMemory(from: $0.baseAddress!, byteCount: size) }
                TextMessageHeader.write(fields, to: payload + TickerPayload.headerOffset)
            case .eventPacket:
                EventPacket.writePublish(fields, size: size, to: payload)
            }
            applyMask(from: payload, to: payload, count: length, key: key, phase: 0)
            return headerLength + length
        }
        statistics.pointee.sent &+= 1
        if intendedTime >= measureStart && intendedTime < measureEnd { statistics.pointee.sentInWindow &+= 1 }
    }

    // MARK: Closed-loop broadcast

    /// Counts a delivery toward its publisher's message in flight; summed
    /// across loops once per pass (`flushDeliveries`).
    @inline(__always)
    func noteDelivery(publisher: Int, sequence: UInt64) {
        if pendingDeliveryCount[publisher] > 0 && pendingDeliverySequence[publisher] != sequence {
            flushDeliveries(of: publisher)
        }
        if pendingDeliveryCount[publisher] == 0 {
            pendingDeliverySequence[publisher] = sequence
            pendingPublishers.append(publisher)
        }
        pendingDeliveryCount[publisher] &+= 1
    }

    /// End of a pass: this loop's deliveries join the other loops'; whoever
    /// completes a message wakes its publisher.
    func flushDeliveries() {
        guard !pendingPublishers.isEmpty else { return }
        for publisher in pendingPublishers where pendingDeliveryCount[publisher] > 0 {
            flushDeliveries(of: publisher)
        }
        pendingPublishers.removeAll(keepingCapacity: true)
    }

    private func flushDeliveries(of publisher: Int) {
        let sequence = pendingDeliverySequence[publisher]
        let count = pendingDeliveryCount[publisher]
        pendingDeliveryCount[publisher] = 0
        guard let window, window.receiversPerMessage > 0 else { return }
        let completed = plan.publisherProgress[publisher].add(count, of: sequence, needed: UInt64(window.receiversPerMessage))
        guard completed, !peers.isEmpty else { return }
        let owner = peers[publisher % plan.loopCount]
        owner.loop.execute {
            owner.value.deliveredEverywhere(publisher: UInt32(publisher), sequence: sequence)
        }
    }

    /// On the publisher's loop: its message reached every receiver; the next goes.
    func deliveredEverywhere(publisher: UInt32, sequence: UInt64) {
        guard let id = publisherSlots[publisher], let connection = connections.connection(id),
              connection.context.nextSequence == sequence &+ 1 else { return }
        sendNext(connection, now: monotonicNanoseconds())
    }

    // MARK: The end

    /// After the drain: what each receiver still lacks of what was published
    /// is lost. `published[p]` is publisher p's message count.
    func closeOutLoss(published: [UInt64]) {
        var lost: UInt64 = 0
        switch plan.scenario {
        case .broadcast, .sse, .longpoll, .events:
            let width = plan.publisherCount
            for row in 0..<rowsStarted {
                guard let connection = connections.connection(rowConnections[row]),
                      connection.context.phase == .open else { continue }
                var rowLost: UInt64 = 0
                for publisher in 0..<width {
                    if connection.context.role == .publisher && Int(connection.context.senderID) == publisher { continue }
                    rowLost += trackers[row * width + publisher].closeOut(published: published[publisher])
                }
                lost += rowLost
                if plan.mixesTransports { statistics.pointee.byTransport[connection.context.role.transport].lost += Int64(rowLost) }
            }
        case .echo:
            for id in senders {
                guard let connection = connections.connection(id), connection.context.phase == .open else { continue }
                lost += connection.context.replies.closeOut(published: connection.context.nextSequence)
            }
        case .connect:
            break
        }
        statistics.pointee.lost += Int64(lost)
    }
}
