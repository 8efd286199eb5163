import Reactor
import Redis
import XCTest

/// The client against a real redis-server started by each test.
final class RedisClientTests: XCTestCase {
    func testTenThousandPipelinedCommandsAreAnsweredInOrder() throws {
        let server = try RedisServerProcess()
        let client = try LoopClient(url: server.url)
        XCTAssertTrue(client.wait(for: .up))
        XCTAssertEqual(client.status.protocolVersion, 3)
        XCTAssertEqual(client.status.serverVersion?.isEmpty, false)

        let replies = Shared<[Int64]>([])
        let failures = Shared<[String]>([])
        // Issued in one loop pass: they leave together and are all in flight at once.
        let inFlight = client.run { redis -> Int in
            for index in 1...10_000 {
                let record: RedisReplyHandler = { result in
                    switch result {
                    case .success(let value): replies.update { $0.append(value.integer ?? -1) }
                    case .failure(let error): failures.update { $0.append("\(index): \(error)") }
                    }
                }
                do {
                    // Every 100th command is of another type, so that order is checked across types.
                    if index % 100 == 0 {
                        try redis.send("INCRBY", "pipelined", 0, reply: record)
                    } else {
                        try redis.send("INCR", "pipelined", reply: record)
                    }
                } catch {
                    failures.update { $0.append("\(index): \(error)") }
                }
            }
            return redis.pendingCount
        }
        XCTAssertEqual(inFlight, 10_000)
        XCTAssertTrue(eventually { replies.value.count + failures.value.count == 10_000 })
        XCTAssertEqual(failures.value, [])
        // INCRBY 0 repeats the previous value; INCR adds one: reply i is the count of INCRs before it.
        let expected = (1...10_000).map { index in Int64(index - index / 100) }
        XCTAssertEqual(replies.value, expected)
        XCTAssertEqual(client.run { $0.pendingCount }, 0)
    }

    func testPubSubAcrossTwoClients() throws {
        let server = try RedisServerProcess()
        let subscriber = try LoopClient(url: server.url)
        let publisher = try LoopClient(url: server.url)
        XCTAssertTrue(subscriber.wait(for: .up) && publisher.wait(for: .up))
        XCTAssertNotNil(subscriber.subscribe(["room:lobby"]).value())
        XCTAssertNotNil(subscriber.subscribe(["room:*"], kind: .pattern).value())
        XCTAssertNotNil(subscriber.subscribe(["shard:a"], kind: .shardChannel).value())
        XCTAssertEqual(subscriber.run { $0.subscribedNames(.pattern) }, ["room:*"])

        let receivers = Shared<[Int]>([])
        publisher.run { redis in
            for index in 0..<100 {
                try? redis.publish("message \(index)", to: "room:lobby") { result in receivers.update { $0.append((try? result.get()) ?? -1) } }
            }
            try? redis.spublish(Array("sharded".utf8), to: "shard:a")
        }
        XCTAssertTrue(eventually { subscriber.messages.value.count == 201 })
        let messages = subscriber.messages.value
        let direct = messages.filter { $0.kind == .channel }
        let matched = messages.filter { $0.kind == .pattern }
        XCTAssertEqual(direct.map { String(decoding: $0.payload, as: UTF8.self) }, (0..<100).map { "message \($0)" })
        XCTAssertEqual(matched.map { String(decoding: $0.payload, as: UTF8.self) }, (0..<100).map { "message \($0)" })
        XCTAssertEqual(Set(matched.map(\.pattern)), ["room:*"])
        XCTAssertEqual(Set(messages.map(\.channel)), ["room:lobby", "shard:a"])
        XCTAssertEqual(messages.last, RedisPubSubMessage(kind: .shardChannel, channel: "shard:a", payload: Array("sharded".utf8)))
        // One connection, two receivers on it (the channel and the pattern).
        XCTAssertEqual(receivers.value, Array(repeating: 2, count: 100))

        // RESP3: the subscribed connection still takes commands.
        XCTAssertEqual(subscriber.call(["ECHO", "still here"]).value(), .bulkString(Array("still here".utf8)))

        XCTAssertNotNil(subscriber.unsubscribe(["room:lobby"]).value())
        XCTAssertNotNil(subscriber.unsubscribe(["room:*"], kind: .pattern).value())
        XCTAssertEqual(publisher.call(["PUBLISH", "room:lobby", "nobody hears this"]).value(), .integer(0))
        XCTAssertEqual(subscriber.messages.value.count, 201)
    }

