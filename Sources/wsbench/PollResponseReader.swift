/// echo-server's poll responses, read in place: sans-I/O, bytes in, messages out.
///
///     HTTP/1.1 200 OK ... Content-Length: N
///
///     {"room":"R","messages":[{"seq":N,"data":"..."},...],"last":N[,"gap":{...}]}
///
/// The body is read a member and a message at a time as it arrives, so a
/// long response need not fit one read; what is consumed is only ever whole
/// members or whole messages (a partial one comes back with more input).
/// Members and keys may come in any order, with whitespace; unknown members
/// and keys are skipped. A message's `"event"` is ignored; `"binary":true`
/// and escapes in `"data"` are reported, for the caller to refuse.
struct PollResponseReader {
    enum Phase: UInt8 {
        case head
        /// Before the body's `{`.
        case bodyStart
        /// Inside the top-level object: before its first member, or after one.
        case firstMember
        case nextMember
        /// Inside `"messages":[`: before the first message, or after one.
        case firstMessage
        case nextMessage
        /// After the top-level `}`.
        case bodyEnd
    }

    enum Event {
        /// One element of `messages`: its room sequence and the bytes between the quotes of its `"data"`.
        case message(sequence: UInt64, data: UnsafeRawBufferPointer, binary: Bool, escaped: Bool)
        /// `"gap"`: messages after `since` are no longer held.
        case gap
    }

    enum Outcome: Equatable {
        case needMore
        /// A whole response was read; `last` is where the next poll starts.
        case complete(last: UInt64)
        case failure(String)
    }

    // Small fields, as this sits in every connection's state (24 bytes).
    private(set) var phase = Phase.head
    private var hasLast = false
    private var bodyRemaining: Int32 = 0
    private var last: UInt64 = 0
    /// Where the next poll starts (`since`): the last response's `last`.
    var since: UInt64 = 0

    /// Far more than echo-server's history holds (1 MiB), yet a bound.
    static let maximumBody = 1 << 28

    init() {}

    @inline(__always)
    mutating func read(_ bytes: UnsafeRawBufferPointer, _ onEvent: (Event) -> Void) -> (consumed: Int, outcome: Outcome) {
        guard let base = bytes.baseAddress else { return (0, .needMore) }
        var offset = 0
        if phase == .head {
            switch HTTPResponseHead.parse(bytes) {
            case .needMore:
                return (0, .needMore)
            case .invalid(let reason):
                return (0, .failure(reason))
            case .complete(let head):
                guard head.status == 200 else { return (0, .failure("poll answered with status \(head.status)")) }
                guard !head.isChunked, let length = head.contentLength else {
                    return (0, .failure("poll response without Content-Length"))
                }
                guard length <= Self.maximumBody else { return (0, .failure("poll response larger than \(Self.maximumBody) bytes")) }
                guard !head.closes else { return (0, .failure("the server closes the connection after each poll")) }
                offset = head.length
                bodyRemaining = Int32(length)
                hasLast = false
                phase = .bodyStart
            }
        }
        let complete = bytes.count - offset >= Int(bodyRemaining)
        let end = offset + min(bytes.count - offset, Int(bodyRemaining))
        let bodyStart = offset
        let (used, failure) = readBody(base, from: offset, to: end, complete: complete, onEvent)
        bodyRemaining -= Int32(used - bodyStart)
        if let failure { return (used, .failure(failure)) }
        guard complete else { return (used, .needMore) }
        guard phase == .bodyEnd, used == end else { return (used, .failure("truncated or malformed JSON body")) }
        guard hasLast else { return (used, .failure("poll response without \"last\"")) }
        phase = .head
        since = last
        return (used, .complete(last: last))
    }

    /// Reads whole members and messages from `start`; returns where the
    /// last whole one ended, and why it stopped when that is an error.
    @inline(__always)
    private mutating func readBody(_ base: UnsafeRawPointer, from start: Int, to end: Int, complete: Bool,
                                   _ onEvent: (Event) -> Void) -> (Int, String?) {
        var committed = start
        while true {
            var index = JSONScan.skipSpace(base, committed, end)
            if index == end {
                if phase == .bodyEnd { committed = index }
                return (committed, nil)
            }
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            switch phase {
            case .head:
                return (committed, "internal: body read before the head")
            case .bodyStart:
                guard byte == UInt8(ascii: "{") else { return (committed, "the body is not a JSON object") }
                committed = index + 1
                phase = .firstMember
            case .firstMember, .nextMember:
                if byte == UInt8(ascii: "}") {
                    committed = index + 1
                    phase = .bodyEnd
                    continue
                }
                if phase == .nextMember {
                    guard byte == UInt8(ascii: ",") else { return (committed, "expected , or } between members") }
                    index = JSONScan.skipSpace(base, index + 1, end)
                }
                let (next, opensMessages) = readMember(base, index, end, complete: complete, onEvent)
                if next == JSONScan.incomplete { return (committed, nil) }
                if next < 0 { return (committed, "malformed member") }
                committed = next
                phase = opensMessages ? .firstMessage : .nextMember
            case .firstMessage, .nextMessage:
                if byte == UInt8(ascii: "]") {
                    committed = index + 1
                    phase = .nextMember
                    continue
                }
                if phase == .nextMessage {
                    guard byte == UInt8(ascii: ",") else { return (committed, "expected , or ] between messages") }
                    index = JSONScan.skipSpace(base, index + 1, end)
                }
                let next = readMessage(base, index, end, complete: complete, onEvent)
                if next == JSONScan.incomplete { return (committed, nil) }
                if next < 0 { return (committed, "malformed message") }
                committed = next
                phase = .nextMessage
            case .bodyEnd:
                return (committed, "bytes after the JSON body")
            }
        }
    }

