/// What users type, checked: names, room names, messages, and the `@name`
/// form of a private message. A refusal is a sentence the page shows as it is.
enum ChatText {
    /// A name: 1 to `maxLength` characters, no white space (so `@name text`
    /// reads unambiguously), no control characters, not starting with `@`.
    /// Leading and trailing white space is dropped.
    static func name(_ raw: String, maxLength: Int) -> Result<String, Refusal> {
        let name = trimmed(raw)
        if name.isEmpty { return .failure(Refusal("a name cannot be empty: type the name you want")) }
        if name.unicodeScalars.count > maxLength { return .failure(Refusal("a name has at most \(maxLength) characters")) }
        if name.unicodeScalars.contains(where: { $0.properties.isWhitespace || isControl($0) }) {
            return .failure(Refusal("a name cannot contain spaces or control characters"))
        }
        if name.hasPrefix("@") { return .failure(Refusal("a name cannot start with @")) }
        return .success(name)
    }

    /// A room name: 1 to `maxLength` characters, no control characters;
    /// leading and trailing white space dropped.
    static func room(_ raw: String, maxLength: Int) -> Result<String, Refusal> {
        let room = trimmed(raw)
        if room.isEmpty { return .failure(Refusal("a room name cannot be empty")) }
        if room.unicodeScalars.count > maxLength { return .failure(Refusal("a room name has at most \(maxLength) characters")) }
        if room.unicodeScalars.contains(where: isControl) { return .failure(Refusal("a room name cannot contain control characters")) }
        return .success(room)
    }

    /// A message: not blank, at most `maxLength` characters, no control
    /// characters but line feeds and tabs. Kept as typed.
    static func message(_ text: String, maxLength: Int) -> Result<String, Refusal> {
        if trimmed(text).isEmpty { return .failure(Refusal("a message cannot be empty")) }
        if text.unicodeScalars.count > maxLength {
            return .failure(Refusal("a message has at most \(maxLength) characters (this one has \(text.unicodeScalars.count))"))
        }
        if text.unicodeScalars.contains(where: { isControl($0) && $0 != "\n" && $0 != "\t" }) {
            return .failure(Refusal("a message cannot contain control characters"))
        }
        return .success(text)
    }

    /// `@name text` → (name, text); nil when the message does not start with `@`.
    static func privateMessage(_ text: String) -> (recipient: String, text: String)? {
        guard text.hasPrefix("@") else { return nil }
        let rest = text.unicodeScalars.dropFirst()
        let nameEnd = rest.firstIndex { $0.properties.isWhitespace } ?? rest.endIndex
        let recipient = String(String.UnicodeScalarView(rest[rest.startIndex..<nameEnd]))
        let body = String(String.UnicodeScalarView(rest[nameEnd...]))
        return (recipient, trimmed(body))
    }

    /// The name as the store compares names: ASCII letters folded to lower
    /// case, nothing else (SQLite's NOCASE), so presence and storage agree.
    static func folded(_ name: String) -> String {
        String(decoding: name.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    private static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

/// Why a request was refused, in words for the user.
struct Refusal: Error, Sendable {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
