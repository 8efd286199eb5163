import XCTest
@testable import wsbench

/// The ticker's key checks: a receiver never gets an older value of a key
/// after a newer one, and ends holding the last value published of every
/// key it can get (not its own, when it publishes with self=0).
final class KeyLedgerTests: XCTestCase {
    func testNewerRepeatedAndOlderValues() {
        let ledger = KeyLedger(keyCount: 4, publisherCount: 1)
        let row = ledger.addRow()
        XCTAssertEqual(ledger.observe(row: row, key: 2, value: 1), .newer)
        XCTAssertEqual(ledger.observe(row: row, key: 2, value: 5), .newer, "a newer value may skip some (conflation)")
        XCTAssertEqual(ledger.observe(row: row, key: 2, value: 5), .repeated)
        XCTAssertEqual(ledger.observe(row: row, key: 2, value: 4), .older)
        XCTAssertEqual(ledger.value(row: row, key: 2), 5, "an older value does not replace the newer one")
        XCTAssertEqual(ledger.observe(row: row, key: 3, value: 1), .newer, "keys are apart")
        // Rows are apart too.
        let other = ledger.addRow()
        XCTAssertEqual(ledger.observe(row: other, key: 2, value: 1), .newer)
        XCTAssertEqual(ledger.value(row: row, key: 2), 5)
    }

    func testSettlingCountsWhatEachReceiverLacksUntilItArrives() {
        let ledger = KeyLedger(keyCount: 3, publisherCount: 1)
        let current = ledger.addRow()
        let behind = ledger.addRow()
        for (key, value) in [(0, 4), (1, 2)] {
            _ = ledger.observe(row: current, key: key, value: UInt32(value))
        }
        _ = ledger.observe(row: behind, key: 0, value: 3)
        XCTAssertEqual(ledger.behind, 0, "nothing is counted before the last values are known")
        // Key 2 was never published: nobody lacks it.
        ledger.settle(finals: [4, 2, 0])
        XCTAssertEqual(ledger.behind(row: current), 0)
        XCTAssertEqual(ledger.behind(row: behind), 2)
        XCTAssertEqual(ledger.behind, 2)
        // The last value of key 0 arrives, then key 1's skipping a value: both count.
        XCTAssertEqual(ledger.observe(row: behind, key: 0, value: 4), .newer)
        XCTAssertEqual(ledger.behind, 1)
        XCTAssertEqual(ledger.observe(row: behind, key: 1, value: 1), .newer, "not the last value yet")
        XCTAssertEqual(ledger.behind, 1)
        XCTAssertEqual(ledger.observe(row: behind, key: 1, value: 2), .newer)
        XCTAssertEqual(ledger.behind, 0)
        XCTAssertEqual(ledger.observe(row: behind, key: 1, value: 2), .repeated, "a repeat counts nothing twice")
        XCTAssertEqual(ledger.behind, 0)
        // A new window: nothing counted until it settles again.
        ledger.unsettle()
        XCTAssertFalse(ledger.isSettled)
        XCTAssertEqual(ledger.behind(row: behind), 0)
        ledger.settle(finals: [5, 2, 1])
        XCTAssertEqual(ledger.behind, 4)
    }

    func testAPublisherIsNotCountedForItsOwnKeys() {
        // Two publishers: keys 0, 2, 4 are publisher 0's, keys 1, 3 publisher 1's.
        let ledger = KeyLedger(keyCount: 5, publisherCount: 2)
        XCTAssertEqual((0..<5).map { KeyLedger.owner(ofKey: $0, publishers: 2) }, [0, 1, 0, 1, 0])
        let publisherOne = ledger.addRow(ownPublisher: 1)
        let subscriber = ledger.addRow()
        ledger.settle(finals: [1, 1, 1, 1, 1])
        XCTAssertEqual(ledger.behind(row: publisherOne), 3, "it hears publisher 0's keys only")
        XCTAssertEqual(ledger.behind(row: subscriber), 5)
    }

    func testAReceiverThatLeavesNoLongerCounts() {
        let ledger = KeyLedger(keyCount: 2, publisherCount: 1)
        let gone = ledger.addRow()
        let staying = ledger.addRow()
        ledger.settle(finals: [1, 1])
        XCTAssertEqual(ledger.behind, 4)
        ledger.retire(row: gone)
        XCTAssertEqual(ledger.behind, 2)
        ledger.retire(row: gone)
        XCTAssertEqual(ledger.behind, 2, "retiring twice takes nothing more")
        _ = ledger.observe(row: gone, key: 0, value: 1)
        XCTAssertEqual(ledger.behind, 2, "what a retired row gets counts nothing")
        ledger.settle(finals: [2, 2])
        XCTAssertEqual(ledger.behind(row: gone), 0)
        XCTAssertEqual(ledger.behind(row: staying), 2)
    }

    func testRowsGrowAndKeepTheirValues() {
        let ledger = KeyLedger(keyCount: 3, publisherCount: 1)
        for row in 0..<200 {
            XCTAssertEqual(ledger.addRow(), row)
            _ = ledger.observe(row: row, key: row % 3, value: UInt32(row + 1))
        }
        XCTAssertEqual(ledger.rowCount, 200)
        for row in 0..<200 {
            XCTAssertEqual(ledger.value(row: row, key: row % 3), UInt32(row + 1), "row \(row)")
            XCTAssertEqual(ledger.value(row: row, key: (row + 1) % 3), 0)
        }
        // A row that joins after the last values are known is counted at once.
        ledger.settle(finals: [1, 0, 0])
        let late = ledger.addRow()
        XCTAssertEqual(ledger.behind(row: late), 1)
    }
}