    func testRESP2SubscribedConnectionRefusesCommandsUntilUnsubscribed() throws {
        let server = try RedisServerProcess()
        let subscriber = try LoopClient(url: server.url) { $0.protocolVersion = .resp2 }
        let publisher = try LoopClient(url: server.url) { $0.protocolVersion = .resp2 }
        XCTAssertTrue(subscriber.wait(for: .up) && publisher.wait(for: .up))
        XCTAssertEqual(subscriber.status.protocolVersion, 2)
        XCTAssertNotNil(subscriber.subscribe(["a", "b"]).value())
        XCTAssertNotNil(subscriber.subscribe(["p*"], kind: .pattern).value())
        XCTAssertEqual(publisher.call(["PUBLISH", "a", "1"]).value(), .integer(1))
        XCTAssertEqual(publisher.call(["PUBLISH", "pq", "2"]).value(), .integer(1))
        XCTAssertTrue(eventually { subscriber.messages.value.count == 2 })
        XCTAssertEqual(subscriber.messages.value, [
            RedisPubSubMessage(kind: .channel, channel: "a", payload: [49]),
            RedisPubSubMessage(kind: .pattern, channel: "pq", pattern: "p*", payload: [50]),
        ])
        guard case .failure(.notAllowed(let why)) = subscriber.call(["GET", "x"]) else { return XCTFail("a command on a subscribed RESP2 connection was sent") }
        XCTAssertTrue(why.contains("RESP2 connection is subscribed"), why)
        // The health check's PING is one of the commands Redis takes there: it answers [pong, ""].
        XCTAssertNotNil(subscriber.unsubscribe(["a", "b"]).value())
        XCTAssertNotNil(subscriber.unsubscribe(["p*"], kind: .pattern).value())
        XCTAssertEqual(subscriber.call(["ECHO", "back"]).value(), .bulkString(Array("back".utf8)))
    }

    func testAuthWithRequirepassAndWithAnACLUser() throws {
        let server = try RedisServerProcess(configuration: ["requirepass door", "user alice on >s3cret ~* &* +@all"])
        for version in [RedisProtocolVersion.resp3, .resp2] {
            let byPassword = try LoopClient(url: "redis://:door@127.0.0.1:\(server.port)") { $0.protocolVersion = version }
            XCTAssertTrue(byPassword.wait(for: .up), "\(version): \(byPassword.status)")
            XCTAssertEqual(byPassword.call(["ACL", "WHOAMI"]).value(), .bulkString(Array("default".utf8)))

            let alice = try LoopClient(url: "redis://alice:s3cret@127.0.0.1:\(server.port)/3") {
                $0.protocolVersion = version
                $0.clientName = "node-1"
            }
            XCTAssertTrue(alice.wait(for: .up), "\(version): \(alice.status)")
            XCTAssertEqual(alice.call(["ACL", "WHOAMI"]).value(), .bulkString(Array("alice".utf8)))
            XCTAssertEqual(alice.call(["CLIENT", "GETNAME"]).value(), .bulkString(Array("node-1".utf8)))
            let info = alice.call(["CLIENT", "INFO"]).value()?.string ?? ""
            XCTAssertTrue(info.contains(" db=3 "), info)
        }

        let wrong = try LoopClient(url: "redis://alice:guess@127.0.0.1:\(server.port)")
        XCTAssertTrue(wrong.wait(for: .down))
        XCTAssertTrue(eventually { wrong.status.reconnectAttempts >= 2 })
        let status = wrong.status
        XCTAssertTrue(status.lastError?.contains("HELLO refused: WRONGPASS") == true, "\(status)")
        guard case .failure(.unavailable(let seen)) = wrong.call(["PING"]) else { return XCTFail("a command was sent before login") }
        XCTAssertEqual(seen.state, .down)
        XCTAssertTrue("\(RedisError.unavailable(seen))".contains("WRONGPASS"))

        let none = try LoopClient(url: server.url) { $0.protocolVersion = .resp2 }
        XCTAssertTrue(none.wait(for: .up))  // RESP2 without a password: nothing checks at login
        guard case .failure(.server(let error)) = none.call(["GET", "k"]) else { return XCTFail("unauthenticated GET answered") }
        XCTAssertEqual(error.code, "NOAUTH")
    }

