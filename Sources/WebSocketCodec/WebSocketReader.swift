// Incremental RFC 6455 frame reader (§5): bytes in, one event out per call.
//
// Zero-copy shape: a complete unfragmented frame in the input is unmasked in place and handed out
// where it lies. A small incomplete frame is left unconsumed for the caller to present again with
// more bytes. Only a frame larger than `streamingThreshold`, or a fragmented message, is copied
// (unmasked on the way) into a `PartialMessage`, which is released once the message is delivered.
//
// Reserved bits are errors unless a negotiated extension owns them (`MessageDecoder`): with
// permessage-deflate, RSV1 on a data message's first frame marks it compressed, and the whole
// message is inflated once its last frame is in.

/// Per-connection reader state: one word, no allocation between messages. The `PartialMessage` of
/// a delivered fragmented or streamed message is released at the start of the next `read` (its
/// bytes stay valid until then), so a caller that reads until `.needMore`, as it must, leaves the
/// reader idle.
public struct WebSocketReader {
    @usableFromInline
    enum State {
        case idle
        case partial(PartialMessage)
        case failed
    }

    @usableFromInline
    var state: State

    @inlinable
    public init() {
        state = .idle
    }

    /// No message or frame partly received: the reader holds no allocation.
    /// False while a message is in progress and after a failure.
    public var isIdle: Bool {
        if case .idle = state { return true }
        return false
    }

    /// True once a `.failure` was returned; every later `read` returns a failure again.
    public var isFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    /// Text frames this small that arrive incomplete are UTF-8-checked as far as they go, without
    /// being consumed, so bad text fails before the rest arrives. Bounded so that a frame trickling
    /// in byte by byte costs at most this much rescanning per call.
    @usableFromInline
    static var failFastPeekLimit: Int { 4096 }

    /// Parses from the start of `input`, unmasking payloads in place. Returns one event and the
    /// bytes of `input` it consumed. Call again on the rest until `.needMore`; bytes not consumed
    /// must be presented again, with more appended, on the next call. Buffers in the event are valid
    /// until the next call. No extension: any reserved bit fails the connection (1002).
    public mutating func read(
        _ input: UnsafeMutableRawBufferPointer, role: WebSocketRole, limits: WebSocketLimits
    ) -> (event: WebSocketEvent, consumed: Int) {
        read(input, role: role, limits: limits, decoder: PlainMessages())
    }

    /// The same on a connection that negotiated permessage-deflate (RFC 7692 §6): RSV1 may be set
    /// on the first frame of a data message (on a continuation or control frame it is a 1002),
    /// and such a message is inflated by `inflater` once its last frame is in. The compressed
    /// payload is held to `limits.maxCompressedMessageSize` as it arrives, and the inflated one to
    /// `limits.maxMessageSize`: inflating stops as soon as it passes the limit (1009, the rest
    /// never inflated). Data that does not
    /// inflate, or inflated text that is not UTF-8, is a 1007. An inflated message's bytes live in
    /// the inflater: valid until its next use, by this reader or another sharing it.
    public mutating func read(
        _ input: UnsafeMutableRawBufferPointer, role: WebSocketRole, limits: WebSocketLimits, inflater: MessageInflater
    ) -> (event: WebSocketEvent, consumed: Int) {
        read(input, role: role, limits: limits, decoder: inflater)
    }

