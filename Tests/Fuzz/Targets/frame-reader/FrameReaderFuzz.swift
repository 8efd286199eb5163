// Fuzzes WebSocketReader in both roles with small limits, so the 1009 paths,
// the streaming path and fragmented messages are all within a few bytes' reach.
//
// Input: [role][max message][streaming threshold][split seed] then the stream.
// Invariants, beyond "no crash" (ASan guards every read: each call gets a
// buffer allocated to exactly the bytes presented):
//   - a call consumes at most what it was given, and after `.needMore` the
//     caller keeps at most max(streaming threshold, 131) bytes (a masked
//     control frame): memory per connection is bounded by the limits;
//   - a message never exceeds the limit; text and close reasons are UTF-8 by
//     the standard library's decoder; control payloads fit 125 bytes; close
//     codes are valid on the wire; a failed reader stays failed;
//   - the events do not depend on how the bytes were split;
//   - a frame read whole re-encodes (same opcode, mask, minimal length) to the
//     very bytes it came from, when those used the minimal length form;
//   - the events re-encoded and read again give the same events.

import FuzzSupport
import WebSocketCodec

#if canImport(Glibc)
import Glibc
#endif

// Also exported under libFuzzer's name: its runtime refers to it even when main.swift starts the driver.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameReader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let role: WebSocketRole = input.byte() & 1 == 0 ? .server : .client
    let limits = WebSocketLimits(
        maxMessageSize: input.pick([0, 1, 20, 125, 126, 300, 65_535, 65_536, 1 << 20]),
        streamingThreshold: input.pick([2, 14, 64, 131, 1024, 65_536]))
    let splitSeed = input.byte()
    let stream = input.rest

    let whole = ReaderRun(stream, splits: [], role: role, limits: limits)
    let split = ReaderRun(stream, splits: splitPoints(count: stream.count, seed: splitSeed), role: role, limits: limits)
    invariant(whole.events == split.events, "events depend on the split: \(whole.events) vs \(split.events)")

    checkReencodesToTheSameBytes(whole, stream: stream)
    checkRoundTrip(whole, role: role, limits: limits)
    return 0
}

/// A single unfragmented frame read in one call, in the minimal length form,
/// re-encodes to exactly its bytes.
private func checkReencodesToTheSameBytes(_ run: ReaderRun, stream: [UInt8]) {
    for (event, span) in zip(run.events, run.spans) {
        guard let payload = event.payload, span.count >= 2 else { continue }
        let first = stream[span.lowerBound], second = stream[span.lowerBound + 1]
        guard first & 0x80 != 0, first & 0x0F != 0 else { continue }  // FIN, not a continuation
        let masked = second & 0x80 != 0
        let lengthForm = Int(second & 0x7F)
        let minimal = lengthForm < 126 ? payload.count == lengthForm
            : lengthForm == 126 ? (126...0xFFFF).contains(payload.count) : payload.count > 0xFFFF
        let header = FrameEncoder.headerSize(payloadLength: payload.count, masked: masked)
        guard minimal, span.count == header + payload.count else { continue }
        let mask = masked ? Array(stream[(span.lowerBound + header - 4)..<(span.lowerBound + header)]) : nil
        let encoded = FrameEncoder.frame(
            opcode: Opcode(rawValue: first & 0x0F)!, payload: payload,
            maskKey: mask.map { MaskKey($0[0], $0[1], $0[2], $0[3]) })
        invariant(encoded == Array(stream[span]), "\(event) does not re-encode to the bytes it was read from")
    }
}

/// What was read, encoded again as one frame per event, reads back as the same events.
private func checkRoundTrip(_ run: ReaderRun, role: WebSocketRole, limits: WebSocketLimits) {
    let accepted = run.events.filter { $0.payload != nil }
    var bytes: [UInt8] = []
    for event in accepted {
        bytes += FrameEncoder.frame(
            opcode: event.opcode!, payload: event.payload!, maskKey: role == .server ? MaskKey(0xA1, 0x07, 0x5C, 0xE3) : nil)
    }
    let again = ReaderRun(bytes, splits: [], role: role, limits: limits)
    invariant(again.events == accepted, "re-encoded events read back differently: \(again.events) vs \(accepted)")
}

