import Glibc
import Reactor
import XCTest

/// Answers each line with itself uppercased; at a line "WAIT" it stops
/// consuming (the rest stays with the reactor), and 50 ms later says
/// "RESUMED" and asks for the kept input back.
final class PausingLineHandler: ConnectionHandler, Sendable {
    struct Context: ConnectionContext { var paused = false }

    func connectionOpened(_ connection: Connection<PausingLineHandler>) {}

    func connection(_ connection: Connection<PausingLineHandler>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        guard !connection.context.paused else { return 0 }
        var consumed = 0
        while let end = bytes[consumed...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(bytes[consumed..<end])
            consumed = end + 1
            if line == Array("WAIT".utf8) {
                connection.context.paused = true
                let id = connection.id
                let connections = LoopBound(connection.connections, loop: connection.loop)
                connection.loop.schedule(after: 50_000_000) {
                    guard let later = connections.value.connection(id) else { return }
                    later.context.paused = false
                    later.write(Array("RESUMED\n".utf8))
                    later.resumeInput()
                }
                return consumed
            }
            connection.write(line.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 } + [0x0A])
        }
        return consumed
    }

    func connectionClosed(_ connection: Connection<PausingLineHandler>, reason: CloseReason) {}
}

final class PausedInputTests: XCTestCase {
    func testInputKeptWhilePausedIsPresentedAgainWithoutNewBytes() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in PausingLineHandler() }
        let client = try BlockingClient(port: server.address.port)
        // One send: the lines after WAIT arrive with it and nothing follows them.
        client.send(Array("one\nWAIT\ntwo\nthree\n".utf8))
        let expected = "ONE\nRESUMED\nTWO\nTHREE\n"
        XCTAssertEqual(String(decoding: client.receive(exactly: expected.utf8.count), as: UTF8.self), expected)
    }
}

/// Echoes lines uppercased; "PAUSE" pauses reading, and 100 ms later it
/// says "RESUMED" and reads again.
final class PausingReaderHandler: ConnectionHandler, Sendable {
    struct Context: ConnectionContext {}

    func connectionOpened(_ connection: Connection<PausingReaderHandler>) {}

    func connection(_ connection: Connection<PausingReaderHandler>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        var consumed = 0
        while let end = bytes[consumed...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(bytes[consumed..<end])
            consumed = end + 1
            connection.write(line.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 } + [0x0A])
            if line == Array("PAUSE".utf8) {
                connection.pauseReading()
                let id = connection.id
                let connections = LoopBound(connection.connections, loop: connection.loop)
                connection.loop.schedule(after: 100_000_000) {
                    guard let later = connections.value.connection(id) else { return }
                    later.write(Array("RESUMED\n".utf8))
                    later.resumeReading()
                }
                return consumed  // what follows in this read is kept for later
            }
        }
        return consumed
    }

    func connectionClosed(_ connection: Connection<PausingReaderHandler>, reason: CloseReason) {}
}

extension PausedInputTests {
    func testAPausedConnectionIsNotReadUntilItResumes() throws {
        let group = try EventLoopGroup(loopCount: 1)
        defer { group.shutdown() }
        let server = try TCPServer(group: group, host: "127.0.0.1", port: 0) { _ in PausingReaderHandler() }
        let client = try BlockingClient(port: server.address.port)
        client.send(Array("PAUSE\n".utf8))
        usleep(20_000)
        client.send(Array("x\n".utf8))  // arrives while paused: must wait in the kernel
        let expected = "PAUSE\nRESUMED\nX\n"
        XCTAssertEqual(String(decoding: client.receive(exactly: expected.utf8.count), as: UTF8.self), expected)
    }
}
