// The reader's side of a negotiated extension (RFC 6455 §5.8, §9): which reserved bits may start
// a data message, and how such a message's payload becomes the one delivered. The reader is
// generic over it, so a connection without extensions runs the code it always ran, with every
// reserved bit an error; permessage-deflate is `MessageInflater`.

protocol MessageDecoder {
    /// Reserved bits (as in a frame's first byte) the first frame of a data message may carry;
    /// control frames and continuation frames may carry none.
    var messageReservedBits: UInt8 { get }
    /// The payload to deliver for a whole message whose first frame carried some of those bits.
    func decode(_ payload: UnsafeRawBufferPointer, limit: Int) -> MessageInflater.Outcome
}

/// No extension: no reserved bit is allowed, so nothing is ever decoded.
struct PlainMessages: MessageDecoder {
    var messageReservedBits: UInt8 { 0 }
    func decode(_ payload: UnsafeRawBufferPointer, limit: Int) -> MessageInflater.Outcome {
        preconditionFailure("a message without extensions is never decoded")
    }
}

extension MessageInflater: MessageDecoder {
    var messageReservedBits: UInt8 { ReservedBits.rsv1.rawValue }

    func decode(_ payload: UnsafeRawBufferPointer, limit: Int) -> Outcome {
        inflate(payload, limit: limit)
    }
}
