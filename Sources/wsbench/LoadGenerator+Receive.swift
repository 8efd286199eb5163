import Reactor
import WebSocketCodec

// The receive path: frames are parsed where they lie in the loop's receive
// buffer. A complete unmasked binary frame (what a server sends wsbench) takes
// the fast path: two header bytes, one header read, one tracker, one histogram
// bucket; no allocation. So does a text frame in the sse and longpoll
// scenarios and of ticker payloads, once a word-at-a-time check finds it
// ASCII (so valid UTF-8), and an event packet in the events scenario, whose
// message `EventPacket` finds in place (checking the packet's text itself).
// Anything else goes through `WebSocketReader`, compressed (RSV1) frames
// included, which it inflates. SSE streams and poll responses have their own
// readers (LoadGenerator+EventStream, +LongPolling) and share the booking
// below; the events session's opening is LoadGenerator+Events.
extension LoadGenerator {
    func connection(_ connection: Connection<LoadGenerator>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        switch connection.context.phase {
        case .open:
            // Each look at the state is an exclusivity check in the reactor: the role is read only where it can be HTTP.
            if plan.mixesTransports {
                switch connection.context.role {
                case .eventStreamSubscriber: return receiveEventStream(connection, UnsafeRawBufferPointer(bytes))
                case .pollingSubscriber: return receivePolls(connection, UnsafeRawBufferPointer(bytes))
                case .echo, .subscriber, .publisher, .probe: break
                }
            }
            return receiveFrames(connection, bytes)
        case .closing:
            // Over HTTP nothing more is expected once we have ended our side.
            return connection.context.role.transport == .webSocket ? receiveFrames(connection, bytes) : bytes.count
        case .handshaking:
            switch connection.context.role {
            case .eventStreamSubscriber: return receiveEventStreamHead(connection, UnsafeRawBufferPointer(bytes))
            case .pollingSubscriber: return receivePolls(connection, UnsafeRawBufferPointer(bytes))
            case .echo, .subscriber, .publisher, .probe: return receiveHandshake(connection, bytes)
            }
        case .joining:
            return receiveSessionOpening(connection, bytes)
        case .connecting, .failed:
            return bytes.count
        }
    }

    /// Consumes whole frames from `bytes`; an incomplete frame is left for the next read.
    func receiveFrames(_ connection: Connection<LoadGenerator>, _ bytes: UnsafeMutableRawBufferPointer) -> Int {
        // A copy of the path per header format, so none tests a flag per message (measured: 25 instructions a frame).
        switch plan.payloadFormat {
        case .binary: receiveFrames(connection, bytes, MessageHeader.self)
        case .text: receiveFrames(connection, bytes, TextMessageHeader.self)
        case .ticker: receiveFrames(connection, bytes, TickerMessageHeader.self)
        case .eventPacket: receiveFrames(connection, bytes, EventPacket.self)
        }
    }