    func testFallsBackToRESP2WhenHelloIsRefused() throws {
        let server = try RedisServerProcess(configuration: ["rename-command HELLO \"\"", "requirepass door"])
        let client = try LoopClient(url: "redis://:door@127.0.0.1:\(server.port)/2")
        XCTAssertTrue(client.wait(for: .up), "\(client.status)")
        XCTAssertEqual(client.status.protocolVersion, 2)
        XCTAssertNil(client.status.serverVersion)
        XCTAssertEqual(client.call(["SET", "where", "db2"]).value(), .simpleString("OK"))
        XCTAssertEqual(client.call(["HSET", "h", "f", "v"]).value(), .integer(1))
        XCTAssertEqual(client.call(["HGETALL", "h"]).value(), .array([.bulkString([102]), .bulkString([118])]))
        let other = try LoopClient(url: "redis://:door@127.0.0.1:\(server.port)/0")
        XCTAssertTrue(other.wait(for: .up))
        XCTAssertEqual(other.call(["GET", "where"]).value(), .null)
        XCTAssertEqual(other.call(["SELECT", "2"]).failureDescription?.contains("belongs in the configuration"), true)
    }

    func testCommandsThatWouldBreakReplyMatchingAreRefusedAndTheConnectionGoesOn() throws {
        let server = try RedisServerProcess()
        let client = try LoopClient(url: server.url)
        XCTAssertTrue(client.wait(for: .up))
        for command in [["subscribe", "x"], ["PSUBSCRIBE", "x*"], ["Unsubscribe"], ["MONITOR"], ["hello", "2"], ["AUTH", "x"], ["QUIT"], ["RESET"]] {
            guard case .failure(.notAllowed) = client.call(command) else { return XCTFail("\(command) was sent") }
        }
        XCTAssertEqual(client.call(["SUBSTR", "k", "0", "1"]).value(), .bulkString([]))  // a name that merely starts the same
        XCTAssertEqual(client.call(["PING"]).value(), .simpleString("PONG"))
    }

    func testAGracefulShutdownWaitsForTheRepliesInFlight() throws {
        let server = try RedisServerProcess()
        let client = try LoopClient(url: server.url)
        XCTAssertTrue(client.wait(for: .up))
        let answer = Shared<Result<RESPValue, RedisError>?>(nil)
        client.run { redis in try? redis.send("BLPOP", "nothing", "0.3") { result in answer.update { $0 = result } } }
        let started = monotonicNanoseconds()
        client.shutDownGracefully(seconds: 5)
        XCTAssertGreaterThanOrEqual(monotonicNanoseconds() - started, 250_000_000, "the loop did not wait for the reply")
        XCTAssertEqual(answer.value.flatMap { try? $0.get() }, .null)
        XCTAssertEqual(client.statuses.value.last?.state, .closed)
    }

    func testRESP3TypesFromARealServerAndAPushBetweenReplies() throws {
        let server = try RedisServerProcess(configuration: ["enable-debug-command local"])
        let client = try LoopClient(url: server.url)
        XCTAssertTrue(client.wait(for: .up))
        let expected: [(String, RESPValue)] = [
            ("attrib", .bulkString(Array("Some real reply following the attribute".utf8))),
            ("bignum", .bigNumber("1234567999999999999999999999999999999")),
            ("verbatim", .verbatimString(format: "txt", text: Array("This is a verbatim\nstring".utf8))),
            ("double", .double(3.141)),
            ("true", .boolean(true)),
            ("false", .boolean(false)),
            ("null", .null),
            ("map", .map([RESPPair(.integer(0), .boolean(false)), RESPPair(.integer(1), .boolean(true)), RESPPair(.integer(2), .boolean(false))])),
            ("set", .set([.integer(0), .integer(1), .integer(2)])),
            // A push first, then the reply: the push must not take the reply's place.
            ("push", .bulkString(Array("Some real reply following the push reply".utf8))),
        ]
        for (type, value) in expected {
            XCTAssertEqual(client.call(["DEBUG", "PROTOCOL", type]).value(), value, type)
        }
        XCTAssertEqual(client.pushes.value, [[.bulkString(Array("server-cpu-usage".utf8)), .integer(42)]])
    }

