import Glibc
import Reactor
import Synchronization
import XCTest

/// A graceful shutdown closes sources only after work already crossing
/// between loops has landed, so a goodbye never overtakes a message.
final class GracefulShutdownTests: XCTestCase {
    private final class Log: Sendable {
        let entries = Mutex<[String]>([])
        func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    }

    /// Records, in the log, when loop 0's shutdown began.
    private final class Recorder: EventSource {
        let log: Log
        init(log: Log) { self.log = log }
        func flush() {}
        func beginShutdown() { log.append("shutdown") }
        var isIdle: Bool { true }
        func closeAll() {}
    }

    /// Two loops; loop 0 records in `log` when its shutdown begins.
    private func recordedGroup(_ log: Log) throws -> EventLoopGroup {
        let group = try EventLoopGroup(loopCount: 2)
        let registered = Semaphore()
        group.loops[0].execute {
            _ = group.loops[0].addSource(Recorder(log: log)) { _, _ in }
            registered.signal()
        }
        registered.wait()
        return group
    }

    func testWorkInFlightBetweenLoopsLandsBeforeShutdownBegins() throws {
        let log = Log()
        let group = try recordedGroup(log)
        // Loop 1 is busy when the shutdown starts; what it then posts to loop 0
        // (at the end of its pass, as the broadcaster forwards a batch) must arrive first.
        let busy = Semaphore()
        group.loops[1].execute {
            busy.signal()
            usleep(100_000)
            let forwarded = Log()
            group.loops[1].addPreFlushHook {
                guard forwarded.entries.withLock({ $0.isEmpty }) else { return }
                forwarded.append("once")
                group.loops[0].execute { log.append("delivered") }
            }
        }
        busy.wait()
        group.shutdownGracefully(timeout: 1_000_000_000)
        XCTAssertEqual(log.entries.withLock { $0 }, ["delivered", "shutdown"])
    }

    func testALoopRefusesWorkBeforeItsSourcesClose() throws {
        let group = try EventLoopGroup(loopCount: 2)
        let seen = Log()
        let registered = Semaphore()
        group.loops[0].execute {
            XCTAssertFalse(group.loops[0].isShuttingDown)
            group.loops[0].addPreFlushHook { seen.append(group.loops[0].isShuttingDown ? "refusing" : "running") }
            registered.signal()
        }
        registered.wait()
        group.shutdownGracefully(timeout: 1_000_000_000)
        let passes = seen.entries.withLock { $0 }
        // At least the settling passes ran with new work refused and the loop still serving.
        XCTAssertGreaterThanOrEqual(passes.filter { $0 == "refusing" }.count, 2, "passes: \(passes)")
    }

    /// Work out of the group's hands when the shutdown begins (a publish on its round trip to a
    /// room backend) comes back on one loop, then crosses two more (to the room's home, then to
    /// a member's loop): all of it lands before any source is closed.
    func testWorkOutsideTheGroupComesBackAndCrossesTheLoopsBeforeShutdownBegins() throws {
        let log = Log()
        let group = try recordedGroup(log)
        let outstanding = Atomic<Bool>(true)
        let arrivedOnHome = Atomic<Bool>(false), cameBack = Atomic<Bool>(false)
        let registered = Semaphore()
        group.loops[0].execute {
            group.loops[0].addPreFlushHook {
                guard arrivedOnHome.exchange(false, ordering: .relaxed) else { return }
                group.loops[1].execute { log.append("delivered") }
            }
            registered.signal()
        }
        group.loops[1].execute {
            group.loops[1].addPreFlushHook {
                guard cameBack.exchange(false, ordering: .relaxed) else { return }
                group.loops[0].execute { arrivedOnHome.store(true, ordering: .relaxed) }
            }
            registered.signal()
        }
        registered.wait()
        registered.wait()
        let backend = try startThread(named: "backend") {
            usleep(100_000)
            group.loops[1].execute {
                cameBack.store(true, ordering: .relaxed)
                outstanding.store(false, ordering: .relaxed)
            }
        }
        group.shutdownGracefully(timeout: 5_000_000_000) { !outstanding.load(ordering: .relaxed) }
        pthread_join(backend, nil)
        XCTAssertEqual(log.entries.withLock { $0 }, ["delivered", "shutdown"])
    }

    /// What never comes back does not hold the shutdown past its timeout.
    func testAShutdownWaitsForWorkOutsideTheGroupNoLongerThanItsTimeout() throws {
        let log = Log()
        let group = try recordedGroup(log)
        let started = monotonicNanoseconds()
        group.shutdownGracefully(timeout: 200_000_000) { false }
        let took = monotonicNanoseconds() - started
        XCTAssertEqual(log.entries.withLock { $0 }, ["shutdown"])
        XCTAssertGreaterThanOrEqual(took, 200_000_000, "it waited for the work to come back")
        XCTAssertLessThan(took, 3_000_000_000, "the timeout bounds the wait and the drain together")
    }
}