    @inline(__always)
    private func receiveFrames<Header: HeaderFormat>(_ connection: Connection<LoadGenerator>, _ bytes: UnsafeMutableRawBufferPointer,
                                                     _ header: Header.Type) -> Int {
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
        let window = span
        // Text frames join the fast path only in the scenarios that send text.
        let fastText: UInt8 = Header.isText ? 0x81 : 0x82
        frames: while true {
            if !state.readerBusy {
                let available = total &- offset
                if available < 2 { break frames }
                let first = base.load(fromByteOffset: offset, as: UInt8.self)
                let second = base.load(fromByteOffset: offset &+ 1, as: UInt8.self)
                // FIN + binary (or text), unmasked, length under 64 KiB.
                if (first == 0x82 || first == fastText) && second <= 126 {
                    var headerLength = 2
                    var length = Int(second)
                    if second == 126 {
                        if available < 4 { break frames }
                        length = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset &+ 2, as: UInt16.self)))
                        headerLength = 4
                    }
                    if available >= headerLength &+ length {
                        let payload = base + (offset &+ headerLength)
                        // Text that is not all ASCII goes to the reader, which validates its UTF-8 (event packets check their own).
                        if first == 0x82 || Header.checksItsText || Self.isASCII(payload, count: length) {
                            outcome.formUnion(receiveMessage(payload, length: length, now: now, window, state: &state, header))
                            offset &+= headerLength &+ length
                            continue frames
                        }
                    } else if headerLength &+ length <= streamingThreshold {
                        break frames
                    }
                }
            }
            // Control frames, fragments, text, long frames, compressed messages and protocol errors.
            let input = UnsafeMutableRawBufferPointer(rebasing: bytes[offset...])
            let (event, consumed) = if let shared = sharedInflater {
                state.reader.read(input, role: .client, limits: limits, inflater: ownInflater(of: connection) ?? shared)
            } else {
                state.reader.read(input, role: .client, limits: limits)
            }
            offset &+= consumed
            state.readerBusy = !state.reader.isIdle
            switch event {
            case .needMore:
                break frames
            case .message(_, let payload):
                outcome.formUnion(receiveMessage(UnsafeRawPointer(payload.baseAddress ?? UnsafeRawPointer(base)), length: payload.count, now: now, window,
                                                 state: &state, header))
            case .ping(let payload):
                connection.context = state
                writeFrame(connection, opcode: .pong, payload: Array(payload))
                guard connection.isOpen else { return total }
            case .pong:
                break
            case .close(let code, _):
                if outcome.contains(.invalidText) {
            fail(connection, "protocol error from the server: invalid UTF-8 in a text message", code: .invalidPayload)
            return total
        }
        if outcome.contains(.sessionEnded) {
                    // The close packet's close frame: one failure, counted below as the session's end.
                    statistics.pointee.closesByCode[code?.rawValue ?? 1005, default: 0] += 1
                    break frames
                }
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
        if outcome.contains(.invalidText) {
            fail(connection, "protocol error from the server: invalid UTF-8 in a text message", code: .invalidPayload)
            return total
        }
        if outcome.contains(.sessionEnded) {
            fail(connection, "the server ended the events session (a close or disconnect packet)")
            return total
        }
        if outcome.contains(.pinged) { writeFrame(connection, opcode: .text, payload: EventPacket.pong) }
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
        /// events: the server pinged the session; one pong answers every ping of a read.
        static let pinged = MessageOutcome(rawValue: 4)
        /// events: the server closed the session (or disconnected the namespace).
        static let sessionEnded = MessageOutcome(rawValue: 8)
        /// events: a text frame that is not UTF-8 (event packets check their own text).
        static let invalidText = MessageOutcome(rawValue: 16)
    }

    /// The hot path's copy of the generator's window fields (stored
    /// properties of a class would be checked for exclusive access on every read).
    struct MeasuredSpan {
        var start: UInt64
        var end: UInt64
        var trackers: UnsafeMutablePointer<SequenceTracker>
        var closedLoop: Bool
    }

    /// What booking needs of a room receiver, copied out of its state (the
    /// SSE and polling readers are part of that state while they call back).
    struct RoomReceiver {
        var row: Int
        var role: ConnectionRole
        var senderID: UInt32

        @inline(__always)
        init(_ state: ConnectionState) {
            row = Int(state.localIndex)
            role = state.role
            senderID = state.senderID
        }
    }

    /// One whole message: tracked, counted and, when measured, timed.
    @inline(__always)
    private func receiveMessage<Header: HeaderFormat>(_ payload: UnsafeRawPointer, length: Int, now: UInt64, _ window: MeasuredSpan,
                                                      state: inout ConnectionState, _ header: Header.Type) -> MessageOutcome {
        let statistics = self.statistics
        switch state.role {
        case .subscriber, .publisher, .eventStreamSubscriber, .pollingSubscriber:
            return receiveRoomMessage(payload, length: length, now: now, window, RoomReceiver(state), header)
        case .echo:
            let sequence: UInt64
            let intendedTime: UInt64
            if let fields = Header.read(payload, count: length) {
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

    /// A message to a room receiver, over any transport: its publisher's
    /// sequence checked, counted and, when measured, timed. The sse and
    /// longpoll scenarios also count per transport.
    @inline(__always)
    func receiveRoomMessage<Header: HeaderFormat>(_ payload: UnsafeRawPointer, length: Int, now: UInt64, _ window: MeasuredSpan,
                                                  _ receiver: RoomReceiver, _ header: Header.Type) -> MessageOutcome {
        guard let fields = Header.read(payload, count: length) else { return Header.notAMessage(payload, count: length) }
        guard Int(fields.sender) < plan.publisherCount, !(receiver.role == .publisher && fields.sender == receiver.senderID) else {
            return .foreign
        }
        let tracker = window.trackers + (receiver.row &* plan.publisherCount &+ Int(fields.sender))
        let verdict = tracker.pointee.observe(fields.sequence)
        if Header.countsByTransport { bookByTransport(verdict, intendedTime: fields.intendedTime, now: now, window, receiver.role.transport) }
        guard book(verdict, intendedTime: fields.intendedTime, now: now, window, statistics) else { return .none }
        if window.closedLoop { noteDelivery(publisher: Int(fields.sender), sequence: fields.sequence) }
        return .none
    }

    /// The same booking as `book`, into the transport's counters.
    private func bookByTransport(_ verdict: SequenceTracker.Verdict, intendedTime: UInt64, now: UInt64, _ window: MeasuredSpan,
                                 _ transport: Transport) {
        let statistics = self.statistics
        switch verdict {
        case .inOrder:
            break
        case .gap(let missing):
            statistics.pointee.byTransport[transport].lost &+= Int64(missing)
        case .late:
            statistics.pointee.byTransport[transport].lost &-= 1
            statistics.pointee.byTransport[transport].reordered &+= 1
        case .lateBeyondWindow:
            statistics.pointee.byTransport[transport].reordered &+= 1
        case .duplicate:
            statistics.pointee.byTransport[transport].duplicated &+= 1
            return
        }
        statistics.pointee.byTransport[transport].received &+= 1
        if intendedTime >= window.start && intendedTime < window.end {
            statistics.pointee.byTransport[transport].receivedInWindow &+= 1
            statistics.pointee.byTransport[transport].latency.record(now > intendedTime ? now &- intendedTime : 0)
        }
    }

    /// True when all `count` bytes are below 0x80, a word at a time.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        var index = 0
        var seen: UInt64 = 0
        while index &+ 8 <= count {
            seen |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index &+= 8
        }
        while index < count {
            seen |= UInt64(bytes.load(fromByteOffset: index, as: UInt8.self))
            index &+= 1
        }
        return seen & 0x8080_8080_8080_8080 == 0
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
