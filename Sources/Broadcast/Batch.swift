import Reactor
import WebSocketCodec

/// The messages published to one room during one pass of its home loop,
/// encoded once, back to back, into one immutable shared buffer. Every
/// subscriber on every loop sends from these same bytes, and a caught-up
/// subscriber sends the whole batch with one iovec.
public final class Batch: @unchecked Sendable {
    public let room: String
    /// The WebSocket frames of the messages, back to back.
    public let frames: SharedBuffer
    /// The room sequence number of the first message.
    public let firstSequence: UInt64
    /// End offset in `frames` of each message's frame.
    let ends: [Int]
    /// Messages someone is left out of, by index. Usually empty.
    let exclusions: [(index: Int, exclusion: Exclusion)]
    /// The distinct subscribers left out of some message, for a quick "not me" check.
    let excludedSubscribers: [SubscriberID]
    let hasRoomExclusions: Bool

    init(room: String, frames: SharedBuffer, firstSequence: UInt64, ends: [Int], exclusions: [(index: Int, exclusion: Exclusion)]) {
        self.room = room
        self.frames = frames
        self.firstSequence = firstSequence
        self.ends = ends
        self.exclusions = exclusions
        var distinct: [SubscriberID] = []
        for (_, exclusion) in exclusions {
            if let subscriber = exclusion.subscriber, !distinct.contains(subscriber) { distinct.append(subscriber) }
        }
        excludedSubscribers = distinct
        hasRoomExclusions = exclusions.contains { !$0.exclusion.membersOf.isEmpty }
    }

    public var count: Int { ends.count }
    public var lastSequence: UInt64 { firstSequence + UInt64(ends.count) - 1 }

    @inline(__always)
    func start(of index: Int) -> Int { index == 0 ? 0 : ends[index - 1] }

    /// The encoded frame of message `index`.
    public func frameRange(of index: Int) -> Range<Int> { start(of: index)..<ends[index] }
}

/// Accumulates a room's messages during a pass, on its home loop.
struct BatchBuilder {
    let room: String
    let buffer: SharedBuffer
    let firstSequence: UInt64
    var ends: [Int] = []
    var exclusions: [(index: Int, exclusion: Exclusion)] = []

    init(room: String, firstSequence: UInt64, capacity: Int) {
        self.room = room
        self.firstSequence = firstSequence
        buffer = SharedBuffer(capacity: capacity)
    }

    static func frameSize(of message: BroadcastMessage) -> Int {
        FrameEncoder.headerSize(payloadLength: message.payload.count, masked: false) + message.payload.count
    }

    func fits(_ message: BroadcastMessage) -> Bool { Self.frameSize(of: message) <= buffer.freeCapacity }

    /// Encodes the message as a server WebSocket frame; the caller checked `fits`.
    mutating func append(_ message: BroadcastMessage, exclusion: Exclusion) {
        let written = message.payload.withUnsafeBytes { payload in
            FrameEncoder.encode(opcode: message.opcode, payload: payload, maskKey: nil, into: buffer.base + buffer.count)
        }
        buffer.count += written
        if !exclusion.isEmpty { exclusions.append((ends.count, exclusion)) }
        ends.append(buffer.count)
    }

    var isEmpty: Bool { ends.isEmpty }

    func seal() -> Batch {
        Batch(room: room, frames: buffer, firstSequence: firstSequence, ends: ends, exclusions: exclusions)
    }
}
