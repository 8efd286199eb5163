import Broadcast
import Reactor
import Synchronization
import WebSocketCodec
import XCTest

/// A quote of about 100 bytes: compresses (the RSV1 frame is smaller than the plain one).
private func quote(_ serial: Int) -> String {
    #"{"s":"AAPL","serial":\#(serial),"b":189.25,"a":189.27,"v":1200,"s2":"MSFT","b2":411.02,"a2":411.05,"v2":800}"#
}

/// The permessage-deflate wire format: a room message deflated once on its home loop, the same
/// compressed frame for every member of that format on every loop.
final class DeflateFormatTests: XCTestCase {
    private func deflateHarness(loops: Int) throws -> (Harness, WireFormat) {
        var formats = WireFormatRegistry()
        let deflate = formats.register(WebSocketDeflateEncoder())
        XCTAssertEqual(formats.deflate, deflate)
        let harness = try Harness(loops: loops, formats: formats)
        for index in 0..<loops { harness.on(index) { _, sink in sink.inflater = MessageInflater.sharedPerLoop() } }
        return (harness, deflate)
    }


    func testDeflateMembersOnEveryLoopShareOneDeflatedFramePerMessage() throws {
        let (harness, deflate) = try deflateHarness(loops: 2)
        let compressedMembers = (0..<3).map { ConnectionID(slot: UInt32($0), generation: 1) }
        let plainMembers = (3..<5).map { ConnectionID(slot: UInt32($0), generation: 1) }
        for index in 0..<2 {
            harness.on(index) { rooms, _ in
                for member in compressedMembers { _ = rooms.subscribe(member, to: "ticker", format: deflate) }
                for member in plainMembers { _ = rooms.subscribe(member, to: "ticker") }
            }
        }
        harness.settle()
        let messages = (0..<10).map(quote) + ["hi", "short ones go plain"]
        harness.on(1) { rooms, _ in
            for message in messages { rooms.publish(BroadcastMessage(text: message), to: "ticker") }
        }
        harness.settle()
        XCTAssertTrue(waitUntil { harness.broadcaster.statistics()["ticker"]?.delivered == messages.count * 10 })
        for index in 0..<2 {
            let received = harness.on(index) { _, sink in sink.received }
            for member in compressedMembers {
                XCTAssertEqual(received[member]?.messages, messages, "loop \(index)")
                XCTAssertEqual(received[member]?.compressed, 10, "the ten quotes compressed, the two short lines plain")
                XCTAssertEqual(received[member]?.buffers, received[compressedMembers[0]]?.buffers, "the same bytes for each")
            }
            for member in plainMembers {
                XCTAssertEqual(received[member]?.messages, messages)
                XCTAssertEqual(received[member]?.compressed, 0)
                XCTAssertEqual(received[member]?.buffers, received[plainMembers[0]]?.buffers)
                XCTAssertTrue(received[member]!.buffers.isDisjoint(with: received[compressedMembers[0]]!.buffers), "each format its own bytes")
            }
        }
        let statistics = try XCTUnwrap(harness.broadcaster.statistics()["ticker"])
        XCTAssertEqual(statistics.published, 12)
        XCTAssertEqual(statistics.deflated, 10, "once per message, not per member (6) or per loop (2)")
    }

    func testAResumeFromBeforeTheFormatWasInUseGetsPlainFramesNotASecondDeflate() throws {
        let (harness, deflate) = try deflateHarness(loops: 2)
        let home = harness.broadcaster.homeLoop(of: "feed")
        let away = 1 - home
        let plain = ConnectionID(slot: 1, generation: 1)
        harness.on(away) { rooms, _ in _ = rooms.subscribe(plain, to: "feed") }
        harness.settle()
        harness.on(home) { rooms, _ in for serial in 0..<5 { rooms.publish(BroadcastMessage(text: quote(serial)), to: "feed") } }
        harness.settle()
        // Sealed in the plain format only: a deflate member resuming on the other loop gets them as plain frames.
        let returning = ConnectionID(slot: 2, generation: 1)
        let outcome = Mutex<LoopBroadcaster.ResumeResult?>(nil)
        harness.on(away) { rooms, _ in
            _ = rooms.subscribe(returning, to: "feed", format: deflate, resumeAfter: 0) { result in outcome.withLock { $0 = result } }
        }
        harness.settle()
        XCTAssertTrue(waitUntil { outcome.withLock { $0 } != nil })
        XCTAssertEqual(outcome.withLock { $0 }, .resumed(replayed: 5, lastSequence: 5))
        harness.on(home) { rooms, _ in rooms.publish(BroadcastMessage(text: quote(5)), to: "feed") }
        harness.settle()
        XCTAssertTrue(waitUntil { harness.on(away) { _, sink in sink.received[returning]?.messages.count } == 6 })
        let received = harness.on(away) { _, sink in sink.received[returning] }
        XCTAssertEqual(received?.messages, (0..<6).map(quote))
        XCTAssertEqual(received?.compressed, 1, "only the message published once the format was in use")
        XCTAssertEqual(harness.broadcaster.statistics()["feed"]?.deflated, 1)
    }

    func testTheRegistryKnowsItsDeflateFormat() {
        var formats = WireFormatRegistry()
        XCTAssertNil(formats.deflate)
        _ = formats.register(WebSocketFrameEncoder())
        let deflate = formats.register(WebSocketDeflateEncoder(windowBits: 12))
        XCTAssertEqual(deflate.index, 2)
        XCTAssertEqual(formats.deflate, deflate)
    }
}
