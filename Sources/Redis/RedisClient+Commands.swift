// Typed commands: what a room backend needs (publish, sequences, streams for history, expiring
// presence keys, sets and hashes for indexes). Each throws `RedisError` without sending when Redis
// is unavailable, and otherwise answers on the loop with a typed result (or
// `.unexpectedReply` should Redis answer with another type).

public typealias RedisResultHandler<Value> = (Result<Value, RedisError>) -> Void

extension RedisClient {
    // MARK: Connection, pub/sub, counters, strings

    public func ping(reply: RedisResultHandler<Void>? = nil) throws(RedisError) {
        try send("PING", reply: expecting("PONG", reply) { $0.string.map { _ in () } })
    }

    /// PUBLISH; the reply is the number of clients that received it (on this node of a cluster).
    public func publish<Channel: RESPArgument, Message: RESPArgument>(
        _ message: Message, to channel: Channel, reply: RedisResultHandler<Int>? = nil
    ) throws(RedisError) {
        try send("PUBLISH", channel, message, reply: expecting("an integer", reply, Self.int))
    }

    /// SPUBLISH, to a shard channel.
    public func spublish<Channel: RESPArgument, Message: RESPArgument>(
        _ message: Message, to channel: Channel, reply: RedisResultHandler<Int>? = nil
    ) throws(RedisError) {
        try send("SPUBLISH", channel, message, reply: expecting("an integer", reply, Self.int))
    }

    /// INCR: the value after the increment.
    public func incr<Key: RESPArgument>(_ key: Key, reply: RedisResultHandler<Int64>? = nil) throws(RedisError) {
        try send("INCR", key, reply: expecting("an integer", reply) { $0.integer })
    }

    /// GET: nil when the key does not exist.
    public func get<Key: RESPArgument>(_ key: Key, reply: @escaping RedisResultHandler<[UInt8]?>) throws(RedisError) {
        try send("GET", key, reply: expecting("a bulk string or nil", reply, Self.optionalBytes))
    }

    /// MGET: one value (or nil) per key, in order.
    public func mget<Keys: Collection>(_ keys: Keys, reply: @escaping RedisResultHandler<[[UInt8]?]>) throws(RedisError)
    where Keys.Element: RESPArgument {
        try send("MGET", contentsOf: keys, reply: expecting("an array", reply) { value in
            value.elements.flatMap { elements in
                let values = elements.map(Self.optionalBytes)
                return values.contains { $0 == nil } ? nil : values.map { $0! }
            }
        })
    }

    /// SET, with EX (whole seconds) or PX (milliseconds) when `expiringAfter` is given.
    public func set<Key: RESPArgument, Value: RESPArgument>(
        _ key: Key, to value: Value, expiringAfter lifetime: Duration? = nil, reply: RedisResultHandler<Void>? = nil
    ) throws(RedisError) {
        let ok = expecting("OK", reply) { $0 == .simpleString("OK") ? () : nil }
        guard let lifetime else { return try send("SET", key, value, reply: ok) }
        let milliseconds = Int(clamping: lifetime.nanoseconds / 1_000_000)
        if milliseconds % 1000 == 0 {
            try send("SET", key, value, "EX", milliseconds / 1000, reply: ok)
        } else {
            try send("SET", key, value, "PX", milliseconds, reply: ok)
        }
    }

    /// EXPIRE: false when the key does not exist.
    public func expire<Key: RESPArgument>(_ key: Key, seconds: Int, reply: RedisResultHandler<Bool>? = nil) throws(RedisError) {
        try send("EXPIRE", key, seconds, reply: expecting("an integer", reply) { $0.integer.map { $0 == 1 } })
    }

    /// DEL: how many of the keys existed.
    public func del<Keys: Collection>(_ keys: Keys, reply: RedisResultHandler<Int>? = nil) throws(RedisError)
    where Keys.Element: RESPArgument {
        try send("DEL", contentsOf: keys, reply: expecting("an integer", reply, Self.int))
    }

    // MARK: Sets

    /// SADD: how many members were new.
    public func sadd<Key: RESPArgument, Members: Collection>(
        _ key: Key, _ members: Members, reply: RedisResultHandler<Int>? = nil
    ) throws(RedisError) where Members.Element: RESPArgument {
        try send("SADD", key, contentsOf: members, reply: expecting("an integer", reply, Self.int))
    }

    /// SREM: how many members were there.
    public func srem<Key: RESPArgument, Members: Collection>(
        _ key: Key, _ members: Members, reply: RedisResultHandler<Int>? = nil
    ) throws(RedisError) where Members.Element: RESPArgument {
        try send("SREM", key, contentsOf: members, reply: expecting("an integer", reply, Self.int))
    }

    /// SMEMBERS, in no particular order.
    public func smembers<Key: RESPArgument>(_ key: Key, reply: @escaping RedisResultHandler<[[UInt8]]>) throws(RedisError) {
        try send("SMEMBERS", key, reply: expecting("a set", reply) { value in
            value.elements.flatMap { elements in
                let members = elements.compactMap(\.bytes)
                return members.count == elements.count ? members : nil
            }
        })
    }

    // MARK: Hashes

    /// HSET: how many fields were new.
    public func hset<Key: RESPArgument, Fields: Collection, Name: RESPArgument, Value: RESPArgument>(
        _ key: Key, _ fields: Fields, reply: RedisResultHandler<Int>? = nil
    ) throws(RedisError) where Fields.Element == (Name, Value) {
        try sendBuilt(argumentCount: 2 + 2 * fields.count, reply: expecting("an integer", reply, Self.int)) { output in
            output.writeBulk("HSET" as StaticString)
            output.writeBulk(key)
            for (name, value) in fields {
                output.writeBulk(name)
                output.writeBulk(value)
            }
        }
    }

