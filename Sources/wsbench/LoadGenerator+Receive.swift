import Reactor
import WebSocketCodec

// The receive path: frames are parsed where they lie in the loop's receive
// buffer. A complete unmasked binary frame (what a server sends wsbench) takes
// the fast path: two header bytes, one header read, one tracker, one histogram
// bucket; no allocation. Anything else goes through `WebSocketReader`.
extension LoadGenerator {
    func connection(_ connection: Connection<LoadGenerator>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        switch connection.context.phase {
        case .open, .closing:
            return receiveFrames(connection, bytes)
        case .handshaking:
            return receiveHandshake(connection, bytes)
        case .connecting, .failed:
            return bytes.count
        }
    }

    /// Consumes whole frames from `bytes`; an incomplete frame is left for the next read.
    func receiveFrames(_ connection: Connection<LoadGenerator>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let total = bytes.count
        let now = monotonicNanoseconds()
        let statistics = self.statistics
        statistics.pointee.bytesReceived &+= UInt64(total)
        // Work on a copy of the state; it goes back before anything that may close the connection.
        var state = connection.context
        var offset = 0
        var outcome = MessageOutcome.none
        let streamingThreshold = limits.streamingThreshold
        let window = MeasuredSpan(start: measureStart, end: measureEnd, trackers: trackers, closedLoop: isClosedLoop)
        frames: while true {
            if !state.readerBusy {
                let available = total &- offset
                if available < 2 { break frames }
                let first = base.load(fromByteOffset: offset, as: UInt8.self)
                let second = base.load(fromByteOffset: offset &+ 1, as: UInt8.self)
                // FIN + binary, unmasked, length under 64 KiB.
                if first == 0x82 && second <= 126 {
                    var headerLength = 2
                    var length = Int(second)
                    if second == 126 {
                        if available < 4 { break frames }
                        length = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset &+ 2, as: UInt16.self)))
                        headerLength = 4
                    }
                    if available >= headerLength &+ length {
                        outcome.formUnion(receiveMessage(base + (offset &+ headerLength), length: length, now: now, window, state: &state))
                        offset &+= headerLength &+ length
                        continue frames
                    }
                    if headerLength &+ length <= streamingThreshold { break frames }
                }
            }
            // Control frames, fragments, text, long frames and protocol errors.
            let (event, consumed) = state.reader.read(
                UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]), role: .client, limits: limits)
            offset &+= consumed
            state.readerBusy = !state.reader.isIdle
            switch event {
            case .needMore:
                break frames
            case .message(_, let payload):
                outcome.formUnion(receiveMessage(UnsafeRawPointer(payload.baseAddress ?? UnsafeRawPointer(base)), length: payload.count, now: now, window, state: &state))
            case .ping(let payload):
                connection.context = state
                writeControlFrame(connection, opcode: .pong, payload: Array(payload))
                guard connection.isOpen else { return total }
            case .pong:
                break
            case .close(let code, _):
                connection.context = state
                receivedClose(connection, code: code)
                guard connection.isOpen else { return total }
                state = connection.context
            case .failure(let code, let reason):
                connection.context = state
                fail(connection, "protocol error from the server: \(reason)", code: code)
                return total
            }
        }
        connection.context = state
        if outcome.contains(.foreign) {
            fail(connection, "a message that is not wsbench's (or a publisher's own despite ?self=0)", code: .policyViolation)
            return total
        }
        if outcome.contains(.replied) { sendNext(connection, now: now) }  // closed-loop echo: the reply came back
        return offset
    }

    struct MessageOutcome: OptionSet {
        let rawValue: UInt8
        static let none: MessageOutcome = []
        /// An echo connection's message in flight came back.
        static let replied = MessageOutcome(rawValue: 1)
        /// Not a message wsbench sent, or sent to the wrong receiver.
        static let foreign = MessageOutcome(rawValue: 2)
    }

    /// The hot path's copy of the generator's window fields (stored
    /// properties of a class would be checked for exclusive access on every read).
    struct MeasuredSpan {
        var start: UInt64
        var end: UInt64
        var trackers: UnsafeMutablePointer<SequenceTracker>
        var closedLoop: Bool
    }

    /// One whole message: tracked, counted and, when measured, timed.
    @inline(__always)
    private func receiveMessage(_ payload: UnsafeRawPointer, length: Int, now: UInt64, _ window: MeasuredSpan,
                                state: inout ConnectionState) -> MessageOutcome {
        let statistics = self.statistics
        switch state.role {
        case .subscriber, .publisher:
            guard let fields = MessageHeader.read(payload, count: length), Int(fields.sender) < plan.publisherCount,
                  !(state.role == .publisher && fields.sender == state.senderID) else {
                return .foreign
            }
            let tracker = window.trackers + (Int(state.localIndex) &* plan.publisherCount &+ Int(fields.sender))
            let verdict = tracker.pointee.observe(fields.sequence)
            guard book(verdict, intendedTime: fields.intendedTime, now: now, window, statistics) else { return .none }
            if window.closedLoop { noteDelivery(publisher: Int(fields.sender), sequence: fields.sequence) }
            return .none
        case .echo:
            let sequence: UInt64
            let intendedTime: UInt64
            if let fields = MessageHeader.read(payload, count: length) {
                guard fields.sender == state.senderID else { return .foreign }
                sequence = fields.sequence
                intendedTime = fields.intendedTime
            } else if plan.payloadSize < MessageHeader.size && length == plan.payloadSize {
                // Too small to carry a header: replies are matched to messages by position.
                sequence = state.replies.expected
                if sequence >= state.nextSequence {
                    statistics.pointee.duplicated &+= 1
                    return .none
                }
                intendedTime = window.closedLoop ? state.lastSendTime : intendedTimeOfEcho(sequence, state: state)
            } else {
                return .foreign
            }
            let verdict = state.replies.observe(sequence)
            guard book(verdict, intendedTime: intendedTime, now: now, window, statistics) else { return .none }
            return window.closedLoop && sequence &+ 1 == state.nextSequence ? .replied : .none
        case .probe:
            return .none
        }
    }

    /// Books one arrival; false for a duplicate.
    @inline(__always)
    private func book(_ verdict: SequenceTracker.Verdict, intendedTime: UInt64, now: UInt64, _ window: MeasuredSpan,
                       _ statistics: UnsafeMutablePointer<LoopStatistics>) -> Bool {
        switch verdict {
        case .inOrder:
            break
        case .gap(let missing):
            statistics.pointee.lost &+= Int64(missing)
        case .late:
            statistics.pointee.lost &-= 1
            statistics.pointee.reordered &+= 1
        case .lateBeyondWindow:
            statistics.pointee.reordered &+= 1
        case .duplicate:
            statistics.pointee.duplicated &+= 1
            return false
        }
        statistics.pointee.received &+= 1
        if intendedTime >= window.start && intendedTime < window.end {
            statistics.pointee.receivedInWindow &+= 1
            statistics.pointee.latency.record(now > intendedTime ? now &- intendedTime : 0)
        }
        return true
    }

    /// Open-loop echo without a header: when reply `sequence` was due, from the schedule.
    private func intendedTimeOfEcho(_ sequence: UInt64, state: ConnectionState) -> UInt64 {
        guard let window, sequence >= state.windowFirstSequence else { return 0 }
        let message = (sequence - state.windowFirstSequence) * UInt64(windowSenders.count) + UInt64(state.localIndex)
        return window.start &+ UInt64(Double(message) * localInterval)
    }
}
