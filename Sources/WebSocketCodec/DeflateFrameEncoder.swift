// Compress once, send to many: whole server frames for permessage-deflate peers, each message
// deflated on its own (no context), so one frame can go to every subscriber byte for byte.
//
// A peer's inflater only ever looks back into what it inflated, so a message compressed without
// context inflates the same whether or not that peer asked for server_no_context_takeover; what
// a peer does constrain is the window (server_max_window_bits), see `suits`. Messages that do not
// get smaller go plain (RSV1 clear), which every permessage-deflate peer also reads.

public final class DeflateFrameEncoder {
    /// Below this many payload bytes a message is sent plain without trying. Measured
    /// (`Benchmarks/deflate-sizes.sh`, results/deflate-sizes.md): a JSON message under 80 bytes
    /// (less than one quote) never shrinks, chat lines under 64 save at most 3 bytes (6%), and a
    /// deflate costs about 20k instructions before its first byte (24k for 16 bytes, 36k for 64:
    /// zlib's block setup, trees and flush), which a publish pays and each subscriber's inflate
    /// adds to. From 64 bytes most messages shrink (chat 86%, 9% saved), from 128 all do
    /// (12-23%), from 1 KiB by 60%.
    public static let defaultMinimumPayloadSize = 64

    /// The window messages are compressed with, as agreed (8-15; see `MessageDeflater`).
    public let windowBits: Int
    public let minimumPayloadSize: Int
    private let deflater: MessageDeflater
    /// Messages sent compressed and sent plain (too small, or not smaller compressed).
    public private(set) var compressedCount = 0
    public private(set) var plainCount = 0

    /// zlib's memory level for messages compressed each on its own: 4, not zlib's 8. Each starts
    /// from a cleared hash table, 2^(memoryLevel+8) bytes, and at 8 that 64 KiB memset is over a
    /// quarter of the work on a 1 KiB message. Measured with callgrind on zlib 1.2.13, level 6, JSON quotes: 256 B
    /// 73k instructions at 4 against 134k at 8, 1 KiB 154k against 211k, the same ratio; 8 KiB
    /// the same cost and ratio; 64 KiB 10% more work and 1% larger at 4.
    public static let memoryLevel: Int32 = 4

    /// One per loop that encodes: the deflater's state (zlib: about 2^(windowBits+2) + 8 KiB)
    /// is the only compression state the server keeps.
    public init(windowBits: Int = 15, level: Int32 = 6, minimumPayloadSize: Int = defaultMinimumPayloadSize) {
        precondition(PerMessageDeflate.windowBitsRange.contains(windowBits), "window bits are 8-15")
        self.windowBits = windowBits
        self.minimumPayloadSize = minimumPayloadSize
        deflater = MessageDeflater(windowBits: windowBits, keepsContext: false, level: level, memoryLevel: Self.memoryLevel)
    }

    /// The most bytes `encode` writes for a payload of this size: the plain frame's, since a
    /// compressed frame is used only when it is smaller.
    @inlinable
    public static func maximumFrameSize(payloadLength: Int, masked: Bool = false) -> Int {
        FrameEncoder.headerSize(payloadLength: payloadLength, masked: masked) + payloadLength
    }

    /// Writes one whole unfragmented frame for the message into `destination`, which has room
    /// for `maximumFrameSize`: RSV1 and the deflated payload when that frame is smaller than the
    /// plain one, else the plain frame. Masked with `maskKey` (clients). Returns its size and
    /// whether it is compressed.
    public func encode(
        opcode: Opcode, payload: UnsafeRawBufferPointer, maskKey: MaskKey? = nil, into destination: UnsafeMutableRawPointer
    ) -> (size: Int, compressed: Bool) {
        let masked = maskKey != nil
        let plainSize = FrameEncoder.headerSize(payloadLength: payload.count, masked: masked) + payload.count
        if payload.count >= minimumPayloadSize,
           let compressed = deflater.compress(payload, smallerThan: payload.count),
           FrameEncoder.headerSize(payloadLength: compressed.count, masked: masked) + compressed.count < plainSize {
            compressedCount += 1
            let size = FrameEncoder.encode(
                opcode: opcode, reservedBits: .rsv1, payload: compressed, maskKey: maskKey, into: destination)
            return (size, true)
        }
        plainCount += 1
        return (FrameEncoder.encode(opcode: opcode, payload: payload, maskKey: maskKey, into: destination), false)
    }

    /// One whole frame as a new array.
    public func frame(opcode: Opcode, payload: [UInt8], maskKey: MaskKey? = nil) -> [UInt8] {
        let capacity = Self.maximumFrameSize(payloadLength: payload.count, masked: maskKey != nil)
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, initialized in
            initialized = payload.withUnsafeBytes { bytes in
                encode(opcode: opcode, payload: bytes, maskKey: maskKey, into: UnsafeMutableRawPointer(out.baseAddress!)).size
            }
        }
    }

    /// Whether this encoder's frames may go to a peer with these parameters, for a message of
    /// `payloadLength` bytes: its window holds every match this encoder makes (no larger than
    /// the peer's), or the whole message (a match never reaches back past the message's start).
    public func suits(_ parameters: PerMessageDeflate.Parameters, payloadLength: Int) -> Bool {
        let peerBits = Int(parameters.serverMaxWindowBits)
        return windowBits <= peerBits || payloadLength <= 1 << peerBits
    }
}
