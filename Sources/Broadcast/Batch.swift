import Reactor
import WebSocketCodec

/// The messages published to one room during one pass of its home loop,
/// encoded once per format in use, each format back to back in one
/// immutable shared buffer. Every subscriber on every loop sends from these
/// same bytes, and a caught-up subscriber sends the whole batch with one iovec.
public final class Batch: @unchecked Sendable {
    public let room: String
    /// The room sequence number of the first message.
    public let firstSequence: UInt64
    public let count: Int
    /// By `WireFormat.rawValue`; nil for a format not in use when it was sealed.
    let encodings: [Encoding?]
    /// Event names by message index; empty when no message has one.
    let names: [String?]
    /// Messages someone is left out of, by index, in message order, at most
    /// one entry per message. Usually empty.
    let exclusions: [(index: Int, exclusion: Exclusion)]
    /// The distinct subscribers left out of some message, for a quick "not me" check.
    let excludedSubscribers: [SubscriberID]
    let hasRoomExclusions: Bool

    init(room: String, firstSequence: UInt64, count: Int, encodings: [Encoding?], names: [String?],
         exclusions: [(index: Int, exclusion: Exclusion)]) {
        self.room = room
        self.firstSequence = firstSequence
        self.count = count
        self.encodings = encodings
        self.names = names
        self.exclusions = exclusions
        var distinct: [SubscriberID] = []
        for (_, exclusion) in exclusions {
            if let subscriber = exclusion.subscriber, !distinct.contains(subscriber) { distinct.append(subscriber) }
        }
        excludedSubscribers = distinct
        hasRoomExclusions = exclusions.contains { !$0.exclusion.membersOf.isEmpty }
    }

    public var lastSequence: UInt64 { firstSequence + UInt64(count) - 1 }

    func encoding(_ format: WireFormat) -> Encoding? { encodings[format.rawValue] }

    /// The encoded WebSocket frame of message `index`.
    public func frameRange(of index: Int) -> Range<Int> {
        let frames = encodings[WireFormat.webSocket.rawValue]!
        return frames.start(of: index)..<frames.ends[index]
    }

    /// Bytes message `index` holds across every wire format encoded with the
    /// batch: what keeping it (in history) costs.
    func storedSize(of index: Int) -> Int {
        encodings.reduce(0) { total, encoding in
            guard let encoding else { return total }
            return total + encoding.ends[index] - encoding.start(of: index)
        }
    }

    /// The WebSocket frames, back to back.
    public var frames: SharedBuffer { encodings[WireFormat.webSocket.rawValue]!.buffer }

    /// Encodes `format` from the WebSocket frames, for a batch sealed before
    /// the format was in use. Kept by the caller only while it delivers.
    func derive(_ format: WireFormat) -> Encoding {
        let frames = encodings[WireFormat.webSocket.rawValue]!
        var encoded: [[UInt8]] = []
        for index in 0..<count {
            let frame = UnsafeRawBufferPointer(rebasing: frames.buffer.bytes[frames.start(of: index)..<frames.ends[index]])
            let opcode = Opcode(rawValue: frame[0] & 0x0F) ?? .binary
            let headerSize = frame[1] & 0x7F == 127 ? 10 : (frame[1] & 0x7F == 126 ? 4 : 2)  // server frames: unmasked
            let message = BroadcastMessage(opcode: opcode, payload: Array(frame[headerSize...]), name: names.isEmpty ? nil : names[index])
            encoded.append(MessageEncoder.encode(format, sequence: firstSequence + UInt64(index), message: message))
        }
        let encoding = Encoding(capacity: encoded.reduce(0) { $0 + $1.count })
        for bytes in encoded { bytes.withUnsafeBytes { encoding.append($0) } }
        return encoding
    }
}

/// Accumulates a room's messages during a pass, on its home loop.
struct BatchBuilder {
    let room: String
    let firstSequence: UInt64
    let formats: WireFormats
    private(set) var count = 0
    private var encodings: [Encoding?]
    private var names: [String?] = []
    private var exclusions: [(index: Int, exclusion: Exclusion)] = []

    /// The batch is sealed once any format would pass `limit` bytes.
    let limit: Int

    /// Starts with room for `initialCapacity` bytes per format in `formats`.
    init(room: String, firstSequence: UInt64, formats: WireFormats, initialCapacity: Int, limit: Int) {
        self.room = room
        self.firstSequence = firstSequence
        self.formats = formats
        self.limit = limit
        encodings = WireFormat.allCases.map { formats.contains($0) ? Encoding(capacity: initialCapacity) : nil }
    }

    static func frameSize(of message: BroadcastMessage) -> Int {
        FrameEncoder.headerSize(payloadLength: message.payload.count, masked: false) + message.payload.count
    }

    /// Whether the message still belongs in this batch: the first always
    /// does; after it, no format may pass the limit (text formats can take up
    /// to six times the payload, for escapes).
    func fits(_ message: BroadcastMessage) -> Bool {
        guard count > 0 else { return true }
        let needed = formats.mask == WireFormat.webSocket.bit ? Self.frameSize(of: message) : Self.worstCaseSize(of: message)
        return encodings.allSatisfy { ($0?.buffer.count ?? 0) + needed <= limit }
    }

    static func worstCaseSize(of message: BroadcastMessage) -> Int {
        (message.payload.count + (message.name?.utf8.count ?? 0)) * 6 + 128
    }

    /// Encodes the message in every format; the caller checked `fits`.
    mutating func append(_ message: BroadcastMessage, exclusion: Exclusion) {
        let sequence = firstSequence + UInt64(count)
        if let frames = encodings[WireFormat.webSocket.rawValue] {
            message.payload.withUnsafeBytes { payload in
                frames.append(maximumSize: Self.frameSize(of: message)) {
                    FrameEncoder.encode(opcode: message.opcode, payload: payload, maskKey: nil, into: $0)
                }
            }
        }
        for format in WireFormat.allCases where format != .webSocket {
            guard let encoding = encodings[format.rawValue] else { continue }
            MessageEncoder.encode(format, sequence: sequence, message: message).withUnsafeBytes { encoding.append($0) }
        }
        if message.name != nil || !names.isEmpty {
            if names.isEmpty { names = Array(repeating: nil, count: count) }
            names.append(message.name)
        }
        if !exclusion.isEmpty { exclusions.append((count, exclusion)) }
        count += 1
    }

    var isEmpty: Bool { count == 0 }

    func seal() -> Batch {
        Batch(room: room, firstSequence: firstSequence, count: count, encodings: encodings, names: names, exclusions: exclusions)
    }
}