    @inline(__always)
    private mutating func read<Decoder: MessageDecoder>(
        _ input: UnsafeMutableRawBufferPointer, role: WebSocketRole, limits: WebSocketLimits, decoder: Decoder
    ) -> (event: WebSocketEvent, consumed: Int) {
        switch state {
        case .idle:
            break
        case .partial(let message):
            if message.delivered { state = .idle }  // its bytes were valid until this call
        case .failed:
            return (.failure(.protocolError, reason: "read after the connection failed"), 0)
        }
        guard let base = input.baseAddress else { return (.needMore, 0) }
        let total = input.count
        var offset = 0

        while true {
            let open: PartialMessage?
            if case .partial(let message) = state { open = message } else { open = nil }

            // The rest of a frame being streamed into the partial message.
            if let message = open, message.frameRemaining > 0 {
                let length = Swift.min(message.frameRemaining, total - offset)
                let finalSize = message.frameFin ? message.count + message.frameRemaining : limits.maxMessageSize
                guard let phase = message.append(
                    base + offset, length: length, mask: message.frameMask, phase: message.framePhase, finalSize: finalSize)
                else {
                    return fail(.invalidPayload, "text message is not valid UTF-8", consumed: offset)
                }
                message.framePhase = phase
                message.frameRemaining -= length
                offset += length
                if message.frameRemaining > 0 { return (.needMore, offset) }
                if message.frameFin { return finish(message, decoder: decoder, limits: limits, consumed: offset) }
                continue
            }

            let available = total - offset
            if available < 2 { return (.needMore, offset) }
            let first = base.load(fromByteOffset: offset, as: UInt8.self)
            let second = base.load(fromByteOffset: offset + 1, as: UInt8.self)

            // Everything decidable from the first two bytes fails before waiting for more.
            let fin = first & 0x80 != 0
            let opcodeBits = first & 0x0F
            let reserved = first & 0x70
            if reserved != 0 {
                // Only a data message's first frame may carry reserved bits, and only an extension's.
                guard reserved & ~decoder.messageReservedBits == 0, opcodeBits == 1 || opcodeBits == 2 else {
                    return fail(.protocolError, Self.reservedBitsReason(reserved, opcodeBits, decoder.messageReservedBits), consumed: offset)
                }
            }
            // A new compressed message, or a frame of one (false, and folded away, without an extension).
            let compressed = decoder.messageReservedBits != 0 && (opcodeBits == 0 ? open?.compressed == true : reserved != 0)
            let masked = second & 0x80 != 0
            switch role {
            case .server where !masked:
                return fail(.protocolError, "unmasked frame from a client", consumed: offset)
            case .client where masked:
                return fail(.protocolError, "masked frame from a server", consumed: offset)
            default:
                break
            }
            let shortLength = Int(second & 0x7F)
            switch opcodeBits {
            case 0:
                if open == nil {
                    return fail(.protocolError, "continuation frame without a message to continue", consumed: offset)
                }
            case 1, 2:
                if open != nil {
                    return fail(.protocolError, "new data frame inside a fragmented message", consumed: offset)
                }
            case 8, 9, 10:
                if !fin { return fail(.protocolError, "fragmented control frame", consumed: offset) }
                if shortLength > 125 {
                    return fail(.protocolError, "control frame payload over 125 bytes", consumed: offset)
                }
            default:
                return fail(.protocolError, "reserved opcode \(opcodeBits)", consumed: offset)
            }

            var headerLength = masked ? 6 : 2
            var length = shortLength
            if shortLength == 126 {
                if available < 4 { return (.needMore, offset) }
                length = Int(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self)))
                headerLength += 2
            } else if shortLength == 127 {
                if available < 10 { return (.needMore, offset) }
                let long = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: offset + 2, as: UInt64.self))
                // A compressed message may be a little larger (see `WebSocketLimits`): checked only past the plain limit.
                if long > UInt64(limits.maxMessageSize), !compressed || long > UInt64(limits.maxCompressedMessageSize) {
                    return tooBig(limits, compressed: compressed, consumed: offset)
                }
                length = Int(long)
                headerLength += 8
            }
            let isControl = opcodeBits >= 8
            if !isControl && length > limits.maxMessageSize - (open?.count ?? 0),
               !compressed || length > limits.maxCompressedMessageSize - (open?.count ?? 0) {
                return tooBig(limits, compressed: compressed, consumed: offset)
            }
            if available < headerLength { return (.needMore, offset) }
            let mask = masked ? MaskKey(loadingFrom: base + offset + headerLength - 4) : nil
            let payloadStart = offset + headerLength

            guard available - headerLength >= length else {
                // Incomplete frame: keep small ones in the caller's buffer, stream large data frames.
                if isControl || headerLength + length <= limits.streamingThreshold {
                    let isText = opcodeBits == 1 || (opcodeBits == 0 && open?.opcode == .text)
                    if isText && !compressed && length <= Self.failFastPeekLimit {
                        var validator = open?.validator ?? UTF8Validator()
                        let prefix = UnsafeRawBufferPointer(start: base + payloadStart, count: available - headerLength)
                        if !Self.peekValidate(prefix, mask: mask, into: &validator) {
                            return fail(.invalidPayload, "text message is not valid UTF-8", consumed: offset)
                        }
                    }
                    return (.needMore, offset)
                }
                let message = open ?? PartialMessage(opcode: opcodeBits == 1 ? .text : .binary, compressed: compressed)
                if open == nil { state = .partial(message) }
                message.frameRemaining = length
                message.frameFin = fin
                message.frameMask = mask
                message.framePhase = 0
                offset = payloadStart
                continue
            }

            // A complete frame.
            let payload = UnsafeMutableRawBufferPointer(start: base + payloadStart, count: length)
            let end = payloadStart + length
            if isControl {
                if let mask { applyMask(payload, key: mask, phase: 0) }
                return control(opcodeBits, UnsafeRawBufferPointer(payload), consumed: end)
            }
            if let message = open {
                let finalSize = fin ? message.count + length : limits.maxMessageSize
                if message.append(base + payloadStart, length: length, mask: mask, phase: 0, finalSize: finalSize) == nil {
                    return fail(.invalidPayload, "text message is not valid UTF-8", consumed: offset)
                }
                if fin { return finish(message, decoder: decoder, limits: limits, consumed: end) }
                offset = end
                continue
            }
            let opcode: Opcode = opcodeBits == 1 ? .text : .binary
            if fin {
                if let mask { applyMask(payload, key: mask, phase: 0) }
                if compressed { return decode(opcode, UnsafeRawBufferPointer(payload), decoder: decoder, limits: limits, consumed: end) }
                if opcode == .text && !UTF8Validator.isValid(UnsafeRawBufferPointer(payload)) {
                    return fail(.invalidPayload, "text message is not valid UTF-8", consumed: offset)
                }
                return (.message(opcode, UnsafeRawBufferPointer(payload)), end)
            }
            let message = PartialMessage(opcode: opcode, compressed: compressed)
            state = .partial(message)
            if message.append(base + payloadStart, length: length, mask: mask, phase: 0, finalSize: limits.maxMessageSize) == nil {
                return fail(.invalidPayload, "text message is not valid UTF-8", consumed: offset)
            }
            offset = end
        }
    }

    private mutating func finish<Decoder: MessageDecoder>(
        _ message: PartialMessage, decoder: Decoder, limits: WebSocketLimits, consumed: Int
    ) -> (event: WebSocketEvent, consumed: Int) {
        if message.compressed {
            // The compressed bytes are not needed once inflated: the message's bytes live in the decoder.
            state = .idle
            return decode(message.opcode, message.bytes, decoder: decoder, limits: limits, consumed: consumed)
        }
        if message.opcode == .text && !message.validator.isAtBoundary {
            return fail(.invalidPayload, "text message ends inside a UTF-8 sequence", consumed: consumed)
        }
        message.delivered = true
        return (.message(message.opcode, message.bytes), consumed)
    }

    /// A whole compressed message: decoded within the size limit, then checked like any other.
    private mutating func decode<Decoder: MessageDecoder>(
        _ opcode: Opcode, _ payload: UnsafeRawBufferPointer, decoder: Decoder, limits: WebSocketLimits, consumed: Int
    ) -> (event: WebSocketEvent, consumed: Int) {
        switch decoder.decode(payload, limit: limits.maxMessageSize) {
        case .inflated(let bytes):
            if opcode == .text && !UTF8Validator.isValid(bytes) {
                return fail(.invalidPayload, "text message is not valid UTF-8", consumed: consumed)
            }
            return (.message(opcode, bytes), consumed)
        case .tooBig:
            return fail(.messageTooBig, "message larger than \(limits.maxMessageSize) bytes once inflated", consumed: consumed)
        case .invalid(let reason):
            return fail(.invalidPayload, reason, consumed: consumed)
        }
    }

    /// Why reserved bits fail a frame: no extension owns them, or the frame may not carry them.
    private static func reservedBitsReason(_ reserved: UInt8, _ opcodeBits: UInt8, _ owned: UInt8) -> String {
        if owned == 0 { return "reserved bits set without a negotiated extension" }
        if reserved & ~owned != 0 { return "reserved bits 0x\(String(reserved & ~owned, radix: 16)) set that no negotiated extension uses" }
        switch opcodeBits {
        case 0: return "RSV1 set on a continuation frame"
        case 8, 9, 10: return "RSV1 set on a control frame"
        default: return "reserved bits set on a frame of reserved opcode \(opcodeBits)"
        }
    }

    private mutating func control(
        _ opcodeBits: UInt8, _ payload: UnsafeRawBufferPointer, consumed: Int
    ) -> (event: WebSocketEvent, consumed: Int) {
        switch opcodeBits {
        case 9:
            return (.ping(payload), consumed)
        case 10:
            return (.pong(payload), consumed)
        default:
            if payload.isEmpty { return (.close(code: nil, reason: payload), consumed) }
            if payload.count == 1 {
                return fail(.protocolError, "close payload of 1 byte", consumed: consumed)
            }
            let code = CloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
            if !code.isValidOnWire {
                return fail(.protocolError, "close code \(code.rawValue) is not valid on the wire", consumed: consumed)
            }
            let reason = UnsafeRawBufferPointer(rebasing: payload[2...])
            if !UTF8Validator.isValid(reason) {
                return fail(.invalidPayload, "close reason is not valid UTF-8", consumed: consumed)
            }
            return (.close(code: code, reason: reason), consumed)
        }
    }

    private mutating func tooBig(_ limits: WebSocketLimits, compressed: Bool, consumed: Int) -> (event: WebSocketEvent, consumed: Int) {
        let reason = compressed ? "compressed message larger than \(limits.maxCompressedMessageSize) bytes"
            : "message larger than \(limits.maxMessageSize) bytes"
        return fail(.messageTooBig, reason, consumed: consumed)
    }

    private mutating func fail(_ code: CloseCode, _ reason: String, consumed: Int) -> (event: WebSocketEvent, consumed: Int) {
        state = .failed
        return (.failure(code, reason: reason), consumed)
    }

    /// Checks the received part of a masked or unmasked payload without changing the input.
    private static func peekValidate(
        _ bytes: UnsafeRawBufferPointer, mask: MaskKey?, into validator: inout UTF8Validator
    ) -> Bool {
        guard let mask else { return validator.validate(bytes) }
        return withUnsafeTemporaryAllocation(byteCount: 256, alignment: 8) { scratch in
            var offset = 0
            var phase = 0
            while offset < bytes.count {
                let length = Swift.min(256, bytes.count - offset)
                phase = applyMask(from: bytes.baseAddress! + offset, to: scratch.baseAddress!, count: length, key: mask, phase: phase)
                if !validator.validate(UnsafeRawBufferPointer(rebasing: scratch[..<length])) { return false }
                offset += length
            }
            return true
        }
    }
}
