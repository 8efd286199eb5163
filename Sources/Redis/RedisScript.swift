/// A Lua script run by its SHA-1 (EVALSHA), so each call sends a few dozen
/// bytes instead of the script. Every connection loads it (SCRIPT LOAD)
/// right after logging in, so a Redis restarted with an empty script cache
/// has it before the first call; only before Redis first told its SHA-1
/// does a call send the whole script (EVAL). Should the cache be flushed
/// under a live connection, the call fails with NOSCRIPT (nothing ran), and
/// the script is loaded again for the next one.
public final class RedisScript {
    public let source: String
    /// Known once Redis answered SCRIPT LOAD.
    public internal(set) var sha: String?

    init(source: String) {
        self.source = source
    }
}

extension RedisClient {
    /// Registers a script with this client; run it with `evaluate`.
    public func registerScript(_ source: String) -> RedisScript {
        loop.assertInLoop()
        let script = RedisScript(source: source)
        scripts.append(script)
        if setupSent { sendScriptLoad(script) }
        return script
    }

    /// Runs `script` with `keys` (KEYS[1]…) and `arguments` (ARGV[1]…):
    /// `try client.evaluate(publish, keys: [sequenceKey, streamKey], arguments: room, payload) { … }`.
    public func evaluate<each Argument: RESPArgument>(
        _ script: RedisScript, keys: [String], arguments: repeat each Argument, reply: RedisReplyHandler? = nil
    ) throws(RedisError) {
        try admit()
        var argumentCount = 3 + keys.count
        for _ in repeat each arguments { argumentCount += 1 }
        output.writeArrayHeader(argumentCount)
        if let sha = script.sha {
            output.writeBulk("EVALSHA" as StaticString)
            output.writeBulk(sha)
        } else {
            output.writeBulk("EVAL" as StaticString)
            output.writeBulk(script.source)
        }
        output.writeBulk(keys.count)
        for key in keys { output.writeBulk(key) }
        for argument in repeat each arguments { output.writeBulk(argument) }
        pending.append(.scriptRun(script, reply))
        counters.commands &+= 1
    }

    func sendScriptLoad(_ script: RedisScript) {
        output.append("SCRIPT", "LOAD", script.source)
        pending.append(.scriptLoad(script))
    }

    func scriptAnswered(_ script: RedisScript, _ value: RESPValue, _ handler: RedisReplyHandler?) {
        let result = Self.result(value)
        if case .failure(.server(let error)) = result, error.code == "NOSCRIPT" {
            script.sha = nil
            sendScriptLoad(script)
        }
        counters.replies &+= 1
        if let handler { handler(result) } else { countUnhandled(value) }
    }
}
