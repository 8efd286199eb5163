/// The fixed layout at the start of every message wsbench sends; the rest of
/// the payload, up to `-s` bytes, is zero padding. All fields little-endian:
///
///     offset  size  field
///          0     4  magic "wsb1", so stray messages are told from ours
///          4     4  sender: the publisher's number (broadcast) or the connection's (echo)
///          8     8  sequence number, from 0 for each sender
///         16     8  intended send time, CLOCK_MONOTONIC nanoseconds
///
/// The intended time is the schedule's, not the moment the bytes left: a
/// stalled server or client makes every later message late (coordinated omission).
enum MessageHeader {
    static let size = 24
    static let magic: UInt32 = 0x3162_7377  // "wsb1" read as a little-endian word

    struct Fields: Equatable {
        var sender: UInt32
        var sequence: UInt64
        var intendedTime: UInt64
    }

    @inline(__always)
    static func write(_ fields: Fields, to destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        destination.storeBytes(of: fields.sender.littleEndian, toByteOffset: 4, as: UInt32.self)
        destination.storeBytes(of: fields.sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
        destination.storeBytes(of: fields.intendedTime.littleEndian, toByteOffset: 16, as: UInt64.self)
    }

    /// The fields, or nil when `payload` is too short or is not one of ours.
    @inline(__always)
    static func read(_ payload: UnsafeRawPointer, count: Int) -> Fields? {
        guard count >= size,
              UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == magic else { return nil }
        return Fields(
            sender: UInt32(littleEndian: payload.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
            sequence: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            intendedTime: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
    }
}

/// How a message's header is read: binary (`MessageHeader`), text
/// (`TextMessageHeader`), inside a JSON ticker (`TickerMessageHeader`) or
/// inside an event packet (`EventPacket`). Fixed for a run, so the receive
/// path is specialised for each and tests no flag per message.
protocol HeaderFormat {
    /// Messages travel in text frames.
    static var isText: Bool { get }
    /// Receivers count per transport too (the sse and longpoll scenarios).
    static var countsByTransport: Bool { get }
    /// Text: `read` takes only ASCII and `notAMessage` checks UTF-8, so
    /// the receive path need not check a text frame before handing it over.
    static var checksItsText: Bool { get }
    static func read(_ payload: UnsafeRawPointer, count: Int) -> MessageHeader.Fields?
    /// What a frame that `read` found no header in means.
    static func notAMessage(_ payload: UnsafeRawPointer, count: Int) -> LoadGenerator.MessageOutcome
}

extension HeaderFormat {
    static var checksItsText: Bool { false }

    /// Not one of wsbench's messages: the server broke the run.
    static func notAMessage(_ payload: UnsafeRawPointer, count: Int) -> LoadGenerator.MessageOutcome { .foreign }
}

extension MessageHeader: HeaderFormat {
    static var isText: Bool { false }
    static var countsByTransport: Bool { false }
}

extension TextMessageHeader: HeaderFormat {
    static var isText: Bool { true }
    static var countsByTransport: Bool { true }
}