    /// HDEL: how many of the fields existed.
    public func hdel<Key: RESPArgument, Names: Collection>(
        _ key: Key, _ names: Names, reply: RedisResultHandler<Int>? = nil
    ) throws(RedisError) where Names.Element: RESPArgument {
        try send("HDEL", key, contentsOf: names, reply: expecting("an integer", reply, Self.int))
    }

    /// HGETALL: every field (a map in RESP3, alternating names and values in RESP2).
    public func hgetall<Key: RESPArgument>(_ key: Key, reply: @escaping RedisResultHandler<[RedisField]>) throws(RedisError) {
        try send("HGETALL", key, reply: expecting("a map", reply) { $0.pairs.flatMap(RedisField.fields) })
    }

    // MARK: Streams

    /// XADD: the new entry's id. `maxLength` trims the stream in the same
    /// command (`.approximately`: MAXLEN ~ N, whole macro nodes at a time,
    /// which is what keeps trimming cheap).
    public func xadd<Key: RESPArgument, Fields: Collection, Name: RESPArgument, Value: RESPArgument>(
        _ key: Key, _ fields: Fields, id: String = "*", maxLength: RedisStreamLength? = nil, reply: RedisResultHandler<String>? = nil
    ) throws(RedisError) where Fields.Element == (Name, Value) {
        let trimArguments = maxLength == nil ? 0 : 3
        try sendBuilt(argumentCount: 3 + trimArguments + 2 * fields.count, reply: expecting("an entry id", reply) { $0.string }) { output in
            output.writeBulk("XADD" as StaticString)
            output.writeBulk(key)
            if let maxLength {
                output.writeBulk("MAXLEN" as StaticString)
                output.writeBulk(maxLength.isApproximate ? "~" as StaticString : "=" as StaticString)
                output.writeBulk(maxLength.count)
            }
            output.writeBulk(id)
            for (name, value) in fields {
                output.writeBulk(name)
                output.writeBulk(value)
            }
        }
    }

    /// XRANGE from `start` to `end` (ids; "-" and "+" are the ends, "(" before an id excludes it).
    public func xrange<Key: RESPArgument>(
        _ key: Key, from start: String = "-", to end: String = "+", count: Int? = nil, reply: @escaping RedisResultHandler<[RedisStreamEntry]>
    ) throws(RedisError) {
        let decode = expecting("stream entries", reply, RedisStreamEntry.entries)
        if let count {
            try send("XRANGE", key, start, end, "COUNT", count, reply: decode)
        } else {
            try send("XRANGE", key, start, end, reply: decode)
        }
    }

    /// XREAD (without BLOCK, which would hold up every command behind it):
    /// the entries after each given id, per stream; streams with none are left out.
    public func xread(
        _ streams: [(key: String, after: String)], count: Int? = nil, reply: @escaping RedisResultHandler<[RedisStreamBatch]>
    ) throws(RedisError) {
        try sendBuilt(argumentCount: 2 + (count == nil ? 0 : 2) + 2 * streams.count, reply: expecting("streams", reply, RedisStreamBatch.batches)) { output in
            output.writeBulk("XREAD" as StaticString)
            if let count {
                output.writeBulk("COUNT" as StaticString)
                output.writeBulk(count)
            }
            output.writeBulk("STREAMS" as StaticString)
            for stream in streams { output.writeBulk(stream.key) }
            for stream in streams { output.writeBulk(stream.after) }
        }
    }

    // MARK: Scripts

    /// EVAL with the script's text; `evaluate` with a registered `RedisScript` sends its SHA-1 instead.
    public func eval<each Argument: RESPArgument>(
        _ source: String, keys: [String], arguments: repeat each Argument, reply: RedisReplyHandler? = nil
    ) throws(RedisError) {
        var argumentCount = 3 + keys.count
        for _ in repeat each arguments { argumentCount += 1 }
        try sendBuilt(argumentCount: argumentCount, reply: reply) { output in
            output.writeBulk("EVAL" as StaticString)
            output.writeBulk(source)
            output.writeBulk(keys.count)
            for key in keys { output.writeBulk(key) }
            for argument in repeat each arguments { output.writeBulk(argument) }
        }
    }

    // MARK: Helpers

    /// A command whose argument count depends on its options: `build` writes
    /// exactly `argumentCount` bulk strings (checked in debug builds).
    func sendBuilt(argumentCount: Int, reply: RedisReplyHandler?, _ build: (RESPCommandBuffer) -> Void) throws(RedisError) {
        try admit()
        output.writeArrayHeader(argumentCount)
        let before = output.bulkCount
        build(output)
        assert(output.bulkCount - before == argumentCount, "a command declared \(argumentCount) arguments and wrote \(output.bulkCount - before)")
        pending.append(.reply(reply))
        counters.commands &+= 1
    }

    /// A reply handler that decodes for a typed one.
    func expecting<Value>(_ what: String, _ completion: RedisResultHandler<Value>?, _ decode: @escaping (RESPValue) -> Value?) -> RedisReplyHandler? {
        guard let completion else { return nil }
        return { result in
            completion(result.flatMap { value in
                if let decoded = decode(value) { return .success(decoded) }
                return .failure(.unexpectedReply(expected: what, got: value))
            })
        }
    }

    static func int(_ value: RESPValue) -> Int? { value.integer.map { Int($0) } }

    /// nil for a null, the bytes for a string; nil twice (no value) otherwise.
    static func optionalBytes(_ value: RESPValue) -> [UInt8]?? {
        if value.isNull { return .some(nil) }
        return value.bytes.map { .some($0) }
    }
}
