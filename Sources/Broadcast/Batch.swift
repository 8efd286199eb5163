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
    /// By `WireFormat.index`; nil for a format not in use when it was sealed.
    let encodings: [Encoding?]
    /// The messages as published, kept only when there are no WebSocket
    /// frames to recover them from (for a format that comes into use later).
    let originals: [BroadcastMessage]
    /// Event names by message index; empty when no message has one.
    let names: [String?]
    /// Keys and volatility by message index; empty when no message has either.
    let traits: [MessageTraits]
    /// Messages someone is left out of, by index, in message order, at most
    /// one entry per message. Usually empty.
    let exclusions: [(index: Int, exclusion: Exclusion)]
    /// The distinct subscribers left out of some message, for a quick "not me" check.
    let excludedSubscribers: [SubscriberID]
    let hasRoomExclusions: Bool
    let hasVolatile: Bool

    init(room: String, firstSequence: UInt64, count: Int, encodings: [Encoding?], originals: [BroadcastMessage], names: [String?],
         traits: [MessageTraits], exclusions: [(index: Int, exclusion: Exclusion)]) {
        self.room = room
        self.firstSequence = firstSequence
        self.count = count
        self.encodings = encodings
        self.originals = originals
        self.names = names
        self.traits = traits
        self.exclusions = exclusions
        var distinct: [SubscriberID] = []
        for (_, exclusion) in exclusions {
            if let subscriber = exclusion.subscriber, !distinct.contains(subscriber) { distinct.append(subscriber) }
        }
        excludedSubscribers = distinct
        hasRoomExclusions = exclusions.contains { !$0.exclusion.membersOf.isEmpty }
        hasVolatile = traits.contains { $0.isVolatile }
    }

    public var lastSequence: UInt64 { firstSequence + UInt64(count) - 1 }

    func encoding(_ format: WireFormat) -> Encoding? {
        format.index < encodings.count ? encodings[format.index] : nil
    }

    /// Who is left out of message `index`, if anyone.
    func exclusion(of index: Int) -> Exclusion? {
        exclusions.first { $0.index == index }?.exclusion
    }

    /// Bytes message `index` holds across every wire format encoded with the
    /// batch, and its kept original: what keeping it (in history) costs.
    func storedSize(of index: Int) -> Int {
        let encoded = encodings.reduce(0) { total, encoding in
            guard let encoding else { return total }
            return total + encoding.ends[index] - encoding.start(of: index)
        }
        return encoded + (originals.isEmpty ? 0 : originals[index].payload.count)
    }

    /// Message `index` as it was published.
    func message(at index: Int) -> BroadcastMessage {
        if !originals.isEmpty { return originals[index] }
        let frames = encodings[WireFormat.webSocket.index]!
        let frame = UnsafeRawBufferPointer(rebasing: frames.buffer.bytes[frames.start(of: index)..<frames.ends[index]])
        let opcode = Opcode(rawValue: frame[0] & 0x0F) ?? .binary
        let headerSize = frame[1] & 0x7F == 127 ? 10 : (frame[1] & 0x7F == 126 ? 4 : 2)  // server frames: unmasked
        let traits = traits(of: index)
        return BroadcastMessage(opcode: opcode, payload: Array(frame[headerSize...]), name: names.isEmpty ? nil : names[index],
                                key: traits.key, isVolatile: traits.isVolatile)
    }

    /// Message `index`'s key and volatility.
    func traits(of index: Int) -> MessageTraits {
        traits.isEmpty ? MessageTraits() : traits[index]
    }

    /// Encodes `format` for a batch sealed before the format was in use. Kept
    /// by the caller only while it delivers.
    func derive(_ format: WireFormat, with encoder: any WireEncoder) -> Encoding {
        var encoded: [UInt8] = []
        let encoding = Encoding(capacity: 0)
        for index in 0..<count {
            encoded.removeAll(keepingCapacity: true)
            encoder.encode(message(at: index), sequence: firstSequence + UInt64(index), into: &encoded)
            encoded.withUnsafeBytes { encoding.append($0) }
        }
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
    private let encoders: WireFormatRegistry
    /// The home loop's compressor, when the permessage-deflate format is in `formats`.
    private let compressor: DeflateFrameEncoder?
    private var originals: [BroadcastMessage] = []
    private var names: [String?] = []
    private var traits: [MessageTraits] = []
    private var exclusions: [(index: Int, exclusion: Exclusion)] = []
    /// Reused for every message of every format encoded through a `WireEncoder`.
    private var scratch: [UInt8] = []

    /// The batch is sealed once any format would pass `limit` bytes.
    let limit: Int

    /// Starts with room for `initialCapacity` bytes per format in `formats`. `compressor` makes
    /// the permessage-deflate format's frames, if it is one of them.
    init(room: String, firstSequence: UInt64, formats: WireFormats, encoders: WireFormatRegistry, compressor: DeflateFrameEncoder?,
         initialCapacity: Int, limit: Int) {
        precondition(encoders.deflate.map { !formats.contains($0) || compressor != nil } ?? true, "the deflate format needs a compressor")
        self.room = room
        self.firstSequence = firstSequence
        self.formats = formats
        self.encoders = encoders
        self.compressor = compressor
        self.limit = limit
        encodings = (0..<encoders.count).map { formats.contains(WireFormat(index: $0)) ? Encoding(capacity: initialCapacity) : nil }
    }

    static func frameSize(of message: BroadcastMessage) -> Int {
        FrameEncoder.headerSize(payloadLength: message.payload.count, masked: false) + message.payload.count
    }

    /// The most bytes one format's encoding of `message` may take.
    static func largestEncoding(of message: BroadcastMessage, formats: WireFormats, encoders: WireFormatRegistry) -> Int {
        // Deflated frames are never larger than the plain one.
        if formats.mask & ~(WireFormat.webSocket.bit | (encoders.deflate?.bit ?? 0)) == 0 { return frameSize(of: message) }
        return formats.members.reduce(frameSize(of: message)) { max($0, encoders.encoder($1).maximumSize(of: message)) }
    }

    /// Whether the message still belongs in this batch: the first always
    /// does; after it, no format may pass the limit.
    func fits(_ message: BroadcastMessage) -> Bool {
        guard count > 0 else { return true }
        let needed = Self.largestEncoding(of: message, formats: formats, encoders: encoders)
        return encodings.allSatisfy { ($0?.buffer.count ?? 0) + needed <= limit }
    }

    /// Encodes the message in every format; the caller checked `fits`. True when it was deflated
    /// (for the permessage-deflate format), which happens here once whatever the subscriber count.
    @discardableResult
    mutating func append(_ message: BroadcastMessage, exclusion: Exclusion) -> Bool {
        let sequence = firstSequence + UInt64(count)
        var deflated = false
        if let frames = encodings[WireFormat.webSocket.index] {
            // The common format, encoded in place.
            message.payload.withUnsafeBytes { payload in
                frames.append(maximumSize: Self.frameSize(of: message)) {
                    FrameEncoder.encode(opcode: message.opcode, payload: payload, maskKey: nil, into: $0)
                }
            }
        } else {
            originals.append(message)
        }
        for index in 1..<encodings.count {
            guard let encoding = encodings[index] else { continue }
            if index == encoders.deflate?.index, let compressor {
                // Deflated in place: no copy of the frame, and its size is known only once made.
                message.payload.withUnsafeBytes { payload in
                    encoding.append(maximumSize: DeflateFrameEncoder.maximumFrameSize(payloadLength: payload.count)) {
                        let frame = compressor.encode(opcode: message.opcode, payload: payload, into: $0)
                        deflated = frame.compressed
                        return frame.size
                    }
                }
                continue
            }
            scratch.removeAll(keepingCapacity: true)
            encoders.encoder(WireFormat(index: index)).encode(message, sequence: sequence, into: &scratch)
            scratch.withUnsafeBytes { encoding.append($0) }
        }
        if message.name != nil || !names.isEmpty {
            if names.isEmpty { names = Array(repeating: nil, count: count) }
            names.append(message.name)
        }
        if message.key != nil || message.isVolatile || !traits.isEmpty {
            if traits.isEmpty { traits = Array(repeating: MessageTraits(), count: count) }
            traits.append(MessageTraits(key: message.key, isVolatile: message.isVolatile))
        }
        if !exclusion.isEmpty { exclusions.append((count, exclusion)) }
        count += 1
        return deflated
    }

    var isEmpty: Bool { count == 0 }

    func seal() -> Batch {
        Batch(room: room, firstSequence: firstSequence, count: count, encodings: encodings, originals: originals, names: names,
              traits: traits, exclusions: exclusions)
    }
}

/// What the delivery policy of a member that is behind looks at.
struct MessageTraits {
    var key: String?
    var isVolatile = false
}
