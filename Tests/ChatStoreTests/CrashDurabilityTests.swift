@testable import ChatStore
import Glibc
import XCTest

/// `kill -9` in the middle of a stream of acknowledged writes: after a
/// restart on the same file, every acknowledged message is there, in order,
/// none twice. The writer is a child process (`chatstore-bench append`) that
/// prints "SEQ ID" for each message as its completion runs.
final class CrashDurabilityTests: ScratchTestCase {
    func testEveryAcknowledgedWriteSurvivesKillNineWithSynchronousFull() throws {
        try killMidStreamAndCheck(synchronous: "full")
    }

    /// NORMAL gives up durability across an OS crash or power cut, not across a process crash.
    func testEveryAcknowledgedWriteSurvivesKillNineWithSynchronousNormal() throws {
        try killMidStreamAndCheck(synchronous: "normal")
    }

    private func killMidStreamAndCheck(synchronous: String) throws {
        let path = scratch.file("crash-\(synchronous).db")
        var acknowledged: [(sequence: Int, id: Int64)] = []
        // Several times on the same file: each writer starts over at "seq 0" after the last one's rows.
        let rounds = 3
        for round in 0..<rounds {
            let child = try AppendingChild(database: path, synchronous: synchronous)
            XCTAssertEqual(child.readLine(), "ready", "the child did not start: see its stderr above")
            // Read at least 3,000 acknowledgements, then kill the moment none is waiting to be read:
            // the child is then inside a batch (64 writes in flight), most likely in its COMMIT.
            var acknowledgedThisRound: [(Int, Int64)] = []
            while acknowledgedThisRound.count < 3000 || child.hasOutputWaiting, acknowledgedThisRound.count < 100_000,
                  let line = child.readLine() {
                let fields = line.split(separator: " ")
                guard fields.count == 2, let sequence = Int(fields[0]), let id = Int64(fields[1]) else {
                    return XCTFail("unexpected line from the child: \(line)")
                }
                acknowledgedThisRound.append((sequence, id))
            }
            child.killNow()  // 64 writes are in flight at any moment
            XCTAssertGreaterThanOrEqual(acknowledgedThisRound.count, 3000, "round \(round): the child stopped early")
            XCTAssertNil(firstDifference(acknowledgedThisRound.map(\.0), Array(0..<acknowledgedThisRound.count)), "acknowledged out of order")
            acknowledged += acknowledgedThisRound.map { (sequence: $0.0, id: $0.1) }
        }

        // Restart on the same file (recovering the WAL the kill left), then read it all back.
        let store = try ChatStore(path: path)
        store.close()
        let stored = try rawConnection(path).prepare("SELECT id, text FROM room_messages ORDER BY id").rows { row in
            (id: row.int64(0), text: row.text(1))
        }
        let acknowledgedIDs = acknowledged.map(\.id)
        XCTAssertNil(firstDifference(acknowledgedIDs, acknowledgedIDs.sorted()), "ids were acknowledged out of commit order")
        XCTAssertEqual(Set(stored.map(\.id)).count, stored.count)
        let storedByID = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0.text) })
        for (sequence, id) in acknowledged {
            guard let text = storedByID[id] else { return XCTFail("acknowledged message \(id) (seq \(sequence)) is missing") }
            guard text == "seq \(sequence)" else { return XCTFail("message \(id) holds '\(text)', not seq \(sequence)") }
        }
        // What was stored is each round's messages from seq 0, in order, without holes or repeats:
        // the acknowledged ones and, at most, a tail committed but not yet reported when the kill came.
        let sequences = stored.map { Int($0.text.dropFirst(4))! }
        let starts = sequences.indices.filter { sequences[$0] == 0 }
        XCTAssertEqual(starts.count, rounds, "a round's messages are missing")
        for (round, start) in starts.enumerated() {
            let end = round + 1 < starts.count ? starts[round + 1] : sequences.count
            XCTAssertNil(firstDifference(Array(sequences[start..<end]), Array(0..<end - start)), "round \(round) stored with holes or repeats")
        }
        XCTAssertGreaterThanOrEqual(stored.count, acknowledged.count)
    }
}

/// Where two sequences first differ, briefly (nil when equal), so a failure does not print thousands of numbers.
private func firstDifference<T: Equatable>(_ actual: [T], _ expected: [T]) -> String? {
    if let index = (0..<min(actual.count, expected.count)).first(where: { actual[$0] != expected[$0] }) {
        return "at \(index): \(actual[index]), expected \(expected[index])"
    }
    return actual.count == expected.count ? nil : "\(actual.count) elements, expected \(expected.count)"
}

/// `chatstore-bench append` as a child process, its stdout piped back.
private final class AppendingChild {
    private let pid: pid_t
    private let output: Int32
    private var unread: [UInt8] = []
    private var lines: [String] = []
    private var nextLine = 0
    private var reaped = false

    init(database: String, synchronous: String) throws {
        let arguments = [Self.benchPath(), "append", "--db", database, "--synchronous", synchronous]
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw ChatStoreError.invalidArgument("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, arguments[0], &actions, nil, &argv, environ)
        close(pipeEnds[1])
        guard status == 0 else {
            close(pipeEnds[0])
            throw ChatStoreError.invalidArgument("cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        pid = child
        output = pipeEnds[0]
    }

    deinit {
        killNow()
        close(output)
    }

    /// The next line, without its newline, waiting for it if need be; nil at the end of the output.
    func readLine() -> String? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while nextLine == lines.count {
            let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return nil }
            unread += chunk[0..<count]
            guard let end = unread.lastIndex(of: 10) else { continue }
            nextLine = 0
            lines = unread[..<end].split(separator: 10, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            unread.removeFirst(end + 1)
        }
        defer { nextLine += 1 }
        return lines[nextLine]
    }

    /// Whether the child has written lines not read yet.
    var hasOutputWaiting: Bool {
        var ready = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
        return nextLine < lines.count || poll(&ready, 1, 0) == 1
    }

    /// SIGKILL: no handler runs, nothing is flushed or closed.
    func killNow() {
        guard !reaped else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        reaped = true
    }

    /// Beside the test bundle, in the same build directory.
    private static func benchPath() -> String {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        let executable = String(decoding: path[0..<max(length, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]) + "/chatstore-bench"
    }
}