    /// `"key":value` at `index`, or `"messages":[` (then `opensMessages`).
    /// Nothing changes unless the member is whole.
    @inline(__always)
    private mutating func readMember(_ base: UnsafeRawPointer, _ index: Int, _ end: Int, complete: Bool,
                                     _ onEvent: (Event) -> Void) -> (next: Int, opensMessages: Bool) {
        guard index < end else { return (JSONScan.incomplete, false) }
        guard base.load(fromByteOffset: index, as: UInt8.self) == UInt8(ascii: "\"") else { return (JSONScan.invalid, false) }
        var escaped = false
        let keyEnd = JSONScan.string(base, index, end, escaped: &escaped)
        if keyEnd < 0 { return (keyEnd, false) }
        var position = JSONScan.skipSpace(base, keyEnd, end)
        guard position < end else { return (JSONScan.incomplete, false) }
        guard base.load(fromByteOffset: position, as: UInt8.self) == UInt8(ascii: ":") else { return (JSONScan.invalid, false) }
        position = JSONScan.skipSpace(base, position + 1, end)
        guard position < end else { return (JSONScan.incomplete, false) }
        let keyStart = index + 1
        let keyLast = keyEnd - 1
        if JSONScan.isKey(base, keyStart, keyLast, "messages") {
            guard base.load(fromByteOffset: position, as: UInt8.self) == UInt8(ascii: "[") else { return (JSONScan.invalid, false) }
            return (position + 1, true)
        }
        if JSONScan.isKey(base, keyStart, keyLast, "last") {
            let (value, next) = JSONScan.unsigned(base, position, end, complete: complete)
            if next >= 0 {
                last = value
                hasLast = true
            }
            return (next, false)
        }
        let next = JSONScan.skipValue(base, position, end, complete: complete)
        if next >= 0 && JSONScan.isKey(base, keyStart, keyLast, "gap") { onEvent(.gap) }
        return (next, false)
    }

    /// `{"seq":N,"data":"...",...}` at `index`, reported when whole.
    @inline(__always)
    private func readMessage(_ base: UnsafeRawPointer, _ index: Int, _ end: Int, complete: Bool,
                             _ onEvent: (Event) -> Void) -> Int {
        guard index < end else { return JSONScan.incomplete }
        guard base.load(fromByteOffset: index, as: UInt8.self) == UInt8(ascii: "{") else { return JSONScan.invalid }
        var sequence: UInt64?
        var dataStart = -1
        var dataEnd = -1
        var dataEscaped = false
        var binary = false
        var position = index + 1
        var first = true
        while true {
            position = JSONScan.skipSpace(base, position, end)
            guard position < end else { return JSONScan.incomplete }
            var byte = base.load(fromByteOffset: position, as: UInt8.self)
            if byte == UInt8(ascii: "}") { break }
            if !first {
                guard byte == UInt8(ascii: ",") else { return JSONScan.invalid }
                position = JSONScan.skipSpace(base, position + 1, end)
                guard position < end else { return JSONScan.incomplete }
                byte = base.load(fromByteOffset: position, as: UInt8.self)
            }
            first = false
            guard byte == UInt8(ascii: "\"") else { return JSONScan.invalid }
            var keyEscaped = false
            let keyEnd = JSONScan.string(base, position, end, escaped: &keyEscaped)
            if keyEnd < 0 { return keyEnd }
            let keyStart = position + 1
            let keyLast = keyEnd - 1
            position = JSONScan.skipSpace(base, keyEnd, end)
            guard position < end else { return JSONScan.incomplete }
            guard base.load(fromByteOffset: position, as: UInt8.self) == UInt8(ascii: ":") else { return JSONScan.invalid }
            position = JSONScan.skipSpace(base, position + 1, end)
            guard position < end else { return JSONScan.incomplete }
            if JSONScan.isKey(base, keyStart, keyLast, "seq") {
                let (value, next) = JSONScan.unsigned(base, position, end, complete: complete)
                if next < 0 { return next }
                sequence = value
                position = next
            } else if JSONScan.isKey(base, keyStart, keyLast, "data") {
                guard base.load(fromByteOffset: position, as: UInt8.self) == UInt8(ascii: "\"") else { return JSONScan.invalid }
                let next = JSONScan.string(base, position, end, escaped: &dataEscaped)
                if next < 0 { return next }
                dataStart = position + 1
                dataEnd = next - 1
                position = next
            } else if JSONScan.isKey(base, keyStart, keyLast, "binary") {
                let next = JSONScan.skipValue(base, position, end, complete: complete)
                if next < 0 { return next }
                binary = JSONScan.isKey(base, position, next, "true")
                position = next
            } else {
                let next = JSONScan.skipValue(base, position, end, complete: complete)
                if next < 0 { return next }
                position = next
            }
        }
        guard let sequence, dataStart >= 0 else { return JSONScan.invalid }
        onEvent(.message(sequence: sequence, data: UnsafeRawBufferPointer(start: base + dataStart, count: dataEnd - dataStart),
                         binary: binary, escaped: dataEscaped))
        return position + 1
    }
}
