/// A field of a hash or of a stream entry.
public struct RedisField: Sendable, Equatable {
    public var name: String
    public var value: [UInt8]

    public init(name: String, value: [UInt8]) {
        self.name = name
        self.value = value
    }

    static func fields(_ pairs: [RESPPair]) -> [RedisField]? {
        var fields: [RedisField] = []
        fields.reserveCapacity(pairs.count)
        for pair in pairs {
            guard let name = pair.key.string, let value = pair.value.bytes else { return nil }
            fields.append(RedisField(name: name, value: value))
        }
        return fields
    }
}

/// One entry of a stream: its id (`<milliseconds>-<sequence>`, or the id the
/// writer chose) and its fields in order.
public struct RedisStreamEntry: Sendable, Equatable {
    public var id: String
    public var fields: [RedisField]

    public init(id: String, fields: [RedisField]) {
        self.id = id
        self.fields = fields
    }

    /// The first field called `name`.
    public subscript(name: String) -> [UInt8]? {
        fields.first { $0.name == name }?.value
    }

    /// XRANGE's reply: `[[id, [name, value, …]], …]` in either protocol.
    static func entries(_ value: RESPValue) -> [RedisStreamEntry]? {
        guard let elements = value.elements else { return nil }
        var entries: [RedisStreamEntry] = []
        entries.reserveCapacity(elements.count)
        for element in elements {
            guard let parts = element.elements, parts.count == 2, let id = parts[0].string,
                  let pairs = parts[1].pairs, let fields = RedisField.fields(pairs) else { return nil }
            entries.append(RedisStreamEntry(id: id, fields: fields))
        }
        return entries
    }
}

/// The entries XREAD returned for one stream.
public struct RedisStreamBatch: Sendable, Equatable {
    public var stream: String
    public var entries: [RedisStreamEntry]

    /// XREAD's reply: a map (RESP3) or an array of [key, entries] (RESP2); nil when nothing is new.
    static func batches(_ value: RESPValue) -> [RedisStreamBatch]? {
        if value.isNull { return [] }
        let pairs: [RESPPair]
        if case .map(let map) = value {
            pairs = map
        } else if let elements = value.elements {
            var list: [RESPPair] = []
            for element in elements {
                guard let parts = element.elements, parts.count == 2 else { return nil }
                list.append(RESPPair(parts[0], parts[1]))
            }
            pairs = list
        } else {
            return nil
        }
        var batches: [RedisStreamBatch] = []
        for pair in pairs {
            guard let stream = pair.key.string, let entries = RedisStreamEntry.entries(pair.value) else { return nil }
            batches.append(RedisStreamBatch(stream: stream, entries: entries))
        }
        return batches
    }
}

/// How long XADD keeps a stream.
public enum RedisStreamLength: Sendable, Equatable {
    /// MAXLEN ~ N: at least N entries, trimmed in whole macro nodes (cheap).
    case approximately(Int)
    /// MAXLEN = N.
    case exactly(Int)

    var count: Int {
        switch self {
        case .approximately(let count), .exactly(let count): count
        }
    }

    var isApproximate: Bool {
        if case .approximately = self { return true }
        return false
    }
}
