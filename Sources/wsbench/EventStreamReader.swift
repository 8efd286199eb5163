import Glibc

/// Server-Sent Events inside HTTP/1.1 chunked framing, read in place from
/// the loop's receive buffer: sans-I/O, bytes in, events out.
///
/// Supported: chunk sizes in hex with optional extensions; lines ending in
/// LF or CRLF (a lone CR does not end a line); `data:`, `id:`, `event:`
/// fields; comments; a blank line ending the event. A `data:` line is
/// reported as soon as it is complete, not at the blank line: echo-server
/// sends one per message, and the arrival time is the same. A line that runs
/// past the end of a read is left unconsumed (the reactor presents it again
/// with more input); one that runs past the end of its chunk, which
/// echo-server never sends, is copied aside until it is complete.
///
/// Plain data, so the connection state that holds it copies without
/// reference counting; the one allocation, for such a carried line, is
/// freed by `release()`, which the owner calls when the connection ends.
struct EventStreamReader {
    enum Phase: UInt8 {
        /// Before a chunk-size line.
        case chunkSize
        case chunkData
        /// The CRLF after a chunk's data.
        case chunkEnd
        /// The last (empty) chunk arrived.
        case ended
    }

    /// What the current event was named (`event:`), which tells how to read its data.
    enum EventKind: UInt8 {
        /// No name: a message.
        case message
        /// echo-server's name for a binary message, Base64 in `data:`.
        case binary
        /// echo-server's resume failure: messages were no longer held.
        case gap
        case other
    }

    enum Event {
        /// A `data:` line's value; `continuation` when the event had a data line before.
        case data(UnsafeRawBufferPointer, kind: EventKind, continuation: Bool)
    }

    enum Outcome: Equatable {
        case needMore
        /// The server ended the stream (its last chunk).
        case ended
        case failure(String)
    }

    /// Longest chunk-size line (hex, extensions, CRLF) and longest line taken, so a hostile stream cannot grow memory.
    static let maximumSizeLine = 256
    static let maximumLine = 1 << 20

    // Small fields, as this sits in every connection's state (32 bytes).
    private(set) var phase = Phase.chunkSize
    private var eventKind = EventKind.message
    private var eventHasData = false
    private var chunkRemaining: Int32 = 0
    /// The last `id:` seen.
    private(set) var lastEventID: UInt64 = 0
    /// A line cut by the end of its chunk; nil otherwise (no allocation on the usual path).
    private var carried: UnsafeMutableRawPointer? = nil
    private var carriedCount: Int32 = 0
    private var carriedCapacity: Int32 = 0

    init() {}

    /// Consumes what it can of `bytes`; what is left (part of a size line or
    /// of a line) comes back with the next input.
    @inline(__always)
    mutating func read(_ bytes: UnsafeRawBufferPointer, _ onEvent: (Event) -> Void) -> (consumed: Int, outcome: Outcome) {
        guard let base = bytes.baseAddress else { return (0, .needMore) }
        let total = bytes.count
        var offset = 0
        while true {
            switch phase {
            case .chunkSize:
                let searched = min(total - offset, Self.maximumSizeLine)
                guard let found = memchr(base + offset, 0x0A, searched) else {
                    if searched == Self.maximumSizeLine { return (offset, .failure("chunk-size line too long")) }
                    return (offset, .needMore)
                }
                let lineFeed = UnsafeRawPointer(found) - base
                var size = 0
                var index = offset
                while index < lineFeed, let digit = Self.hexDigit(base.load(fromByteOffset: index, as: UInt8.self)) {
                    size = size << 4 | digit
                    index += 1
                    if size > Int(Int32.max) { return (offset, .failure("chunk size too large")) }
                }
                // Extensions (";name=value") and whitespace may follow the size; nothing else matters here.
                guard index > offset else { return (offset, .failure("malformed chunk-size line")) }
                offset = lineFeed + 1
                if size == 0 {
                    phase = .ended
                    return (total, .ended)
                }
                chunkRemaining = Int32(size)
                phase = .chunkData
            case .chunkData:
                let available = min(total - offset, Int(chunkRemaining))
                if available == 0 { return (offset, .needMore) }
                let used = readLines(base + offset, count: available, endsChunk: available == Int(chunkRemaining), onEvent)
                if used < 0 { return (offset, .failure("line longer than \(Self.maximumLine) bytes")) }
                offset += used
                chunkRemaining -= Int32(used)
                if chunkRemaining > 0 { return (offset, .needMore) }
                phase = .chunkEnd
            case .chunkEnd:
                guard offset < total else { return (offset, .needMore) }
                let first = base.load(fromByteOffset: offset, as: UInt8.self)
                if first == 0x0A {
                    offset += 1
                } else {
                    guard first == 0x0D else { return (offset, .failure("chunk data longer than its size")) }
                    guard offset + 1 < total else { return (offset, .needMore) }
                    guard base.load(fromByteOffset: offset + 1, as: UInt8.self) == 0x0A else {
                        return (offset, .failure("chunk data longer than its size"))
                    }
                    offset += 2
                }
                phase = .chunkSize
            case .ended:
                return (total, .ended)
            }
        }
    }

