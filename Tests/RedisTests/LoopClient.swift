import Glibc
import Reactor
import Redis
import Synchronization
import XCTest

/// Thread-safe storage the loop writes and the test reads.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) { storage = Mutex(value) }

    var value: Value { storage.withLock { $0 } }

    func update(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
}

/// A RedisClient on a loop of its own, driven from the test's thread: what
/// it reports (statuses, messages, pushes) is recorded for the test to read.
final class LoopClient {
    let group: EventLoopGroup
    var loop: EventLoop { group.loops[0] }
    private let bound: LoopBound<RedisClient>
    let statuses = Shared<[RedisConnectionStatus]>([])
    let messages = Shared<[RedisPubSubMessage]>([])
    let pushes = Shared<[[RESPValue]]>([])

    init(_ configuration: RedisConfiguration, start: Bool = true) throws {
        group = try EventLoopGroup(loopCount: 1)
        let made = Shared<Result<LoopBound<RedisClient>, RedisConfigurationError>?>(nil)
        let statuses = statuses, messages = messages, pushes = pushes
        group.onEveryLoop { loop in
            do throws(RedisConfigurationError) {
                let client = try RedisClient(configuration: configuration, on: loop)
                client.onStatusChange = { status in statuses.update { $0.append(status) } }
                client.onMessage = { message in messages.update { $0.append(message) } }
                client.onPush = { push in pushes.update { $0.append(push) } }
                if start { client.start() }
                made.update { $0 = .success(LoopBound(client, loop: loop)) }
            } catch {
                made.update { $0 = .failure(error) }
            }
        }
        bound = try made.value!.get()
    }

    convenience init(url: String, start: Bool = true, _ adjust: (inout RedisConfiguration) -> Void = { _ in }) throws {
        var configuration = try RedisConfiguration(url: url)
        configuration.reconnect = RedisReconnectPolicy(initialDelay: .milliseconds(20), maxDelay: .milliseconds(200))
        adjust(&configuration)
        try self.init(configuration, start: start)
    }

    private var stopped = false

    deinit {
        guard !stopped else { return }
        let bound = bound
        group.onEveryLoop { _ in bound.value.close() }
        group.shutdown()
    }

    /// Shuts the loop down the way a server does on SIGTERM: sources drain
    /// for up to `seconds`.
    func shutDownGracefully(seconds: Double) {
        stopped = true
        group.shutdownGracefully(timeout: UInt64(seconds * 1e9))
    }

    /// Runs `body` on the loop and waits for it.
    @discardableResult
    func run<Result: Sendable>(_ body: @escaping @Sendable (RedisClient) -> Result) -> Result {
        let bound = bound
        let result = Shared<Result?>(nil)
        group.onEveryLoop { _ in
            let value = body(bound.value)
            result.update { $0 = value }
        }
        return result.value!
    }

    /// Sends `arguments` and waits for the reply (or the error thrown at once).
    func call(_ arguments: [String], timeout: Double = 10) -> Result<RESPValue, RedisError> {
        call(timeout: timeout) { client, reply throws(RedisError) in try client.send(contentsOf: arguments, reply: reply) }
    }

    /// Issues a request with `issue`, which passes `reply` on; waits for it.
    func call<Value: Sendable>(
        timeout: Double = 10, _ issue: @escaping @Sendable (RedisClient, @escaping (Result<Value, RedisError>) -> Void) throws(RedisError) -> Void
    ) -> Result<Value, RedisError> {
        let answer = Shared<Result<Value, RedisError>?>(nil)
        let done = Semaphore()
        run { client in
            do throws(RedisError) {
                try issue(client) { result in
                    answer.update { $0 = result }
                    done.signal()
                }
            } catch {
                answer.update { $0 = .failure(error) }
                done.signal()
            }
        }
        guard done.wait(timeout: UInt64(timeout * 1e9)) else {
            return .failure(.notAllowed("the test timed out after \(timeout) s waiting for a reply"))
        }
        return answer.value!
    }

    var status: RedisConnectionStatus { run { $0.status } }

    /// Waits until the client is in `state`; false after `seconds`.
    func wait(for state: RedisConnectionState, seconds: Double = 10) -> Bool {
        eventually(seconds) { status.state == state }
    }

    /// Subscribes and waits for Redis's confirmation.
    func subscribe(_ names: [String], kind: RedisSubscriptionKind = .channel) -> Result<Void, RedisError> {
        call { client, reply throws(RedisError) in client.subscribe(names, kind: kind, confirmed: reply) }
    }

    func unsubscribe(_ names: [String], kind: RedisSubscriptionKind = .channel) -> Result<Void, RedisError> {
        call { client, reply throws(RedisError) in client.unsubscribe(names, kind: kind, confirmed: reply) }
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicNanoseconds() + UInt64(seconds * 1e9)
    while monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

extension Result {
    /// The success value, or nil after recording the failure.
    func value(file: StaticString = #filePath, line: UInt = #line) -> Success? {
        switch self {
        case .success(let value): return value
        case .failure(let error):
            XCTFail("\(error)", file: file, line: line)
            return nil
        }
    }
}
