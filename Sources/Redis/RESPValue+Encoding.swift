/// Values as a server sends them (RESP3 forms): for fakes of Redis in tests
/// and tools, and for round trips through `RESPReader`. A client sends only
/// commands (`RESPCommandBuffer`).
extension RESPValue {
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    public func encode(into bytes: inout [UInt8]) {
        func line(_ type: Character, _ text: String) {
            bytes.append(contentsOf: "\(type)\(text)\r\n".utf8)
        }
        func blob(_ type: Character, _ body: [UInt8]) {
            line(type, String(body.count))
            bytes.append(contentsOf: body)
            bytes.append(contentsOf: [13, 10])
        }
        switch self {
        case .simpleString(let text): line("+", text)
        case .error(let message): line("-", message)
        case .integer(let value): line(":", String(value))
        case .bulkString(let body): blob("$", body)
        case .null: line("_", "")
        case .double(let value): line(",", value.isNaN ? "nan" : value == .infinity ? "inf" : value == -.infinity ? "-inf" : "\(value)")
        case .boolean(let value): line("#", value ? "t" : "f")
        case .bigNumber(let digits): line("(", digits)
        case .verbatimString(let format, let text): blob("=", Array(format.utf8) + [UInt8(ascii: ":")] + text)
        case .array(let elements), .set(let elements), .push(let elements):
            let type: Character = if case .array = self { "*" } else if case .set = self { "~" } else { ">" }
            line(type, String(elements.count))
            for element in elements { element.encode(into: &bytes) }
        case .map(let pairs):
            line("%", String(pairs.count))
            for pair in pairs {
                pair.key.encode(into: &bytes)
                pair.value.encode(into: &bytes)
            }
        }
    }
}
