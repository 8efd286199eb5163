import Reactor

// The sse scenario's subscribers: `GET /sse/ROOM`, then one chunked
// `text/event-stream` for the rest of the run, read in place.
extension LoadGenerator {
    /// The response head: 200 and chunked, or the subscriber failed to join.
    func receiveEventStreamHead(_ connection: Connection<LoadGenerator>, _ bytes: UnsafeRawBufferPointer) -> Int {
        switch HTTPResponseHead.parse(bytes) {
        case .needMore:
            return 0
        case .invalid(let reason):
            reject(connection, reason)
            return bytes.count
        case .complete(let head):
            guard head.status == 200 else {
                reject(connection, "/sse/ answered with status \(head.status)")
                return bytes.count
            }
            guard head.isChunked else {
                reject(connection, "the event stream is not chunked")
                return bytes.count
            }
            established(connection)
            guard connection.isOpen else { return bytes.count }
            return head.length + receiveEventStream(connection, UnsafeRawBufferPointer(rebasing: bytes[head.length...]))
        }
    }

    /// Events: each unnamed event's `data:` line is one message, booked like a WebSocket frame.
    func receiveEventStream(_ connection: Connection<LoadGenerator>, _ bytes: UnsafeRawBufferPointer) -> Int {
        let now = monotonicNanoseconds()
        let statistics = self.statistics
        statistics.pointee.bytesReceived &+= UInt64(bytes.count)
        let window = span
        var state = connection.context
        let receiver = RoomReceiver(state)
        var outcome = MessageOutcome.none
        let (consumed, result) = state.eventStream.read(bytes) { event in
            switch event {
            case .data(let value, let kind, let continuation):
                switch kind {
                case .message where !continuation && value.count > 0:
                    outcome.formUnion(receiveRoomMessage(value.baseAddress!, length: value.count, now: now, window, receiver, TextMessageHeader.self))
                case .gap where !continuation:
                    statistics.pointee.historyGaps &+= 1
                case .gap:
                    break
                default:
                    // A second data line, an empty one, a binary (Base64) or otherwise named event: not ours.
                    outcome.formUnion(.foreign)
                }
            }
        }
        connection.context = state
        switch result {
        case .needMore:
            break
        case .ended:
            fail(connection, "the server ended the event stream")
            return bytes.count
        case .failure(let reason):
            fail(connection, "malformed event stream: \(reason)")
            return bytes.count
        }
        if outcome.contains(.foreign) {
            fail(connection, "an event that is not a wsbench message")
            return bytes.count
        }
        return consumed
    }
}
