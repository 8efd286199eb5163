import Redis
import XCTest

final class RedisReconnectPolicyTests: XCTestCase {
    func testDelaysDoubleUpToTheBoundWithJitterBelowEach() {
        let policy = RedisReconnectPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(5), jitter: 0.5)
        let milliseconds = (1...12).map { policy.delay(beforeAttempt: $0, random: 0.999_999) / 1_000_000 }
        XCTAssertEqual(milliseconds, [99, 199, 399, 799, 1599, 3199, 4999, 4999, 4999, 4999, 4999, 4999])
        let lowest = (1...12).map { policy.delay(beforeAttempt: $0, random: 0) / 1_000_000 }
        XCTAssertEqual(lowest, [50, 100, 200, 400, 800, 1600, 2500, 2500, 2500, 2500, 2500, 2500])
    }

    func testBoundedWhateverTheAttemptCountOrRandomValue() {
        let policy = RedisReconnectPolicy(initialDelay: .seconds(1), maxDelay: .seconds(30), jitter: 1)
        var generator = SeededGenerator(seed: 3)
        for attempt in [1, 2, 10, 63, 64, 65, 1000, Int.max] {
            for _ in 0..<100 {
                let delay = policy.delay(beforeAttempt: attempt, random: Double.random(in: 0..<1, using: &generator))
                XCTAssertLessThanOrEqual(delay, 30_000_000_000)
            }
        }
        // Out-of-range inputs are clamped, not trusted.
        XCTAssertEqual(policy.delay(beforeAttempt: 1, random: 7), 1_000_000_000)
        XCTAssertEqual(policy.delay(beforeAttempt: -5, random: -1), 0)
        let noJitter = RedisReconnectPolicy(initialDelay: .milliseconds(10), maxDelay: .milliseconds(15), jitter: 0)
        XCTAssertEqual(noJitter.delay(beforeAttempt: 1, random: 0.3), 10_000_000)
        XCTAssertEqual(noJitter.delay(beforeAttempt: 2, random: 0.3), 15_000_000)
    }
}
