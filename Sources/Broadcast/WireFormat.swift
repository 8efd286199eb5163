import WebSocketCodec

/// One way a message goes out on the wire (a WebSocket frame, a Server-Sent
/// Event, a JSON element...). A room encodes each message once per format its
/// members use, and every member of that format sends the same bytes.
///
/// Formats are numbered by a `WireFormatRegistry` before the broadcaster
/// starts: the WebSocket frame is always format 0; a server adds one format
/// per kind of subscriber it carries, with the encoder that makes it.
public struct WireFormat: Hashable, Sendable, CustomStringConvertible {
    /// Position in the registry.
    public let index: Int

    init(index: Int) { self.index = index }

    /// A server WebSocket frame (unmasked, FIN set) carrying the payload as it is.
    public static let webSocket = WireFormat(index: 0)

    /// How many formats one broadcaster can tell apart: what fits in `RoomMembership`.
    public static let maximumCount = 32

    var bit: UInt32 { 1 << UInt32(index) }

    public var description: String { "format \(index)" }
}

/// Makes a format's bytes for one message: called once per message per format
/// in use, on the room's home loop, never per subscriber.
public protocol WireEncoder: Sendable {
    /// Appends the encoding of `message`, the room's message number `sequence`, to `output`.
    func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8])
    /// A bound on what `encode` appends for `message`: batches are sealed before they would pass
    /// their capacity, so it should be close, and must not be exceeded by much.
    func maximumSize(of message: BroadcastMessage) -> Int
}

/// The formats of one broadcaster, fixed before it is created.
public struct WireFormatRegistry: Sendable {
    public private(set) var encoders: [any WireEncoder] = [WebSocketFrameEncoder()]
    /// The permessage-deflate format, if one was registered (at most one).
    public private(set) var deflate: WireFormat?

    public init() {}

    /// Adds a format; its messages are made by `encoder`.
    public mutating func register(_ encoder: any WireEncoder) -> WireFormat {
        precondition(encoders.count < WireFormat.maximumCount, "more than \(WireFormat.maximumCount) wire formats")
        encoders.append(encoder)
        let format = WireFormat(index: encoders.count - 1)
        if encoder is WebSocketDeflateEncoder {
            precondition(deflate == nil, "one permessage-deflate format per broadcaster")
            deflate = format
        }
        return format
    }

    public var count: Int { encoders.count }

    func encoder(_ format: WireFormat) -> any WireEncoder { encoders[format.index] }
}

/// Format 0: the payload in one server frame. Batches encode it in place
/// (see `BatchBuilder`); this is its `WireEncoder` face, for everything else.
public struct WebSocketFrameEncoder: WireEncoder {
    public init() {}

    public func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8]) {
        output += FrameEncoder.frame(opcode: message.opcode, payload: message.payload)
    }

    public func maximumSize(of message: BroadcastMessage) -> Int {
        FrameEncoder.headerSize(payloadLength: message.payload.count, masked: false) + message.payload.count
    }
}

/// Format 0's frames for the peers that negotiated permessage-deflate (RFC 7692) with a window
/// of at least `windowBits`: each message deflated once, on the room's home loop, by that loop's
/// one compressor, into the frame every such peer is sent (see `BatchBuilder`); a message under
/// `minimumPayloadSize` bytes, or one that does not shrink, goes plain, which they also read.
///
/// This is its `WireEncoder` face, which makes the plain frame: what a batch sealed before the
/// format was in use gets (`Batch.derive`, on the subscriber's loop, which has no compressor of
/// the room's), valid for every such peer and never a second deflate.
public struct WebSocketDeflateEncoder: WireEncoder {
    public let windowBits: Int
    public let minimumPayloadSize: Int

    public init(windowBits: Int = 15, minimumPayloadSize: Int = DeflateFrameEncoder.defaultMinimumPayloadSize) {
        precondition(PerMessageDeflate.windowBitsRange.contains(windowBits), "window bits are 8-15")
        self.windowBits = windowBits
        self.minimumPayloadSize = minimumPayloadSize
    }

    /// The compressor a home loop keeps for this format.
    func makeCompressor() -> DeflateFrameEncoder {
        DeflateFrameEncoder(windowBits: windowBits, minimumPayloadSize: minimumPayloadSize)
    }

    public func encode(_ message: BroadcastMessage, sequence: UInt64, into output: inout [UInt8]) {
        WebSocketFrameEncoder().encode(message, sequence: sequence, into: &output)
    }

    public func maximumSize(of message: BroadcastMessage) -> Int {
        DeflateFrameEncoder.maximumFrameSize(payloadLength: message.payload.count)
    }
}

/// A set of formats, as a bit mask.
struct WireFormats: Equatable {
    var mask: UInt32 = 0

    func contains(_ format: WireFormat) -> Bool { mask & format.bit != 0 }
    mutating func insert(_ format: WireFormat) { mask |= format.bit }
    var isEmpty: Bool { mask == 0 }

    /// The formats in the set, lowest index first.
    var members: [WireFormat] {
        var remaining = mask
        var result: [WireFormat] = []
        while remaining != 0 {
            let index = remaining.trailingZeroBitCount
            result.append(WireFormat(index: index))
            remaining &= remaining - 1
        }
        return result
    }
}
