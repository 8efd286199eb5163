@testable import Broadcast
import XCTest

/// The ordering logic of a process whose rooms a backend numbers: what comes
/// in order, out of order, twice, with a gap, after a reconnection, or when
/// the process starts listening mid-stream.
final class ResequencerTests: XCTestCase {
    private func synchronized(at last: UInt64 = 0, maxHeld: Int = 100) -> Resequencer<String> {
        var resequencer = Resequencer<String>(maxHeld: maxHeld)
        _ = resequencer.synchronize(lastSequence: last)
        return resequencer
    }

    private func released(_ outcome: Resequencer<String>.Outcome) -> [UInt64] { outcome.released.map(\.sequence) }

    func testInOrderMessagesAreReleasedAtOnce() {
        var resequencer = synchronized()
        for sequence in UInt64(1)...3 {
            let outcome = resequencer.receive(sequence, "m\(sequence)")
            XCTAssertEqual(released(outcome), [sequence])
            XCTAssertEqual(outcome.released.first?.element, "m\(sequence)")
            XCTAssertNil(outcome.fetch)
        }
        XCTAssertEqual(resequencer.last, 3)
    }

    func testOutOfOrderIsHeldAndAskedForThenReleasedInOrder() {
        var resequencer = synchronized()
        XCTAssertEqual(released(resequencer.receive(1, "a")), [1])
        let ahead = resequencer.receive(3, "c")
        XCTAssertEqual(released(ahead), [])
        XCTAssertEqual(ahead.fetch?.after, 1)
        XCTAssertEqual(ahead.fetch?.through, 2)
        XCTAssertEqual(released(resequencer.receive(4, "d")), [], "held behind the gap")
        XCTAssertNil(resequencer.receive(5, "e").fetch, "one fill at a time")
        // The missing one arrives live before the fill is answered.
        let filled = resequencer.receive(2, "b")
        XCTAssertEqual(filled.released.map(\.element), ["b", "c", "d", "e"])
        // The fill's answer, late, repeats it: a duplicate, nothing released twice.
        let late = resequencer.fetched([(2, "b")], complete: true)
        XCTAssertEqual(released(late), [])
        XCTAssertEqual(late.duplicates, 1)
        XCTAssertEqual(resequencer.last, 5)
    }

    func testDuplicatesAreDroppedAndCounted() {
        var resequencer = synchronized()
        _ = resequencer.receive(1, "a")
        _ = resequencer.receive(3, "c")
        XCTAssertEqual(resequencer.receive(1, "a").duplicates, 1, "already released")
        XCTAssertEqual(resequencer.receive(3, "c").duplicates, 1, "already held")
        XCTAssertEqual(resequencer.heldCount, 1)
    }

    func testAGapIsFilledFromTheBackend() {
        var resequencer = synchronized()
        _ = resequencer.receive(1, "a")
        let gap = resequencer.receive(4, "d")
        XCTAssertEqual(gap.fetch?.after, 1)
        XCTAssertEqual(gap.fetch?.through, 3)
        let outcome = resequencer.fetched([(2, "b"), (3, "c")], complete: true)
        XCTAssertEqual(outcome.released.map(\.element), ["b", "c", "d"])
        XCTAssertEqual(outcome.skipped, 0)
        XCTAssertNil(resequencer.fillInFlight)
    }

    func testWhatTheBackendNoLongerHasIsSkippedAndCounted() {
        var resequencer = synchronized()
        _ = resequencer.receive(1, "a")
        _ = resequencer.receive(6, "f")
        // Trimmed: 2 and 3 are gone, and 5 was a number never used (a publish that failed midway).
        let outcome = resequencer.fetched([(4, "d")], complete: true)
        XCTAssertEqual(outcome.released.map(\.element), ["d", "f"])
        XCTAssertEqual(outcome.skipped, 3)
        XCTAssertEqual(resequencer.last, 6)
    }

    func testALongGapIsFetchedInParts() {
        var resequencer = synchronized()
        _ = resequencer.receive(1, "a")
        _ = resequencer.receive(10, "j")
        let first = resequencer.fetched([(2, "b"), (3, "c"), (4, "d")], complete: false)
        XCTAssertEqual(released(first), [2, 3, 4])
        XCTAssertEqual(first.skipped, 0, "a partial answer says nothing of what follows it")
        XCTAssertEqual(first.fetch?.after, 4)
        XCTAssertEqual(first.fetch?.through, 9)
        let rest = resequencer.fetched((5...9).map { ($0, "x\($0)") }, complete: true)
        XCTAssertEqual(released(rest), Array(5...10))
    }

