import Glibc
import Reactor
import Synchronization
import XCTest

final class EventLoopTests: XCTestCase {
    func testPostedTasksRunOnTheirLoopInOrder() throws {
        let group = try EventLoopGroup(loopCount: 3)
        defer { group.shutdown() }
        let perLoop = 2_000
        let results = Mutex<[[Int]]>(Array(repeating: [], count: 3))
        let misplaced = Atomic<Int>(0)
        let done = Semaphore()
        // Post from several threads at once; each loop must run only its own tasks, in post order per poster.
        for loop in group.loops {
            let poster = try EventLoopGroup(loopCount: 1)
            poster.loops[0].execute {
                for value in 0..<perLoop {
                    loop.execute {
                        if !loop.inEventLoop || group.loops.contains(where: { $0 !== loop && $0.inEventLoop }) {
                            misplaced.add(1, ordering: .relaxed)
                        }
                        results.withLock { $0[loop.index].append(value) }
                        if value == perLoop - 1 { done.signal() }
                    }
                }
            }
            poster.shutdown()
        }
        for _ in group.loops { XCTAssertTrue(done.wait(timeout: 10_000_000_000)) }
        XCTAssertEqual(misplaced.load(ordering: .relaxed), 0)
        results.withLock { lists in
            for list in lists { XCTAssertEqual(list, Array(0..<perLoop)) }
        }
    }

    func testTimersFireWithinOneTickOfTheirDeadline() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let tick: UInt64 = 10_000_000  // the loop's timer granularity is 1 ms; allow one 10 ms tick
        let delays: [UInt64] = [1, 3, 7, 10, 15, 20, 33, 50, 75, 100, 150, 200].map { $0 * 1_000_000 }
        let lateness = Mutex<[Int64]>([])
        let done = Semaphore()
        loop.execute {
            for delay in delays {
                let deadline = monotonicNanoseconds() + delay
                loop.schedule(after: delay) {
                    lateness.withLock { $0.append(Int64(monotonicNanoseconds()) - Int64(deadline)) }
                    done.signal()
                }
            }
        }
        for _ in delays { XCTAssertTrue(done.wait(timeout: 5_000_000_000)) }
        let measured = lateness.withLock { $0 }
        XCTAssertEqual(measured.count, delays.count)
        for late in measured {
            XCTAssertGreaterThanOrEqual(late, 0, "a timer fired early")
            XCTAssertLessThan(late, Int64(tick), "a timer fired more than one tick late")
        }
    }

    func testRepeatingTimerAndCancel() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let loop = group.loops[0]
        let fired = Atomic<Int>(0)
        let cancelledFired = Atomic<Int>(0)
        loop.execute {
            let cancelled = loop.schedule(after: 20_000_000) { cancelledFired.add(1, ordering: .relaxed) }
            loop.cancel(cancelled)
            var timer: TimerID?
            timer = loop.scheduleRepeating(every: 5_000_000) {
                if fired.add(1, ordering: .relaxed).newValue == 5, let timer { loop.cancel(timer) }
            }
        }
        usleep(150_000)
        XCTAssertEqual(fired.load(ordering: .relaxed), 5)
        XCTAssertEqual(cancelledFired.load(ordering: .relaxed), 0)
    }

    func testShutdownLeavesNoThreadOrDescriptor() throws {
        // This group's threads by id: threads other tests left winding down
        // (another group's loops, the concurrency pool, io_uring's workers)
        // come and go meanwhile, so no count of the process's threads holds.
        let loopThreadsBefore = threadIDs(namedWithPrefix: "loop-")
        let descriptorsBefore = procEntries("fd")
        do {
            let group = try EventLoopGroup(loopCount: 4)
            let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in Echo() }
            var clients: [BlockingClient] = []
            for _ in 0..<20 { clients.append(try BlockingClient(port: server.port)) }
            for client in clients {
                client.send([1, 2, 3])
                XCTAssertEqual(client.receive(exactly: 3), [1, 2, 3])
            }
            let ours = threadIDs(namedWithPrefix: "loop-").subtracting(loopThreadsBefore)
            XCTAssertEqual(ours.count, 4, "one thread per loop")
            group.shutdown()
            // Joined threads leave /proc a moment after pthread_join returns (the kernel reaps them after
            // clearing the id pthread_join waits on), hence eventually.
            XCTAssertTrue(eventually { ours.isDisjoint(with: threadIDs(namedWithPrefix: "loop-")) }, "shutdown ends its loops' threads")
            for client in clients { XCTAssertEqual(client.receive(upTo: 1), [], "server side still open after shutdown") }
        }
        XCTAssertEqual(procEntries("fd"), descriptorsBefore)
    }
}

/// Echoes everything; counts which loop served each connection.
final class Echo: ConnectionHandler {
    struct Context: ConnectionContext {}
    func connectionOpened(_ connection: Connection<Echo>) {}
    func connection(_ connection: Connection<Echo>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        connection.write(UnsafeRawBufferPointer(bytes))
        return bytes.count
    }
    func connectionClosed(_ connection: Connection<Echo>, reason: CloseReason) {}
}
