// Inflating permessage-deflate messages (RFC 7692 §7.2.2): the payload with 00 00 ff ff
// appended, inflated with raw DEFLATE, never past a bound.
//
// A whole message is inflated in one call, once its last frame is in, so no zlib state is
// half-way through a message between calls. That is what lets one inflater serve every
// connection of a loop whose peer compresses each message on its own (no context takeover):
// the stream is reset after each message. A peer that keeps its context needs an inflater of
// its own, whose window carries over from message to message.

import CZlib

public final class MessageInflater {
    /// The outcome of one message.
    public enum Outcome {
        /// The inflated payload, in this inflater's buffer: valid until its next use (keep the inflater alive meanwhile).
        case inflated(UnsafeRawBufferPointer)
        /// Inflating went past the bound; it stopped there, and the rest was never inflated.
        case tooBig
        /// Not valid DEFLATE data (zlib's reason).
        case invalid(String)
    }

    /// The window zlib inflates with: the negotiated one, but at least 9 (see `init`).
    public let windowBits: Int
    /// The peer keeps its compression context: the window carries over between messages.
    public let keepsContext: Bool
    /// zlib's stream (its state points back at it, so it must not move): made at the first
    /// message, so an inflater that never inflates costs no zlib state.
    private var stream: UnsafeMutablePointer<z_stream>?
    /// Where messages are inflated; kept between messages up to `retainedOutputCapacity`.
    private var output = ZlibOutput()
    /// The most output buffer kept from one message to the next (larger ones are freed at the
    /// next message): a loop's inflater reuses its buffer, a connection's keeps little.
    public let retainedOutputCapacity: Int
    /// The largest output buffer this inflater has had, for tests and statistics.
    public private(set) var peakOutputCapacity = 0
    /// The output buffer held now.
    public var heldOutputCapacity: Int { output.capacity }
    /// Compressed bytes zlib took for the last message: less than its payload when inflating stopped early.
    public private(set) var compressedBytesTakenByLastMessage = 0

    /// `windowBits`: the peer's window, 8-15. zlib compressors asked for 8 use 9 (zlib's raw
    /// deflate has no 256-byte window), so 8 is inflated with 9: what such a peer sends stays
    /// readable, and a 512-byte window reads anything a 256-byte one does.
    public init(windowBits: Int = 15, keepsContext: Bool, retainedOutputCapacity: Int? = nil) {
        precondition(PerMessageDeflate.windowBitsRange.contains(windowBits), "window bits are 8-15")
        self.windowBits = max(9, windowBits)
        self.keepsContext = keepsContext
        self.retainedOutputCapacity = retainedOutputCapacity ?? (keepsContext ? 0 : 64 << 10)
    }

    /// One inflater for every connection of a loop whose peer does not keep its context
    /// (`Parameters.peerKeepsContext` is false): any window, reset after each message.
    public static func sharedPerLoop() -> MessageInflater {
        MessageInflater(windowBits: 15, keepsContext: false)
    }

    /// The inflater a connection with these parameters needs of its own, or nil when the loop's
    /// shared one serves it.
    public static func forConnection(_ parameters: PerMessageDeflate.Parameters, as role: WebSocketRole) -> MessageInflater? {
        parameters.peerKeepsContext(as: role) ? MessageInflater(windowBits: parameters.peerWindowBits(as: role), keepsContext: true) : nil
    }

    deinit {
        if let stream {
            inflateEnd(stream)
            stream.deallocate()
        }
    }