    func testConvenienceCommandsForTheRoomBackend() throws {
        let server = try RedisServerProcess()
        let client = try LoopClient(url: server.url)
        XCTAssertTrue(client.wait(for: .up))

        // Streams: history with a bound, read back by range and after an id.
        for index in 1...50 {
            let id = client.call { redis, reply throws(RedisError) in
                try redis.xadd("history", [("seq", "\(index)"), ("body", "m\(index)")], id: "\(index)-0", maxLength: .exactly(20), reply: reply)
            }
            XCTAssertEqual(id.value(), "\(index)-0")
        }
        let range = client.call { redis, reply throws(RedisError) in try redis.xrange("history", from: "(45-0", reply: reply) }.value() ?? []
        XCTAssertEqual(range.map(\.id), ["46-0", "47-0", "48-0", "49-0", "50-0"])
        XCTAssertEqual(range.first?["body"], Array("m46".utf8))
        let oldest = client.call { redis, reply throws(RedisError) in try redis.xrange("history", count: 1, reply: reply) }.value()
        XCTAssertEqual(oldest?.map(\.id), ["31-0"])  // exactly 20 kept
        let approximate = client.call { redis, reply throws(RedisError) in
            try redis.xadd("auto", [("k", [UInt8](repeating: 7, count: 3))], maxLength: .approximately(1000), reply: reply)
        }
        XCTAssertEqual(approximate.value()?.hasSuffix("-0"), true)
        let batches = client.call { redis, reply throws(RedisError) in
            try redis.xread([(key: "history", after: "48-0"), (key: "auto", after: "0-0"), (key: "none", after: "0-0")], reply: reply)
        }.value() ?? []
        XCTAssertEqual(batches.map(\.stream), ["history", "auto"])
        XCTAssertEqual(batches.first?.entries.map(\.id), ["49-0", "50-0"])
        XCTAssertEqual(batches.last?.entries.first?.fields, [RedisField(name: "k", value: [7, 7, 7])])
        let nothing = client.call { redis, reply throws(RedisError) in try redis.xread([(key: "history", after: "50-0")], reply: reply) }
        XCTAssertEqual(nothing.value(), [])

        // Presence without KEYS: a set of members, each alive while its expiring key is.
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.sadd("nodes", ["n1", "n2", "n2"], reply: reply) }.value(), 2)
        XCTAssertNotNil(client.call { redis, reply throws(RedisError) in try redis.set("alive:n1", to: "1", expiringAfter: .seconds(30), reply: reply) }.value())
        XCTAssertNotNil(client.call { redis, reply throws(RedisError) in try redis.set("alive:n2", to: "1", expiringAfter: .milliseconds(150), reply: reply) }.value())
        let members = client.call { redis, reply throws(RedisError) in try redis.smembers("nodes", reply: reply) }.value() ?? []
        XCTAssertEqual(Set(members.map { String(decoding: $0, as: UTF8.self) }), ["n1", "n2"])
        let ttl = client.call(["TTL", "alive:n1"]).value()?.integer ?? 0
        XCTAssertTrue((29...30).contains(ttl), "TTL \(ttl)")
        XCTAssertTrue(eventually(3) {
            client.call { redis, reply throws(RedisError) in try redis.mget(["alive:n1", "alive:n2"], reply: reply) }.value() == [[49], nil]
        }, "n2's presence did not expire")
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.srem("nodes", ["n2"], reply: reply) }.value(), 1)
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.expire("alive:n1", seconds: 60, reply: reply) }.value(), true)
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.expire("alive:n9", seconds: 60, reply: reply) }.value(), false)

        // Hashes: members per room on this node.
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.hset("room:a:members", [("n1", 12), ("n2", 3)], reply: reply) }.value(), 2)
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.hdel("room:a:members", ["n2"], reply: reply) }.value(), 1)
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.hgetall("room:a:members", reply: reply) }.value(), [RedisField(name: "n1", value: Array("12".utf8))])
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.incr("room:a:seq", reply: reply) }.value(), 1)
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.get("room:a:seq", reply: reply) }.value(), Array("1".utf8))
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.get("missing", reply: reply) }.value(), .some(nil))
        XCTAssertEqual(client.call { redis, reply throws(RedisError) in try redis.del(["room:a:seq", "missing"], reply: reply) }.value(), 1)

        // A typed call that gets another type says so.
        let mismatch = client.call { redis, reply throws(RedisError) in try redis.incr("history", reply: reply) }
        guard case .failure(.server(let error)) = mismatch else { return XCTFail("INCR on a stream: \(mismatch)") }
        XCTAssertEqual(error.code, "WRONGTYPE")
    }

    func testTheRoomPublishScriptAssignsTheSequenceInRedis() throws {
        let server = try RedisServerProcess()
        let client = try LoopClient(url: server.url)
        let listener = try LoopClient(url: server.url)
        XCTAssertTrue(client.wait(for: .up) && listener.wait(for: .up))
        XCTAssertNotNil(listener.subscribe(["room:chat"]).value())
        let script = client.run { LoopBound($0.registerScript(RoomScript.publish), loop: $0.loop) }
        // The first run may go out before SCRIPT LOAD is answered; every run must work either way.
        for index in 1...5 {
            let sequence = client.call { redis, reply throws(RedisError) in
                try redis.evaluate(script.value, keys: ["room:chat:seq", "room:chat:log"], arguments: "room:chat", 100, "hello \(index)", reply: reply)
            }
            XCTAssertEqual(sequence.value(), .integer(Int64(index)))
        }
        XCTAssertNotNil(client.run { _ in script.value.sha })
        XCTAssertTrue(eventually { listener.messages.value.count == 5 })
        XCTAssertEqual(listener.messages.value.map { String(decoding: $0.payload, as: UTF8.self) }, (1...5).map { "\($0) hello \($0)" })
        let log = client.call { redis, reply throws(RedisError) in try redis.xrange("room:chat:log", from: "(3-0", reply: reply) }.value()
        XCTAssertEqual(log?.map(\.id), ["4-0", "5-0"])

        // A flushed script cache: one call fails with NOSCRIPT (nothing ran), the next works again.
        XCTAssertEqual(listener.call(["SCRIPT", "FLUSH"]).value(), .simpleString("OK"))
        let flushed = client.call { redis, reply throws(RedisError) in
            try redis.evaluate(script.value, keys: ["room:chat:seq", "room:chat:log"], arguments: "room:chat", 100, "lost?", reply: reply)
        }
        guard case .failure(.server(let error)) = flushed else { return XCTFail("\(flushed)") }
        XCTAssertEqual(error.code, "NOSCRIPT")
        let again = client.call { redis, reply throws(RedisError) in
            try redis.evaluate(script.value, keys: ["room:chat:seq", "room:chat:log"], arguments: "room:chat", 100, "again", reply: reply)
        }
        XCTAssertEqual(again.value(), .integer(6))
    }
}

/// The script a room backend would run per publish: the sequence from INCR,
/// the entry in the room's stream under that sequence (so a resume is an
/// XRANGE from it), and the message on the room's channel, atomically.
enum RoomScript {
    static let publish = """
        local seq = redis.call('INCR', KEYS[1])
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'm', ARGV[3])
        redis.call('PUBLISH', ARGV[1], seq .. ' ' .. ARGV[3])
        return seq
        """
}

extension Result {
    var failureDescription: String? {
        if case .failure(let error) = self { return "\(error)" }
        return nil
    }
}
