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
            guard let detached = connection.detach(unconsumedInput: rest) else { return bytes.count }
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

/// Moves every connection that sends "MOVE", after corking an answer and
/// resetting its peer: sending the answer first meets the reset.
private final class ResettingMover: ConnectionHandler, Sendable {
    struct Context: ConnectionContext {}
    let directory = Directory2()
    /// The test's client socket, reset from inside the callback (what a peer's RST does at that moment).
    let peer = Atomic<Int32>(-1)
    let opened = Mutex<[(loop: Int, id: ConnectionID)]>([])
    let moved = Atomic<Int>(0)

    final class Directory2: Sendable {
        let connections = Mutex<[Int: LoopBound<Connections<ResettingMover>>]>([:])
    }

    func attached(to connections: Connections<ResettingMover>) {
        directory.connections.withLock { $0[connections.loop.index] = LoopBound(connections, loop: connections.loop) }
    }

    func connectionOpened(_ connection: Connection<ResettingMover>) {
        opened.withLock { $0.append((connection.loop.index, connection.id)) }
    }

    func connection(_ connection: Connection<ResettingMover>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        guard Array(bytes).starts(with: Array("MOVE".utf8)) else { return bytes.count }
        connection.write(Array("an answer to an earlier pipelined request".utf8))  // corked
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        let descriptor = peer.exchange(-1, ordering: .relaxed)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(descriptor)  // the RST reaches the server's socket at once on loopback
        guard let detached = connection.detach(unconsumedInput: UnsafeRawBufferPointer(start: nil, count: 0)) else { return bytes.count }
        moved.add(1, ordering: .relaxed)
        let target = directory.connections.withLock { $0[1 - connection.loop.index]! }
        target.loop.execute { target.value.adopt(detached) }
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<ResettingMover>, reason: CloseReason) {}
}

final class DetachAfterResetTests: XCTestCase {
    func testADetachThatMeetsAResetLeavesTheSlotReleasedOnce() throws {
        let group = try EventLoopGroup(loopCount: 2)
        defer { group.shutdown() }
        let handler = ResettingMover()
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in handler }
        let victim = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        XCTAssertEqual(address.withSockAddr { connect(victim, $0, $1) }, 0)
        handler.peer.store(victim, ordering: .relaxed)
        _ = Array("MOVE".utf8).withUnsafeBytes { send(victim, $0.baseAddress, $0.count, 0) }
        XCTAssertTrue(eventually { handler.peer.load(ordering: .relaxed) == -1 })
        usleep(100_000)

        let counts = Mutex<[Int]>([])
        group.onEveryLoop { loop in counts.withLock { $0.append(server.connections(onLoop: loop.index).value.count) } }
        XCTAssertEqual(counts.withLock { $0.reduce(0, +) }, 0, "open connections after the reset one went: \(counts.withLock { $0 })")
        XCTAssertEqual(handler.moved.load(ordering: .relaxed), 0, "a connection that closed was moved")

        // Later clients: no two open at once share a slot of one loop.
        let clients = try (0..<12).map { _ in try BlockingClient(port: server.port) }
        XCTAssertTrue(eventually { handler.opened.withLock { $0.count } == 13 })
        var seen: [String: ConnectionID] = [:]
        for (loop, id) in handler.opened.withLock({ Array($0.dropFirst()) }) {
            let key = "\(loop)/\(id.slot)"
            XCTAssertNil(seen[key], "two open connections in slot \(key): \(seen[key].map { "\($0)" } ?? "") and \(id)")
            seen[key] = id
        }
        withExtendedLifetime(clients) {}
    }
}
