import Reactor

// The longpoll scenario's subscribers: on one keep-alive connection, a first
// `GET /poll/ROOM` (answered at once with the room's last sequence), then
// `GET /poll/ROOM?since=LAST&wait=25` again and again, each sent the moment
// the previous answer is read. The server keeps what was published between
// two polls in its history, so nothing is missed while a poll is not held.
extension LoadGenerator {
    /// Poll responses: the first one establishes the subscriber, every one sends the next poll.
    func receivePolls(_ connection: Connection<LoadGenerator>, _ bytes: UnsafeRawBufferPointer) -> Int {
        let now = monotonicNanoseconds()
        let statistics = self.statistics
        statistics.pointee.bytesReceived &+= UInt64(bytes.count)
        let window = span
        var state = connection.context
        let receiver = RoomReceiver(state)
        let isFirstPoll = state.phase == .handshaking
        var outcome = MessageOutcome.none
        let (consumed, result) = state.poll.read(bytes) { event in
            switch event {
            case .message(_, let data, let binary, let escaped):
                // Ours are text without escapes; the first poll (no `since`) has no messages and no tracker row yet.
                guard !binary, !escaped, !isFirstPoll, data.count > 0 else {
                    outcome.formUnion(.foreign)
                    return
                }
                outcome.formUnion(receiveRoomMessage(data.baseAddress!, length: data.count, now: now, window, receiver, TextMessageHeader.self))
            case .gap:
                statistics.pointee.historyGaps &+= 1
            }
        }
        connection.context = state
        if case .failure(let reason) = result {
            if isFirstPoll {
                reject(connection, reason)
            } else {
                fail(connection, "malformed poll response: \(reason)")
            }
            return bytes.count
        }
        if outcome.contains(.foreign) {
            if isFirstPoll {
                reject(connection, "the first poll returned messages or foreign data")
            } else {
                fail(connection, "a poll response with a message that is not wsbench's")
            }
            return bytes.count
        }
        guard case .complete(let last) = result else { return consumed }
        if consumed < bytes.count {
            // Only one poll is ever outstanding: nothing may follow its answer.
            fail(connection, "bytes after a poll response")
            return bytes.count
        }
        if isFirstPoll {
            established(connection)
        }
        if connection.isOpen && connection.context.phase == .open {
            sendPoll(connection, since: last)
        }
        return consumed
    }

    /// `GET /poll/ROOM?since=N&wait=25`, written in place into the cork.
    func sendPoll(_ connection: Connection<LoadGenerator>, since: UInt64) {
        let head = plan.pollRequestHead
        let tail = plan.pollRequestTail
        connection.write(reserving: head.count + 20 + tail.count) { buffer in
            let base = buffer.baseAddress!
            head.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var length = head.count
            length += Self.writeDecimal(since, to: base + length)
            tail.withUnsafeBytes { (base + length).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return length + tail.count
        }
    }

    /// `value` in decimal at `destination`; returns the digit count (at most 20).
    static func writeDecimal(_ value: UInt64, to destination: UnsafeMutableRawPointer) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        rest = value
        for index in stride(from: digits - 1, through: 0, by: -1) {
            destination.storeBytes(of: UInt8(48 + rest % 10), toByteOffset: index, as: UInt8.self)
            rest /= 10
        }
        return digits
    }
}
