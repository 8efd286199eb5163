import XCTest
@testable import wsbench

final class RunPlanTests: XCTestCase {
    func testBroadcastNeedsARoom() {
        XCTAssertEqual(RunPlan.roomPath("/"), "/room/wsbench")
        XCTAssertEqual(RunPlan.roomPath("/?x=1"), "/room/wsbench?x=1")
        XCTAssertEqual(RunPlan.roomPath("/room"), "/room/wsbench")
        XCTAssertEqual(RunPlan.roomPath("/room/"), "/room/wsbench")
        XCTAssertEqual(RunPlan.roomPath("/room/lobby"), "/room/lobby")
        XCTAssertEqual(RunPlan.roomPath("/chat/7?token=a"), "/chat/7?token=a")
    }

    func testPublishersAreTheFirstConnectionsAndHearOthersOnly() throws {
        let options = try XCTUnwrap(try BenchOptionsParser.parse(
            ["--scenario", "broadcast", "-c", "5", "--publishers", "2", "ws://127.0.0.1:9/room/a?k=v"], coreCount: 2))
        let plan = try RunPlan(options: options)
        XCTAssertEqual((0..<4).map { plan.role(ofConnection: $0) }, [.publisher, .publisher, .subscriber, .subscriber])
        XCTAssertEqual(plan.path, "/room/a?k=v")
        XCTAssertEqual(plan.publisherPath, "/room/a?k=v&self=0")
        XCTAssertEqual(plan.hostHeader, "127.0.0.1:9")
        XCTAssertEqual(plan.publisherProgress.count, 2)
    }

    func testClosedLoopDeliveryCountCompletesOnce() {
        let progress = PublisherProgress()
        XCTAssertFalse(progress.add(3, of: 0, needed: 5))
        XCTAssertTrue(progress.add(2, of: 0, needed: 5), "the call that reaches 5 completes the message")
        XCTAssertFalse(progress.add(1, of: 0, needed: 5), "only once")
        XCTAssertFalse(progress.add(4, of: 1, needed: 5), "a new sequence starts from zero")
        XCTAssertFalse(progress.add(9, of: 0, needed: 5), "counts for an older sequence are dropped")
        XCTAssertTrue(progress.add(1, of: 1, needed: 5))
    }
}