    /// Inflates one message's payload (all its frames' payloads, in order) to at most `limit`
    /// bytes. Output grows as it is produced; once it passes `limit` inflating stops, the
    /// stream is reset and the buffer freed, so a bomb costs at most `limit` bytes and the time
    /// to inflate them.
    public func inflate(_ payload: UnsafeRawBufferPointer, limit: Int) -> Outcome {
        precondition(limit >= 0)
        if output.capacity > retainedOutputCapacity { output.release() }
        // The RFC's "compressed" empty message is one byte; an empty payload has nothing to inflate.
        guard payload.count > 0 else { return .inflated(UnsafeRawBufferPointer(start: output.base, count: 0)) }
        let stream = ensureStream()
        var produced = 0
        compressedBytesTakenByLastMessage = 0
        var outcome = feed(payload, to: stream, produced: &produced, limit: limit)
        if case .taken = outcome {
            outcome = withUnsafeBytes(of: Self.tail) { feed($0, to: stream, produced: &produced, limit: limit) }
            // All input taken, yet not at a block boundary: the payload was cut short.
            if case .taken = outcome, stream.pointee.data_type & 128 == 0 {
                outcome = .failed(.invalid("the compressed payload ends inside a DEFLATE block"))
            }
        }
        if case .failed(let failure) = outcome {
            inflateReset(stream)
            if case .tooBig = failure { output.release() }
            return failure
        }
        if !keepsContext { inflateReset(stream) }
        return .inflated(UnsafeRawBufferPointer(start: output.base, count: produced))
    }

    /// 00 00 ff ff: the empty stored block a sender's sync flush ended with, which it removed.
    private static let tail: UInt32 = UInt32(bigEndian: 0x0000_FFFF)

    private func ensureStream() -> UnsafeMutablePointer<z_stream> {
        if let stream { return stream }
        let made = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        made.initialize(to: z_stream())
        let status = czlib_inflate_init(made, -Int32(windowBits))  // negative: raw DEFLATE, no zlib header
        guard status == Z_OK else { fatalError("WebSocketCodec: inflateInit2 failed with \(status)") }
        stream = made
        return made
    }

    private enum Fed {
        /// All of the input went in.
        case taken
        /// A final block ended the stream (§7.2.3.4): whatever follows is ignored.
        case ended
        case failed(Outcome)
    }

    /// Feeds `input` to zlib, growing the output as it fills.
    private func feed(_ input: UnsafeRawBufferPointer, to stream: UnsafeMutablePointer<z_stream>,
                      produced: inout Int, limit: Int) -> Fed {
        var remaining = input
        while true {
            if produced == output.capacity {
                if produced > limit { return .failed(.tooBig) }
                // Doubles (from 4 KiB) up to one byte past the limit, which is how passing it is seen.
                output.grow(to: min(max(output.capacity * 2, 4096), limit + 1))
                peakOutputCapacity = max(peakOutputCapacity, output.capacity)
            }
            let chunk = min(remaining.count, Int(UInt32.max))
            let room = min(output.capacity - produced, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: remaining.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(chunk)
            stream.pointee.next_out = (output.base! + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            let status = CZlib.inflate(stream, Z_SYNC_FLUSH)
            let taken = chunk - Int(stream.pointee.avail_in)
            compressedBytesTakenByLastMessage += taken
            produced += room - Int(stream.pointee.avail_out)
            remaining = UnsafeRawBufferPointer(rebasing: remaining[taken...])
            if produced > limit { return .failed(.tooBig) }
            switch status {
            case Z_OK, Z_BUF_ERROR:
                // zlib stops when the input is used up or the output is full; only the latter needs another round.
                if stream.pointee.avail_out == 0 { continue }
                if remaining.isEmpty { return .taken }
                if taken == 0 { return .failed(.invalid("the compressed payload does not inflate: zlib made no progress")) }
            case Z_STREAM_END:
                endOfStream(stream)
                return .ended
            default:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                return .failed(.invalid("the compressed payload does not inflate: \(reason)"))
            }
        }
    }

    /// After a final block the stream is over; a peer that keeps its context still expects its
    /// window for the next message, so it is carried into the fresh stream.
    private func endOfStream(_ stream: UnsafeMutablePointer<z_stream>) {
        guard keepsContext else { return }  // reset after the message anyway
        let window = UnsafeMutablePointer<Bytef>.allocate(capacity: 1 << windowBits)
        defer { window.deallocate() }
        var length: uInt = 0
        inflateGetDictionary(stream, window, &length)
        inflateReset(stream)
        inflateSetDictionary(stream, window, length)
    }
}
