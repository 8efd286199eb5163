import Reactor
import Synchronization
import XCTest

/// State confined to one loop by making the loop the actor's executor.
private actor LoopCounter {
    let loop: EventLoop
    var count = 0
    var onLoop = true

    init(loop: EventLoop) { self.loop = loop }

    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    func increment() {
        onLoop = onLoop && loop.inEventLoop
        count += 1
    }
}

/// Work that finishes on another thread, as a database writer would.
private func elsewhere<Value: Sendable>(_ group: EventLoopGroup, _ value: Value) async -> Value {
    await withCheckedContinuation { continuation in
        group.loops[0].execute { continuation.resume(returning: value) }
    }
}

final class ExecutorTests: XCTestCase {
    func testATaskPreferringALoopRunsThereBeforeAndAfterAnAwait() async throws {
        let group = try EventLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let loop = group.loops[1]
        let observed = await Task(executorPreference: loop) { () -> [Bool] in
            var onLoop = [loop.inEventLoop]
            let value = await elsewhere(group, 42)  // resumed by loop 0's thread
            onLoop.append(loop.inEventLoop && value == 42)
            try? await Task.sleep(nanoseconds: 1_000_000)
            onLoop.append(loop.inEventLoop)
            return onLoop
        }.value
        XCTAssertEqual(observed, [true, true, true], "a part of the task ran off its loop")
    }

    func testAnActorWhoseExecutorIsALoopRunsOnIt() async throws {
        let group = try EventLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let counter = LoopCounter(loop: group.loops[1])
        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<100 { tasks.addTask { await counter.increment() } }
        }
        let count = await counter.count
        let onLoop = await counter.onLoop
        XCTAssertEqual(count, 100)
        XCTAssertTrue(onLoop, "the actor ran off its loop")
    }

    func testAssumeIsolatedHoldsOnTheLoop() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let counter = LoopCounter(loop: loop)
        let done = Semaphore()
        let seen = Atomic<Int>(0)
        loop.execute {
            // checkIsolated says yes on the loop, so this does not trap.
            counter.assumeIsolated { $0.count += 7 }
            seen.store(counter.assumeIsolated { $0.count }, ordering: .relaxed)
            done.signal()
        }
        XCTAssertTrue(done.wait(timeout: 5_000_000_000))
        XCTAssertEqual(seen.load(ordering: .relaxed), 7)
        XCTAssertFalse(loop.inEventLoop)
    }
}
