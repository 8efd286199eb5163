import Broadcast
import Glibc
import PushServer
import Reactor
import Synchronization
import TestSupport
import WebSocketCodec
import XCTest

/// A handle kept after its socket closed must reach nobody, in particular not
/// the next client to get the same slot.
final class StaleHandleTests: XCTestCase {
    func testAHandleKeptPastItsCloseDoesNotReachTheNextOccupantOfItsSlot() throws {
        let kept = Mutex<[LoopBound<WebSocket>]>([])
        let (server, port) = try makeServer({ $0.threads = 1 }) { server in
            server.webSocket("/keep") { behavior in
                behavior.open = { socket, _ in kept.withLock { $0.append(LoopBound(socket, loop: socket.loop)) } }
            }
        }
        defer { server.shutdown() }

        do {
            let first = try TestClient(port: port, path: "/keep")
            XCTAssertTrue(waitUntil { kept.withLock { $0.count } == 1 })
            first.sendFrame(.close, FrameEncoder.closePayload(code: .normalClosure))
            XCTAssertEqual(first.receiveFrame(), .close(1000, ""))
            XCTAssertEqual(first.receiveFrame(), .ended)
        }  // closed here
        XCTAssertTrue(waitUntil { server.statistics().connections == 0 })

        let second = try TestClient(port: port, path: "/keep")
        XCTAssertTrue(waitUntil { kept.withLock { $0.count } == 2 })
        let (old, new) = kept.withLock { ($0[0], $0[1]) }
        // Only meaningful if the slot really was reused: same slot, next generation.
        XCTAssertEqual(old.loop.index, new.loop.index)
        let ids = Mutex<(WebSocketID, WebSocketID)?>(nil)
        let done = Semaphore()
        old.loop.execute {
            ids.withLock { $0 = (old.value.id, new.value.id) }
            XCTAssertFalse(old.value.isOpen)
            old.value.send(text: "from the past")
            old.value.userData = Marker()
            old.value.tag = 7
            old.value.join("somewhere")
            old.value.close(code: .policyViolation, reason: "stale")
            XCTAssertNil(new.value.userData, "a stale handle wrote the new client's state")
            XCTAssertEqual(new.value.tag, 0)
            XCTAssertEqual(new.value.rooms, [])
            new.value.send(text: "from the present")
            done.signal()
        }
        XCTAssertTrue(done.wait(timeout: 5_000_000_000))
        let (oldID, newID) = try XCTUnwrap(ids.withLock { $0 })
        XCTAssertEqual(oldID.connection.slot, newID.connection.slot, "the second client did not reuse the slot")
        XCTAssertNotEqual(oldID.connection.generation, newID.connection.generation)
        XCTAssertEqual(second.receiveFrame(), .text("from the present"), "the stale handle's send or close reached the new client")
    }
}

private final class Marker {}