    /// The whole lines in `count` bytes of chunk data; returns the bytes used,
    /// or -1 when a carried line grows too long. A partial line at the end is
    /// left unless it ends the chunk, then it is carried.
    @inline(__always)
    private mutating func readLines(_ start: UnsafeRawPointer, count: Int, endsChunk: Bool, _ onEvent: (Event) -> Void) -> Int {
        var position = 0
        if carried != nil {
            guard let found = memchr(start, 0x0A, count) else {
                return carry(start, count: count) ? count : -1
            }
            let lineFeed = UnsafeRawPointer(found) - start
            guard carry(start, count: lineFeed) else { return -1 }
            readLine(UnsafeRawPointer(carried!), count: Int(carriedCount), onEvent)
            release()
            position = lineFeed + 1
        }
        while position < count {
            guard let found = memchr(start + position, 0x0A, count - position) else {
                guard endsChunk else { return position }
                return carry(start + position, count: count - position) ? count : -1
            }
            let lineFeed = UnsafeRawPointer(found) - start
            readLine(start + position, count: lineFeed - position, onEvent)
            position = lineFeed + 1
        }
        return position
    }

    /// Appends to the carried line; false when it would grow past `maximumLine`.
    private mutating func carry(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        let needed = Int(carriedCount) + count
        guard needed <= Self.maximumLine else { return false }
        if needed > Int(carriedCapacity) {
            let capacity = min(max(256, needed * 2), Self.maximumLine)
            let larger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
            if let carried, carriedCount > 0 { larger.copyMemory(from: carried, byteCount: Int(carriedCount)) }
            carried?.deallocate()
            carried = larger
            carriedCapacity = Int32(capacity)
        }
        if count > 0 { (carried! + Int(carriedCount)).copyMemory(from: bytes, byteCount: count) }
        carriedCount = Int32(needed)
        return true
    }

    /// Frees a carried line, if any. Call when the connection ends.
    mutating func release() {
        carried?.deallocate()
        carried = nil
        carriedCount = 0
        carriedCapacity = 0
    }

    /// One line without its LF (a CR before it is dropped here).
    @inline(__always)
    private mutating func readLine(_ start: UnsafeRawPointer, count: Int, _ onEvent: (Event) -> Void) {
        var length = count
        if length > 0 && start.load(fromByteOffset: length - 1, as: UInt8.self) == 0x0D { length -= 1 }
        if length == 0 {
            eventKind = .message
            eventHasData = false
            return
        }
        let first = start.load(fromByteOffset: 0, as: UInt8.self)
        if first == UInt8(ascii: ":") { return }  // a comment (keep-alive)
        let line = UnsafeRawBufferPointer(start: start, count: length)
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? length
        var valueStart = min(colon + 1, length)
        if valueStart < length && line[valueStart] == 0x20 { valueStart += 1 }
        let field = UnsafeRawBufferPointer(rebasing: line[0..<colon])
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<length])
        if Self.equals(field, "data") {
            onEvent(.data(value, kind: eventKind, continuation: eventHasData))
            eventHasData = true
        } else if Self.equals(field, "id") {
            if let id = Self.decimal(value) { lastEventID = id }
        } else if Self.equals(field, "event") {
            eventKind = Self.equals(value, "binary") ? .binary : Self.equals(value, "gap") ? .gap : .other
        }
        // retry: and unknown fields are ignored, as EventSource ignores them.
    }

    @inline(__always)
    private static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount && memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0
    }

    @inline(__always)
    private static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case 48...57: Int(byte - 48)
        case 97...102: Int(byte - 87)
        case 65...70: Int(byte - 55)
        default: nil
        }
    }

    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + UInt64(byte - 48)
        }
        return value
    }
}
