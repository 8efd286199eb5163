// Fuzzes the events protocol's wire format as the server reads it: the JSON
// parser and `Packet.parse`, which every packet a client sends goes through
// (a WebSocket text message, or one line of a POST).
//
// Input: the packet's bytes, nothing else (a packet has no configuration).
// Invariants (ASan guards every read: each parse gets an allocation of exactly the input):
//   - parsing is deterministic, and what parses is UTF-8 by the standard library's decoder;
//   - a refusal points inside the input;
//   - the packet parser's depth bound (32) refuses exactly the values nested deeper
//     than 32 that the parser with the default bound (64) accepts;
//   - a value written out has no raw line break (LF, CR, U+2028, U+2029: a packet is
//     one line of SSE or polling), reads back as the same value (NaN and infinities,
//     which JSON lacks, become null), and writing that again gives the same bytes;
//   - a packet's namespace starts with "/", an ack id is an integer in 0..<2^53, a
//     resume's sequences are non-negative;
//   - an event or ack packet written out by the server's own writer reads back as
//     the same packet (namespace, name, arguments, ack id).

import FuzzSupport
@testable import Events

// Also exported under libFuzzer's name: its runtime refers to it even when main.swift starts the driver.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventsWireFormat(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let deep = withExactCopy(bytes[...]) { parseJSON($0, maxDepth: 64) }
    let shallow = withExactCopy(bytes[...]) { parseJSON($0, maxDepth: 32) }
    let again = withExactCopy(bytes[...]) { parseJSON($0, maxDepth: 64) }
    invariant(deep == again, "the parser answers differently the second time: \(deep) vs \(again)")

    switch deep {
    case .failure(let error):
        invariant((0...bytes.count).contains(error.offset), "a refusal at byte \(error.offset) of \(bytes.count)")
        invariant(shallow.isFailure, "the packet bound accepts what the default bound refuses")
    case .success(let value):
        invariant(isValidUTF8(bytes), "accepted bytes that are not UTF-8")
        let nesting = depth(of: value)
        if case .success(let packetValue) = shallow {
            invariant(nesting <= 32, "nesting \(nesting) accepted under a bound of 32")
            invariant(packetValue == value, "the two bounds read different values")
        } else {
            invariant(nesting > 32, "nesting \(nesting) refused under a bound of 32")
        }
        checkWrittenOut(value)
    }

    let packet = withExactCopy(bytes[...]) { buffer -> Result<Packet.Incoming, PacketError> in
        do throws(PacketError) { return .success(try Packet.parse(buffer)) } catch { return .failure(error) }
    }
    if case .success(let incoming) = packet {
        guard case .success(let value) = shallow else {
            invariant(false, "a packet was read from bytes that are not JSON within its bound")
            return 0
        }
        checkPacket(incoming, from: value)
    }
    return 0
}

private enum Parsed: Equatable {
    case success(JSON)
    case failure(JSONError)

    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}

private func parseJSON(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) -> Parsed {
    do throws(JSONError) { return .success(try JSON(parsing: bytes, maxDepth: maxDepth)) } catch { return .failure(error) }
}

/// Levels of arrays and objects, as the parser counts them (a `$binary` object is one).
private func depth(of value: JSON) -> Int {
    switch value {
    case .array(let values): return 1 + (values.map(depth).max() ?? 0)
    case .object(let members): return 1 + (members.map { depth(of: $0.1) }.max() ?? 0)
    case .binary: return 1
    default: return 0
    }
}

private func containsNonFinite(_ value: JSON) -> Bool {
    switch value {
    case .number(let number): return !number.isFinite
    case .array(let values): return values.contains(where: containsNonFinite)
    case .object(let members): return members.contains { containsNonFinite($0.1) }
    default: return false
    }
}

/// Written out, one line, the same value, and a fixed point from then on.
private func checkWrittenOut(_ value: JSON) {
    let text = value.serialized()
    invariant(!text.contains(0x0A) && !text.contains(0x0D), "a raw line break written in \(value)")
    invariant(text.firstRange(of: [0xE2, 0x80, 0xA8]) == nil && text.firstRange(of: [0xE2, 0x80, 0xA9]) == nil,
              "a raw U+2028 or U+2029 written")
    guard case .success(let reread) = withExactCopy(text[...], { parseJSON($0, maxDepth: 64) }) else {
        invariant(false, "what the writer made does not parse: \(String(decoding: text, as: UTF8.self))")
        return
    }
    if !containsNonFinite(value) {
        invariant(reread == value, "written out and read back, \(value) became \(reread)")
    }
    invariant(reread.serialized() == text, "writing the value read back gives other bytes")
}

/// The packet says what its JSON says, within the protocol's bounds, and the
/// server's writer makes it again.
private func checkPacket(_ packet: Packet.Incoming, from value: JSON) {
    invariant(packet.namespace.hasPrefix("/"), "namespace \(packet.namespace)")
    invariant(packet.namespace == (value["ns"]?.string ?? "/"), "namespace \(packet.namespace) read from \(value)")
    switch packet.kind {
    case .event(let name, let arguments, let ack):
        invariant(value["type"] == "event" && value["event"]?.string == name, "event \(name) read from \(value)")
        if let ack { invariant((0..<(1 << 53)).contains(ack), "ack id \(ack)") }
        let written = Packet.event(namespace: packet.namespace, room: nil, name: name, arguments: arguments, ack: ack)
        guard case .event(let name2, let arguments2, let ack2) = reparsed(written, packet.namespace) else { return }
        invariant(name2 == name && ack2 == ack, "the event written out reads back as \(name2), ack \(String(describing: ack2))")
        if !arguments.contains(where: containsNonFinite) {
            invariant(arguments2 == arguments, "the event's arguments written out read back differently")
        }
    case .ack(let id, let arguments):
        invariant((0..<(1 << 53)).contains(id), "ack id \(id)")
        let written = Packet.ack(namespace: packet.namespace, id: id, arguments: arguments)
        guard case .ack(let id2, let arguments2) = reparsed(written, packet.namespace) else { return }
        invariant(id2 == id, "the ack written out reads back as id \(id2)")
        if !arguments.contains(where: containsNonFinite) {
            invariant(arguments2 == arguments, "the ack's arguments written out read back differently")
        }
    case .connect(_, let resume):
        invariant(value["type"] == "connect", "connect read from \(value)")
        for (room, sequence) in resume?.rooms ?? [:] {
            invariant(sequence < 1 << 53, "resume sequence \(sequence) of room \(room)")
        }
    case .disconnect, .pong, .close, .unknown:
        break
    }
}

/// The server's own packet bytes, parsed as a client's.
private func reparsed(_ written: [UInt8], _ namespace: String) -> Packet.Incoming.Kind? {
    invariant(!written.contains(0x0A) && !written.contains(0x0D), "a raw line break in a written packet")
    let result = withExactCopy(written[...]) { buffer -> Result<Packet.Incoming, PacketError> in
        do throws(PacketError) { return .success(try Packet.parse(buffer)) } catch { return .failure(error) }
    }
    switch result {
    case .success(let packet):
        invariant(packet.namespace == namespace, "a written packet reads back in namespace \(packet.namespace)")
        return packet.kind
    case .failure(let error):
        invariant(false, "a packet the server wrote does not parse: \(error): \(String(decoding: written, as: UTF8.self))")
        return nil
    }
}
