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

    func testWorkInFlightBetweenLoopsLandsBeforeShutdownBegins() throws {
        let group = try EventLoopGroup(loopCount: 2)
        let log = Log()
        let registered = Semaphore()
        group.loops[0].execute {
            _ = group.loops[0].addSource(Recorder(log: log)) { _, _ in }
            registered.signal()
        }
        registered.wait()
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
}
