import Broadcast
import Reactor

/// A room's message as Redis keeps it (the field `m` of its stream entry) and
/// publishes it (after `SEQ ` on the room's channel): one header line of seven
/// fields, then the payload, byte for byte.
///
///     f3 ORIGIN KIND EXCLUDED NAME ROOMS KEY\n PAYLOAD
///
/// - `f3`: this format. `f2` and `f1` entries (`f2` with EXCLUDED as
///   `LOOP.SLOT.GENERATION`; `f1` also without KEY and volatility) are still read,
///   so a room's stream stays readable across an upgrade; their EXCLUDED is never
///   applied (they were written by a process before the upgrade). A cluster is
///   upgraded all at once: an older node cannot read `f3`.
/// - ORIGIN: the id of the node that published it.
/// - KIND: `t` (text) or `b` (binary), followed by `v` when the message is volatile.
/// - EXCLUDED: `-`, or the subscriber left out, `BOOT.LOOP.SLOT.GENERATION` (BOOT, the
///   publishing process's `Broadcaster.bootID` in base 36): meaningful in that process
///   only, so every other (another node, or ORIGIN after a restart) ignores it.
/// - NAME: `-` (none), or `=` and the event name, percent-encoded.
/// - ROOMS: `-`, or `=` and the rooms whose members are left out, percent-encoded,
///   separated by commas (names mean the same room on every node).
/// - KEY: `-` (none), or `=` and the key conflation goes by, percent-encoded.
///
/// Percent-encoded: every byte outside `!`…`~`, and `%` and `,`, as `%XX`.
enum RoomMessageCodec {
    /// Who writes, or reads: a node, and the process it runs as now (its broadcaster's
    /// `bootID`). A subscriber left out is kept by a reader that is its writer.
    struct Process: Equatable {
        let node: String
        let boot: UInt64
    }

    static func encode(_ message: BroadcastMessage, exclusion: Exclusion, writer: Process) -> [UInt8] {
        var header = "f3 \(writer.node) \(message.opcode == .binary ? "b" : "t")\(message.isVolatile ? "v" : "") "
        if let subscriber = exclusion.subscriber {
            header += "\(String(writer.boot, radix: 36)).\(subscriber.loop).\(subscriber.connection.slot).\(subscriber.connection.generation)"
        } else {
            header += "-"
        }
        header += message.name.map { " =" + percentEncoded($0) } ?? " -"
        header += exclusion.membersOf.isEmpty ? " -" : " =" + exclusion.membersOf.map(percentEncoded).joined(separator: ",")
        header += message.key.map { " =" + percentEncoded($0) } ?? " -"
        header += "\n"
        var bytes = Array(header.utf8)
        bytes += message.payload
        return bytes
    }

    /// What `reader` makes of an encoded message: the subscriber exclusion is kept only in the
    /// process that published it. nil when the bytes are not this format (or an earlier one).
    static func decode(_ bytes: ArraySlice<UInt8>, reader: Process) -> (message: BroadcastMessage, exclusion: Exclusion)? {
        guard let newline = bytes.firstIndex(of: 0x0A) else { return nil }
        let fields = bytes[bytes.startIndex..<newline].split(separator: 0x20, omittingEmptySubsequences: false)
        let version: Int
        if fields.count == 7 && fields[0].elementsEqual("f3".utf8) {
            version = 3
        } else if fields.count == 7 && fields[0].elementsEqual("f2".utf8) {
            version = 2
        } else if fields.count == 6 && fields[0].elementsEqual("f1".utf8) {
            version = 1
        } else {
            return nil
        }
        let binary: Bool
        switch fields[2].first {
        case UInt8(ascii: "t"): binary = false
        case UInt8(ascii: "b"): binary = true
        default: return nil
        }
        let isVolatile = fields[2].count == 2 && version >= 2 && fields[2].last == UInt8(ascii: "v")
        guard fields[2].count == 1 || isVolatile else { return nil }
        var exclusion = Exclusion()
        if !fields[3].elementsEqual("-".utf8) {
            var parts = fields[3].split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)[...]
            guard parts.count == (version == 3 ? 4 : 3) else { return nil }
            let boot = version == 3 ? UInt64(String(decoding: parts.removeFirst(), as: UTF8.self), radix: 36) : nil
            let numbers = parts.map { decimal($0) }
            guard version < 3 || boot != nil, let loop = numbers[0], let slot = numbers[1], let generation = numbers[2],
                  slot <= UInt64(UInt32.max), generation <= UInt64(UInt32.max) else { return nil }
            if let boot, boot == reader.boot && fields[1].elementsEqual(reader.node.utf8) {
                exclusion.subscriber = SubscriberID(loop: Int(loop), connection: ConnectionID(slot: UInt32(slot), generation: UInt32(generation)))
            }
        }
        var name: String?
        if !fields[4].elementsEqual("-".utf8) {
            guard fields[4].first == UInt8(ascii: "="), let decoded = percentDecoded(fields[4].dropFirst()) else { return nil }
            name = decoded
        }
        if !fields[5].elementsEqual("-".utf8) {
            guard fields[5].first == UInt8(ascii: "=") else { return nil }
            for room in fields[5].dropFirst().split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                guard let decoded = percentDecoded(room) else { return nil }
                exclusion.membersOf.append(decoded)
            }
        }
        var key: String?
        if version >= 2 && !fields[6].elementsEqual("-".utf8) {
            guard fields[6].first == UInt8(ascii: "="), let decoded = percentDecoded(fields[6].dropFirst()) else { return nil }
            key = decoded
        }
        let payload = Array(bytes[(newline + 1)...])
        if !binary && String(validating: payload, as: UTF8.self) == nil { return nil }
        return (BroadcastMessage(opcode: binary ? .binary : .text, payload: payload, name: name, key: key, isVolatile: isVolatile), exclusion)
    }

    /// `SEQ ENCODED`, as the publish script sends it on the room's channel.
    static func decodePublished(_ bytes: [UInt8], reader: Process) -> (sequence: UInt64, message: BroadcastMessage, exclusion: Exclusion)? {
        guard let space = bytes.firstIndex(of: 0x20), let sequence = decimal(bytes[..<space]),
              let (message, exclusion) = decode(bytes[(space + 1)...], reader: reader) else { return nil }
        return (sequence, message, exclusion)
    }

    /// A stream entry id written by the publish script, `SEQ-0`.
    static func sequence(ofEntry id: String) -> UInt64? {
        guard id.hasSuffix("-0") else { return nil }
        return decimal(id.utf8.dropLast(2))
    }

    static func decimal<Digits: Collection<UInt8>>(_ digits: Digits) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            guard digit >= 0x30 && digit <= 0x39 else { return nil }
            value = value * 10 + UInt64(digit - 0x30)
        }
        return value
    }

    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") && byte != UInt8(ascii: ",") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    static func percentDecoded<Bytes: Collection<UInt8>>(_ encoded: Bytes) -> String? {
        var bytes: [UInt8] = []
        var iterator = encoded.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
