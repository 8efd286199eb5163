import Broadcast

/// A packet published to a room, as sessions get it: the JSON object with
/// the room's sequence number added as its first field (`{"seq":N,...`).
/// The carriers' encoders frame what this makes.
enum SequencedPacket {
    /// Appends the packet with `"seq":N` spliced in after its opening brace.
    static func append(_ message: BroadcastMessage, sequence: UInt64, to output: inout [UInt8]) {
        output += Array("{\"seq\":\(sequence)".utf8)
        let payload = message.payload
        guard payload.count > 2, payload.first == UInt8(ascii: "{") else {
            output.append(UInt8(ascii: "}"))  // not an object with fields: only the sequence survives
            return
        }
        output.append(UInt8(ascii: ","))
        output += payload[1...]
    }

    /// Its size: the payload and at most 29 bytes of `{"seq":N,`.
    static func maximumSize(of message: BroadcastMessage) -> Int { message.payload.count + 29 }
}
