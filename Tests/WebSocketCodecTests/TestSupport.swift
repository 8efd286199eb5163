import WebSocketCodec
import XCTest

/// Deterministic generator so random tests replay exactly (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
    mutating func maskKey() -> MaskKey {
        MaskKey(wireValue: UInt32.random(in: 0...UInt32.max, using: &self))
    }
}

/// An event with its bytes copied out, so events from different feeds can be compared.
enum Recorded: Equatable, CustomStringConvertible {
    case message(Opcode, [UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case close(UInt16?, [UInt8])
    case failure(UInt16)

    init?(_ event: WebSocketEvent) {
        switch event {
        case .needMore: return nil
        case .message(let opcode, let bytes): self = .message(opcode, Array(bytes))
        case .ping(let bytes): self = .ping(Array(bytes))
        case .pong(let bytes): self = .pong(Array(bytes))
        case .close(let code, let reason): self = .close(code?.rawValue, Array(reason))
        case .failure(let code, _): self = .failure(code.rawValue)
        }
    }

    var description: String {
        switch self {
        case .message(let opcode, let bytes): return "message(\(opcode), \(bytes.count) bytes)"
        case .ping(let bytes): return "ping(\(bytes.count))"
        case .pong(let bytes): return "pong(\(bytes.count))"
        case .close(let code, let reason): return "close(\(code.map(String.init) ?? "nil"), \(reason.count))"
        case .failure(let code): return "failure(\(code))"
        }
    }
}

/// Plays the caller: appends each chunk to what it kept, reads until `.needMore`, keeps what was
/// not consumed. Stops at the first failure.
struct ReaderHarness {
    var reader = WebSocketReader()
    var pending: [UInt8] = []
    var events: [Recorded] = []
    var role: WebSocketRole
    var limits: WebSocketLimits
    /// permessage-deflate negotiated: RSV1 allowed, compressed messages inflated by it.
    var inflater: MessageInflater?
    var failed = false

    init(role: WebSocketRole = .server, limits: WebSocketLimits = WebSocketLimits(), inflater: MessageInflater? = nil) {
        self.role = role
        self.limits = limits
        self.inflater = inflater
    }

    mutating func feed(_ chunk: ArraySlice<UInt8>) {
        guard !failed else { return }
        pending += chunk
        var offset = 0
        var reader = self.reader
        var newEvents: [Recorded] = []
        let role = self.role, limits = self.limits, inflater = self.inflater
        pending.withUnsafeMutableBytes { buffer in
            while true {
                let input = UnsafeMutableRawBufferPointer(rebasing: buffer[offset...])
                let (event, consumed) = inflater.map { reader.read(input, role: role, limits: limits, inflater: $0) }
                    ?? reader.read(input, role: role, limits: limits)
                XCTAssert(consumed >= 0 && consumed <= buffer.count - offset)
                offset += consumed
                guard let recorded = Recorded(event) else { break }
                newEvents.append(recorded)
                if case .failure = recorded { break }
            }
        }
        self.reader = reader
        events += newEvents
        if case .failure = newEvents.last { failed = true }
        pending.removeFirst(offset)
    }

    mutating func feed(_ bytes: [UInt8]) { feed(bytes[...]) }

    static func events(_ bytes: [UInt8], splits: [Int], role: WebSocketRole = .server,
                       limits: WebSocketLimits = WebSocketLimits(), inflater: MessageInflater? = nil) -> [Recorded] {
        var harness = ReaderHarness(role: role, limits: limits, inflater: inflater)
        var start = 0
        for split in splits + [bytes.count] where split >= start {
            harness.feed(bytes[start..<split])
            start = split
        }
        return harness.events
    }
}

/// A frame header written by hand, for frames the encoder would never produce.
func rawFrame(fin: Bool = true, rsv: UInt8 = 0, opcode: UInt8, payload: [UInt8], maskKey: MaskKey?,
              lengthForm: Int? = nil) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
    let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
    let form = lengthForm ?? (payload.count < 126 ? 7 : payload.count <= 0xFFFF ? 16 : 64)
    switch form {
    case 7: out.append(maskBit | UInt8(payload.count))
    case 16:
        out.append(maskBit | 126)
        out += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default:
        out.append(maskBit | 127)
        for i in (0..<8).reversed() { out.append(UInt8(truncatingIfNeeded: UInt64(payload.count) >> (8 * UInt64(i)))) }
    }
    var body = payload
    if let maskKey {
        let (k0, k1, k2, k3) = maskKey.bytes
        out += [k0, k1, k2, k3]
        let key = [k0, k1, k2, k3]
        for i in body.indices { body[i] ^= key[i & 3] }
    }
    return out + body
}

extension MessageDeflater {
    /// `compress`, copied out while the deflater is alive (its result lives in the deflater's buffer).
    func compressed(_ bytes: [UInt8], smallerThan limit: Int = .max) -> [UInt8]? {
        bytes.withUnsafeBytes { compress($0, smallerThan: limit).map { Array($0) } }
    }
}
