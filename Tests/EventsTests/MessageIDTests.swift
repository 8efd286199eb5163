@testable import Events
import PushServer
import XCTest

/// A packet sent to several rooms carries one id (`mid`) on every copy, and client.js drops a
/// packet whose id it saw lately. With a room backend that spans processes (Redis), packets of
/// every node reach a client, and one that reconnects may meet a restarted server: ids must
/// never be alike across servers.
final class MessageIDTests: XCTestCase {
    func testTwoServersNeverGiveTheSameMessageID() {
        let nodeA = EventServer(server: PushServer()), nodeB = EventServer(server: PushServer())
        let fromA = (0..<100).map { _ in nodeA.nextMessageID() }
        let fromB = (0..<100).map { _ in nodeB.nextMessageID() }
        XCTAssertTrue(Set(fromA).isDisjoint(with: fromB), "a client of either node would drop the other's packet as a copy: \(fromA.prefix(3)), \(fromB.prefix(3))")
        XCTAssertEqual(Set(fromA).count, 100, "one server's ids are distinct")
    }
}