/// An event with its bytes copied out, so runs can be compared.
enum Recorded: Equatable, CustomStringConvertible {
    case message(Opcode, [UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, [UInt8])
    case failure(UInt16)

    /// The frame payload the event stands for; nil for a failure.
    var payload: [UInt8]? {
        switch self {
        case .message(_, let bytes), .ping(let bytes), .pong(let bytes): return bytes
        case .close(nil, _): return []
        case .close(let code?, let reason): return [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
        case .failure: return nil
        }
    }

    var opcode: Opcode? {
        switch self {
        case .message(let opcode, _): return opcode
        case .ping: return .ping
        case .pong: return .pong
        case .close: return .close
        case .failure: return nil
        }
    }

    var description: String {
        switch self {
        case .message(let opcode, let bytes): return "message(\(opcode.rawValue), \(bytes.count) bytes)"
        case .ping(let bytes): return "ping(\(bytes.count))"
        case .pong(let bytes): return "pong(\(bytes.count))"
        case .close(let code, let reason): return "close(\(code.map(String.init) ?? "nil"), \(reason.count))"
        case .failure(let code): return "failure(\(code))"
        }
    }
}

/// Plays the server's (or wsbench's) part: appends each piece to what it kept,
/// reads until `.needMore`, keeps what was not consumed; stops at a failure.
/// Checks every event and every call as it goes.
struct ReaderRun {
    private(set) var events: [Recorded] = []
    /// For each event, the bytes of the stream the call that produced it consumed.
    private(set) var spans: [Range<Int>] = []

    init(_ stream: [UInt8], splits: [Int], role: WebSocketRole, limits: WebSocketLimits) {
        var reader = WebSocketReader()
        var kept: [UInt8] = []
        var keptFrom = 0  // stream offset of kept[0]
        var start = 0
        for end in splits + [stream.count] {
            kept += stream[start..<end]
            start = end
            let consumed = readAll(&reader, kept, from: keptFrom, role: role, limits: limits)
            kept.removeFirst(consumed)
            keptFrom += consumed
            if case .failure = events.last { break }
            invariant(kept.count <= max(limits.streamingThreshold, 131),
                      "the caller is left holding \(kept.count) bytes (threshold \(limits.streamingThreshold))")
        }
    }

    /// Reads `kept` until `.needMore` or a failure; returns the bytes consumed.
    private mutating func readAll(
        _ reader: inout WebSocketReader, _ kept: [UInt8], from keptFrom: Int, role: WebSocketRole, limits: WebSocketLimits
    ) -> Int {
        var offset = 0
        while true {
            // Exactly the bytes presented, in their own allocation: ASan traps a read past them.
            let count = kept.count - offset
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 1)
            defer { buffer.deallocate() }
            let presented = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
            kept.withUnsafeBytes { presented.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            let (event, consumed) = reader.read(presented, role: role, limits: limits)
            invariant(consumed >= 0 && consumed <= count, "consumed \(consumed) of \(count) bytes")
            guard let recorded = record(event, limits: limits) else {
                return offset + consumed
            }
            events.append(recorded)
            spans.append((keptFrom + offset)..<(keptFrom + offset + consumed))
            offset += consumed
            if case .failure = recorded {
                invariant(reader.isFailed, "a reader that returned a failure is not failed")
                let again = reader.read(presented, role: role, limits: limits)
                guard case .failure = again.event, again.consumed == 0 else {
                    invariant(false, "a failed reader read again: \(again)")
                    return offset
                }
                return offset
            }
        }
    }

    /// The event copied out, after checking what the reader promises of it.
    private func record(_ event: WebSocketEvent, limits: WebSocketLimits) -> Recorded? {
        switch event {
        case .needMore:
            return nil
        case .message(let opcode, let bytes):
            invariant(opcode == .text || opcode == .binary, "message with opcode \(opcode.rawValue)")
            invariant(bytes.count <= limits.maxMessageSize, "a \(bytes.count)-byte message passed the \(limits.maxMessageSize) limit")
            invariant(opcode != .text || isValidUTF8(bytes), "a text message that is not UTF-8")
            return .message(opcode, Array(bytes))
        case .ping(let bytes):
            invariant(bytes.count <= 125, "a \(bytes.count)-byte ping")
            return .ping(Array(bytes))
        case .pong(let bytes):
            invariant(bytes.count <= 125, "a \(bytes.count)-byte pong")
            return .pong(Array(bytes))
        case .close(let code, let reason):
            invariant(reason.count <= 123, "a \(reason.count)-byte close reason")
            invariant(code == nil ? reason.isEmpty : code!.isValidOnWire, "close code \(code?.rawValue ?? 0) with a reason of \(reason.count)")
            invariant(isValidUTF8(reason), "a close reason that is not UTF-8")
            return .close(code?.rawValue, Array(reason))
        case .failure(let code, let reason):
            invariant([1002, 1007, 1009].contains(code.rawValue), "failure with close code \(code.rawValue): \(reason)")
            return .failure(code.rawValue)
        }
    }
}
