import Broadcast
import Reactor
import Synchronization
import WebSocketCodec

/// A loop's stand-in for the server: records what each fake subscriber is
/// sent, parsing the frames as a client would, and can play a subscriber
/// that never reads (its queue only grows).
final class RecordingSink: DeliverySink, @unchecked Sendable {
    struct Received {
        var messages: [String] = []
        var queued = 0
        /// Messages that arrived compressed (permessage-deflate, RSV1).
        var compressed = 0
        /// The shared buffers its messages came from.
        var buffers: Set<ObjectIdentifier> = []
    }

    /// Inflates frames with RSV1 (permessage-deflate) when set; without it they are an error.
    var inflater: MessageInflater?

    let loop: EventLoop
    var received: [ConnectionID: Received] = [:]
    var stalled: Set<ConnectionID> = []
    var evicted: [ConnectionID] = []
    var gone: Set<ConnectionID> = []
    var memberships: [ConnectionID: Set<UInt32>] = [:]
    var deliverCalls = 0

    init(loop: EventLoop) { self.loop = loop }

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to subscriber: ConnectionID, lastSequence: UInt64) -> Int? {
        loop.assertInLoop()
        guard !gone.contains(subscriber) else { return nil }
        deliverCalls += 1
        var record = received[subscriber] ?? Received()
        for slice in slices {
            let bytes = UnsafeRawBufferPointer(start: slice.buffer.base + slice.start, count: slice.count)
            if stalled.contains(subscriber) {
                record.queued += bytes.count
            } else {
                let (payloads, compressed) = Self.payloads(of: bytes, inflater: inflater)
                record.messages += payloads
                record.compressed += compressed
                record.buffers.insert(ObjectIdentifier(slice.buffer))
            }
        }
        received[subscriber] = record
        return record.queued
    }

    func queuedBytes(of subscriber: ConnectionID) -> Int? {
        gone.contains(subscriber) ? nil : received[subscriber]?.queued ?? 0
    }

    func evict(_ subscriber: ConnectionID) { evicted.append(subscriber) }

    func isMember(_ subscriber: ConnectionID, ofRoom room: UInt32) -> Bool {
        memberships[subscriber]?.contains(room) ?? false
    }

    /// Server frames back to back → their text payloads, and how many were compressed. Slices
    /// always hold whole frames.
    static func payloads(of bytes: UnsafeRawBufferPointer, inflater: MessageInflater? = nil) -> (payloads: [String], compressed: Int) {
        var copy = Array(bytes)
        var result: [String] = []
        var compressed = 0
        copy.withUnsafeMutableBytes { buffer in
            var reader = WebSocketReader()
            var offset = 0
            while offset < buffer.count {
                let input = UnsafeMutableRawBufferPointer(rebasing: buffer[offset...])
                if buffer[offset] & 0x40 != 0 { compressed += 1 }
                let (event, consumed) = inflater.map { reader.read(input, role: .client, limits: WebSocketLimits(), inflater: $0) }
                    ?? reader.read(input, role: .client, limits: WebSocketLimits())
                offset += consumed
                switch event {
                case .message(_, let payload): result.append(String(decoding: payload, as: UTF8.self))
                case .needMore: precondition(consumed == 0 && offset == buffer.count, "a slice ended inside a frame")
                    return
                default: preconditionFailure("unexpected frame \(event)")
                }
            }
        }
        return (result, compressed)
    }
}

/// A broadcaster on a real group, with one recording sink per loop.
final class Harness: @unchecked Sendable {
    let group: EventLoopGroup
    let broadcaster: Broadcaster
    let sinks: [RecordingSink]

    init(loops: Int, configuration: BroadcastConfiguration = BroadcastConfiguration(),
         formats: WireFormatRegistry = WireFormatRegistry()) throws {
        group = try EventLoopGroup(loopCount: loops)
        broadcaster = Broadcaster(group: group, configuration: configuration, formats: formats)
        let made = Mutex<[Int: RecordingSink]>([:])
        let broadcaster = broadcaster
        group.onEveryLoop { loop in
            let sink = RecordingSink(loop: loop)
            broadcaster.part(on: loop).sink = sink
            made.withLock { $0[loop.index] = sink }
        }
        sinks = made.withLock { table in (0..<loops).map { table[$0]! } }
    }

    deinit { group.shutdown() }

    /// Runs `body` on loop `index` with its broadcaster part and sink, and waits.
    func on<Result: Sendable>(_ index: Int, _ body: @escaping @Sendable (LoopBroadcaster, RecordingSink) -> Result) -> Result {
        let result = Mutex<Result?>(nil)
        let done = Semaphore()
        let loop = group.loops[index]
        let sink = sinks[index]
        let broadcaster = broadcaster
        loop.execute {
            let value = body(broadcaster.part(on: loop), sink)
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    /// Lets every loop finish two passes (posts in flight land, batches are delivered).
    func settle() {
        for _ in 0..<4 { group.onEveryLoop { _ in } }
    }
}

