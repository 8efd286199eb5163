import Glibc
import Reactor
import Synchronization
import XCTest

/// Every loop's connections, filled as each handler is attached.
private final class Directory: Sendable {
    let connections = Mutex<[Int: LoopBound<Connections<Mover>>]>([:])
}

/// Answers "loop:bytes" for what it reads; a request starting with "MOVE"
/// hands the connection (and the rest of its input) to the other loop first.
private final class Mover: ConnectionHandler, Sendable {
    struct Context: ConnectionContext {}
    let directory: Directory
    let adopted = Atomic<Int>(0)

    init(directory: Directory) { self.directory = directory }

    func attached(to connections: Connections<Mover>) {
        directory.connections.withLock { $0[connections.loop.index] = LoopBound(connections, loop: connections.loop) }
    }

    func connectionOpened(_ connection: Connection<Mover>) {}

    func connection(_ connection: Connection<Mover>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        let text = Array(bytes)
        if text.starts(with: Array("MOVE".utf8)) {
            let rest = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[4...])
            let detached = connection.detach(unconsumedInput: rest)
            let target = directory.connections.withLock { $0[1 - connection.loop.index]! }
            target.loop.execute { [self] in
                adopted.add(1, ordering: .relaxed)
                target.value.adopt(detached)
            }
            return bytes.count
        }
        connection.write(Array("\(connection.loop.index):".utf8) + text)
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<Mover>, reason: CloseReason) {}
}

final class MigrationTests: XCTestCase {
    func testAConnectionMovedToAnotherLoopKeepsItsInputAndIsServedThere() throws {
        let group = try EventLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let directory = Directory()
        let movers = Mutex<[Mover]>([])
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in
            let mover = Mover(directory: directory)
            movers.withLock { $0.append(mover) }
            return mover
        }
        let client = try BlockingClient(port: server.port)
        client.send(Array("hello".utf8))
        let first = String(decoding: client.receive(upTo: 64), as: UTF8.self)
        XCTAssertTrue(first.hasSuffix(":hello"), first)
        let home = Int(first.prefix(1))!

        // The request and what follows it in the same read reach the other loop, unread so far.
        client.send(Array("MOVEafter the move".utf8))
        XCTAssertEqual(String(decoding: client.receive(upTo: 64), as: UTF8.self), "\(1 - home):after the move")
        client.send(Array("again".utf8))
        XCTAssertEqual(String(decoding: client.receive(upTo: 64), as: UTF8.self), "\(1 - home):again", "it stays on its new loop")
        XCTAssertEqual(movers.withLock { $0.reduce(0) { $0 + $1.adopted.load(ordering: .relaxed) } }, 1)

        // The socket was moved, not copied: one descriptor, still one connection in all.
        let counts = Mutex<[Int]>([])
        group.onEveryLoop { loop in
            counts.withLock { $0.append(server.connections(onLoop: loop.index).value.count) }
        }
        XCTAssertEqual(counts.withLock { $0.reduce(0, +) }, 1)
    }
}
