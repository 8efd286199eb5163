import WebSocketCodec

/// wsbench's side of the events protocol (README, "The events protocol"):
/// the packets it sends, and what it reads of those it gets, in place.
///
/// A publisher emits its text message (`TextMessageHeader` and 'x' padding)
/// as the only argument of event `publish`; a room member gets it back as
/// the argument of event `message`. The message needs no escaping in a JSON
/// string, so a receiver finds it between `"args":["` and `"]}`, reads its
/// header there and checks its padding: no JSON parser, no allocation. The room packet
/// echo-server writes has one shape, checked in one pass (`roomMessage`),
/// which also finds every byte of it ASCII, so the receive path need not
/// check the text frame's UTF-8 first; any other packet (members in another
/// order, spaces, a ping) is validated as UTF-8 and walked member by member
/// (`scan`).
enum EventPacket {
    // MARK: Sent

    /// Sent after the server's `open`: joins namespace "/".
    static let connect = Array(#"{"type":"connect","ns":"/"}"#.utf8)
    /// The answer to every `ping`.
    static let pong = Array(#"{"type":"pong"}"#.utf8)

    /// A publish: `{"type":"event","ns":"/","event":"publish","args":["` message `"]}`.
    // Computed, not stored: a literal the optimizer sees folds to its address and length (a stored one is a lazy global).
    static var publishPrefix: StaticString { #"{"type":"event","ns":"/","event":"publish","args":[""# }
    static var publishSuffix: StaticString { #""]}"# }

    /// Bytes a publish adds to its message.
    static var publishOverhead: Int { publishPrefix.utf8CodeUnitCount + publishSuffix.utf8CodeUnitCount }

    /// The largest message: its publish packet must fit echo-server's
    /// `maxPayload` (65,536 bytes; larger closes with 1009).
    static let maximumPayload = 65536 - publishOverhead

    /// A publish carrying a message of `size` bytes, `size + publishOverhead` in all.
    @inline(__always)
    static func writePublish(_ fields: MessageHeader.Fields, size: Int, to destination: UnsafeMutableRawPointer) {
        let prefix = publishPrefix.utf8CodeUnitCount
        destination.copyMemory(from: publishPrefix.utf8Start, byteCount: prefix)
        TextMessageHeader.writeMessage(fields, size: size, to: destination + prefix)
        (destination + prefix + size).copyMemory(from: publishSuffix.utf8Start, byteCount: publishSuffix.utf8CodeUnitCount)
    }

    // MARK: Received: the room's packet

    // `{"seq":N,"type":"event","ns":"/","room":"ROOM","event":"message","args":["` message `"]}`
    private static var sequenceKey: StaticString { #"{"seq":"# }
    private static var afterSequence: StaticString { #","type":"event","ns":"/","room":""# }
    /// From the room name's closing quote to the message's opening one.
    private static var afterRoom: StaticString { #"","event":"message","args":[""# }
    private static var afterMessage: StaticString { #""]}"# }

    /// Where the message lies in a room packet of the shape echo-server
    /// writes, every byte outside the message checked ASCII; nil for any
    /// other packet (`scan` reads those). Whether the bytes between are a
    /// whole string is `read`'s to check: a header of hex digits and 'x'
    /// padding, so no quote or backslash.
    @inline(__always)
    static func roomMessage(_ base: UnsafeRawPointer, count: Int) -> Range<Int>? {
        var index = sequenceKey.utf8CodeUnitCount
        guard count > index, matches(base, 0, sequenceKey) else { return nil }
        let digits = index
        index = endOfDigits(base, index, count)
        guard index > digits, count &- index > afterSequence.utf8CodeUnitCount, matches(base, index, afterSequence) else { return nil }
        index &+= afterSequence.utf8CodeUnitCount
        // The room's name, ASCII (other text may be valid UTF-8: the slow path checks).
        guard let quote = closingQuote(base, index, count) else { return nil }
        index = quote
        let start = index &+ afterRoom.utf8CodeUnitCount
        let end = count &- afterMessage.utf8CodeUnitCount
        guard start <= end, matches(base, index, afterRoom), matches(base, end, afterMessage) else { return nil }
        return start..<end
    }

    private static var ones: UInt64 { 0x0101_0101_0101_0101 }
    private static var tops: UInt64 { 0x8080_8080_8080_8080 }

    /// Where the run of decimal digits from `index` ends, a word at a time
    /// while a word fits (a sequence number is up to 20 digits).
    @inline(__always)
    private static func endOfDigits(_ base: UnsafeRawPointer, _ index: Int, _ count: Int) -> Int {
        var index = index
        while index &+ 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let seven = word & ~tops
            // Digits: top bit clear, at least '0' and below ':' (a byte below 0x80 plus 0x80 - k carries into its top bit when it is at least k).
            let digits = ~word & (seven &+ ones &* 0x50) & ~(seven &+ ones &* 0x46) & tops
            guard digits == tops else { return index &+ (~digits & tops).trailingZeroBitCount / 8 }
            index &+= 8
        }
        while index < count && base.load(fromByteOffset: index, as: UInt8.self) &- 48 < 10 { index &+= 1 }
        return index
    }

    /// The first quote from `index`, every byte before it ASCII; nil if
    /// none, or if a byte before it is not ASCII.
    @inline(__always)
    private static func closingQuote(_ base: UnsafeRawPointer, _ index: Int, _ count: Int) -> Int? {
        var index = index
        while index &+ 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let quotes = word ^ (ones &* 0x22)
            // Exact for the first quote: a borrow only runs upward.
            let found = (quotes &- ones) & ~quotes & tops
            let before = found == 0 ? ~0 : (found & (0 &- found)) &- 1  // the bytes before the first quote
            guard word & tops & before == 0 else { return nil }
            if found != 0 { return index &+ found.trailingZeroBitCount / 8 }
            index &+= 8
        }
        while index < count {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            if byte == UInt8(ascii: "\"") { return index }
            if byte >= 0x80 { return nil }
            index &+= 1
        }
        return nil
    }

    /// All of `start..<end` is the 'x' padding wsbench sends (which also
    /// makes it ASCII, with no quote or backslash: the string's value). A
    /// word at a time, the last bytes in a word that overlaps the one before.
    @inline(__always)
    static func isPadding(_ base: UnsafeRawPointer, _ start: Int, _ end: Int) -> Bool {
        let padding = ones &* UInt64(TextMessageHeader.padding)
        guard end &- start >= 8 else {
            var index = start
            while index < end {
                if base.load(fromByteOffset: index, as: UInt8.self) != TextMessageHeader.padding { return false }
                index &+= 1
            }
            return true
        }
        var different: UInt64 = 0
        var index = start
        while index &+ 8 <= end {
            different |= base.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ padding
            index &+= 8
        }
        if index < end { different |= base.loadUnaligned(fromByteOffset: end &- 8, as: UInt64.self) ^ padding }
        return different == 0
    }

    /// The caller has checked that `text` fits at `offset`. Word by word
    /// from the literal, which the optimizer folds to constants (a `bcmp`
    /// call cost more than the compare); a last, shorter piece is read as a
    /// word that overlaps the one before.
    @inline(__always)
    private static func matches(_ base: UnsafeRawPointer, _ offset: Int, _ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        let literal = UnsafeRawPointer(text.utf8Start)
        let here = base + offset
        @inline(__always) func differ<Word: FixedWidthInteger>(_ at: Int, _: Word.Type) -> Word {
            here.loadUnaligned(fromByteOffset: at, as: Word.self) ^ literal.loadUnaligned(fromByteOffset: at, as: Word.self)
        }
        guard count >= 8 else {
            if count >= 4 { return differ(0, UInt32.self) | differ(count &- 4, UInt32.self) == 0 }
            if count >= 2 { return differ(0, UInt16.self) | differ(count &- 2, UInt16.self) == 0 }
            return count == 0 || differ(0, UInt8.self) == 0
        }
        var index = 0
        var different: UInt64 = 0
        while index &+ 8 <= count {
            different |= differ(index, UInt64.self)
            index &+= 8
        }
        if index < count { different |= differ(count &- 8, UInt64.self) }
        return different == 0
    }

    // MARK: Received: any packet

    enum PacketType: String {
        case open, connect, connectError = "connect_error", ping, event, close, disconnect
        /// Any other type, or none.
        case other
    }

    /// What wsbench reads of a packet; ranges are byte offsets into it.
    struct Scanned: Equatable {
        var type = PacketType.other
        /// An event named "message".
        var namesMessage = false
        /// The only argument, when it is a string without escapes.
        var argument: Range<Int>?
        /// `message` (connect_error) or `reason` (close, disconnect), when a string without escapes.
        var reason: Range<Int>?

        /// The text message of a room's `message` event.
        var message: Range<Int>? { type == .event && namesMessage ? argument : nil }
    }

    /// Walks a packet's members in place, in any order, with any spaces;
    /// nil when it is not one JSON object.
    static func scan(_ base: UnsafeRawPointer, count end: Int) -> Scanned? {
        var packet = Scanned()
        var index = JSONScan.skipSpace(base, 0, end)
        guard index < end, byte(base, index) == UInt8(ascii: "{") else { return nil }
        index = JSONScan.skipSpace(base, index + 1, end)
        if index < end && byte(base, index) == UInt8(ascii: "}") {
            return JSONScan.skipSpace(base, index + 1, end) == end ? packet : nil
        }
        while true {
            guard index < end, byte(base, index) == UInt8(ascii: "\"") else { return nil }
            let (key, afterKey) = string(base, index, end)
            guard afterKey > 0 else { return nil }
            index = JSONScan.skipSpace(base, afterKey, end)
            guard index < end, byte(base, index) == UInt8(ascii: ":") else { return nil }
            index = JSONScan.skipSpace(base, index + 1, end)
            guard index < end else { return nil }
            let next: Int
            if let key, JSONScan.isKey(base, key.lowerBound, key.upperBound, "args") {
                (packet.argument, next) = loneString(base, index, end)
            } else {
                let value: Range<Int>?
                (value, next) = string(base, index, end)
                if let key, let value {
                    if JSONScan.isKey(base, key.lowerBound, key.upperBound, "type") {
                        packet.type = PacketType(rawValue: String(decoding: UnsafeRawBufferPointer(start: base + value.lowerBound, count: value.count),
                                                                  as: UTF8.self)) ?? .other
                    } else if JSONScan.isKey(base, key.lowerBound, key.upperBound, "event") {
                        packet.namesMessage = JSONScan.isKey(base, value.lowerBound, value.upperBound, "message")
                    } else if JSONScan.isKey(base, key.lowerBound, key.upperBound, "reason")
                                || JSONScan.isKey(base, key.lowerBound, key.upperBound, "message") {
                        packet.reason = value
                    }
                }
            }
            guard next > 0 else { return nil }
            index = JSONScan.skipSpace(base, next, end)
            guard index < end else { return nil }
            switch byte(base, index) {
            case UInt8(ascii: ","):
                index = JSONScan.skipSpace(base, index + 1, end)
            case UInt8(ascii: "}"):
                return JSONScan.skipSpace(base, index + 1, end) == end ? packet : nil
            default:
                return nil
            }
        }
    }

    @inline(__always)
    private static func byte(_ base: UnsafeRawPointer, _ index: Int) -> UInt8 {
        base.load(fromByteOffset: index, as: UInt8.self)
    }

    /// The value at `index` (not past `end`): its contents when it is a
    /// string without escapes, and the index after it (≤ 0: malformed).
    private static func string(_ base: UnsafeRawPointer, _ index: Int, _ end: Int) -> (Range<Int>?, next: Int) {
        guard byte(base, index) == UInt8(ascii: "\"") else { return (nil, JSONScan.skipValue(base, index, end, complete: true)) }
        var escaped = false
        let next = JSONScan.string(base, index, end, escaped: &escaped)
        return (next > 0 && !escaped ? index + 1..<next - 1 : nil, next)
    }

    /// An array holding one string without escapes: that string; any other
    /// value is skipped.
    private static func loneString(_ base: UnsafeRawPointer, _ index: Int, _ end: Int) -> (Range<Int>?, next: Int) {
        if byte(base, index) == UInt8(ascii: "[") {
            let first = JSONScan.skipSpace(base, index + 1, end)
            if first < end && byte(base, first) == UInt8(ascii: "\"") {
                let (value, afterValue) = string(base, first, end)
                let close = afterValue > 0 ? JSONScan.skipSpace(base, afterValue, end) : end
                if let value, close < end && byte(base, close) == UInt8(ascii: "]") { return (value, close + 1) }
            }
        }
        return (nil, JSONScan.skipValue(base, index, end, complete: true))
    }
}

extension EventPacket: HeaderFormat {
    static var isText: Bool { true }
    static var countsByTransport: Bool { false }
    static var checksItsText: Bool { true }

    /// The message's header, when the message is one of wsbench's: its
    /// header, then 'x' padding, byte for byte as sent. The room packet's
    /// shape is then all ASCII; any other packet is first checked to be UTF-8.
    @inline(__always)
    static func read(_ payload: UnsafeRawPointer, count: Int) -> MessageHeader.Fields? {
        guard let message = roomMessage(payload, count: count) else { return readAnyShape(payload, count: count) }
        guard let fields = TextMessageHeader.read(payload + message.lowerBound, count: message.count),
              isPadding(payload, message.lowerBound &+ TextMessageHeader.size, message.upperBound) else { return nil }
        return fields
    }

    private static func readAnyShape(_ payload: UnsafeRawPointer, count: Int) -> MessageHeader.Fields? {
        guard UTF8Validator.isValid(UnsafeRawBufferPointer(start: payload, count: count)),
              let message = scan(payload, count: count)?.message,
              let fields = TextMessageHeader.read(payload + message.lowerBound, count: message.count),
              isPadding(payload, message.lowerBound + TextMessageHeader.size, message.upperBound) else { return nil }
        return fields
    }

    /// A ping wants its pong; a `close` or `disconnect` ends the session;
    /// text that is not UTF-8 breaks the protocol.
    static func notAMessage(_ payload: UnsafeRawPointer, count: Int) -> LoadGenerator.MessageOutcome {
        guard UTF8Validator.isValid(UnsafeRawBufferPointer(start: payload, count: count)) else { return .invalidText }
        switch scan(payload, count: count)?.type {
        case .ping: return .pinged
        case .close, .disconnect: return .sessionEnded
        default: return .foreign
        }
    }
}