    func testAProcessThatStartsListeningMidStreamStartsWhereTheBackendStands() {
        var resequencer = Resequencer<String>(maxHeld: 100)
        // Messages arrive before the backend says where the room stands: held, undecided.
        XCTAssertEqual(released(resequencer.receive(7, "g")), [])
        XCTAssertEqual(released(resequencer.receive(8, "h")), [])
        let start = resequencer.synchronize(lastSequence: 7)
        XCTAssertEqual(start.startsAt, 7)
        XCTAssertFalse(start.startedOver)
        XCTAssertEqual(start.released.map(\.element), ["h"], "7 was published before it listened; 8 after")
        XCTAssertEqual(start.duplicates, 1)
        XCTAssertNil(start.fetch, "nothing before the start is fetched")
        XCTAssertEqual(released(resequencer.receive(9, "i")), [9])
    }

    func testAfterAReconnectionWhatWasPublishedMeanwhileIsFetched() {
        var resequencer = synchronized()
        for sequence in UInt64(1)...8 { _ = resequencer.receive(sequence, "m\(sequence)") }
        resequencer.desynchronize()
        // On the new connection, 12 arrives before the backend says it stands at 11.
        XCTAssertEqual(released(resequencer.receive(12, "m12")), [])
        let synchronized = resequencer.synchronize(lastSequence: 11)
        XCTAssertNil(synchronized.startsAt, "it continues: nothing starts over")
        XCTAssertEqual(synchronized.fetch?.after, 8)
        XCTAssertEqual(synchronized.fetch?.through, 11)
        let filled = resequencer.fetched((9...11).map { ($0, "m\($0)") }, complete: true)
        XCTAssertEqual(released(filled), [9, 10, 11, 12])
    }

    func testAFillInFlightAcrossAReconnectionIsAskedAgain() {
        var resequencer = synchronized()
        _ = resequencer.receive(1, "a")
        XCTAssertNotNil(resequencer.receive(3, "c").fetch)
        resequencer.desynchronize()
        // The old fill's answer arrives after the reconnection: stale, ignored.
        XCTAssertEqual(released(resequencer.fetched([(2, "b")], complete: true)), [])
        let again = resequencer.synchronize(lastSequence: 3)
        XCTAssertEqual(again.fetch?.after, 1)
        XCTAssertEqual(again.fetch?.through, 2)
    }

    func testABackendThatWentBackStartsTheRoomOver() {
        var resequencer = synchronized()
        for sequence in UInt64(1)...50 { _ = resequencer.receive(sequence, "old\(sequence)") }
        _ = resequencer.receive(52, "old52")  // held above a gap when the backend is lost
        resequencer.desynchronize()
        // Redis restarted without its data: numbering starts again at 1.
        _ = resequencer.receive(1, "new1")
        _ = resequencer.receive(2, "new2")
        let outcome = resequencer.synchronize(lastSequence: 3)
        XCTAssertTrue(outcome.startedOver)
        XCTAssertEqual(outcome.startsAt, 0)
        XCTAssertEqual(outcome.released.map(\.element), ["new1", "new2"])
        XCTAssertEqual(outcome.fetch?.after, 2)
        XCTAssertEqual(outcome.fetch?.through, 3)
        XCTAssertEqual(resequencer.heldCount, 0, "what was held from before the restart is gone")
    }

    func testAGapHeldUpTooLongIsGivenUp() {
        var resequencer = synchronized(maxHeld: 3)
        _ = resequencer.receive(1, "a")
        for sequence in UInt64(3)...5 { XCTAssertEqual(released(resequencer.receive(sequence, "x")), []) }
        let outcome = resequencer.receive(6, "f")
        XCTAssertEqual(released(outcome), [3, 4, 5, 6])
        XCTAssertEqual(outcome.skipped, 1)
    }

    func testAFailedFillIsAskedAgainWhenMoreArrives() {
        var resequencer = synchronized()
        _ = resequencer.receive(1, "a")
        XCTAssertNotNil(resequencer.receive(3, "c").fetch)
        resequencer.fetchFailed()
        let next = resequencer.receive(4, "d")
        XCTAssertEqual(next.fetch?.after, 1)
        XCTAssertEqual(next.fetch?.through, 2)
    }
}
