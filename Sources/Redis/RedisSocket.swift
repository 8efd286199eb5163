import Reactor

/// The Reactor's side of a `RedisClient`: the callbacks of its connection,
/// and, as an event source, the end-of-pass flush that sends everything the
/// pass issued in one write. Holds the client weakly: a client released
/// without `close()` leaves a connection this closes at its next event.
final class RedisSocket: ConnectionHandler, EventSource {
    struct Context: ConnectionContext {}

    weak var client: RedisClient?

    func connectionOpened(_ connection: Connection<RedisSocket>) {
        guard let client else { return connection.close() }
        client.opened(connection)
    }

    func connection(_ connection: Connection<RedisSocket>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        guard let client else {
            connection.close()
            return bytes.count
        }
        return client.received(connection, bytes)
    }

    func connectionTimedOut(_ connection: Connection<RedisSocket>) {
        guard let client else { return connection.close(reason: .timedOut) }
        client.timedOut(connection)
    }

    func connectionShuttingDown(_ connection: Connection<RedisSocket>) {
        guard let client else { return connection.close(reason: .shutdown) }
        client.shuttingDown(connection)
    }

    func connectionClosed(_ connection: Connection<RedisSocket>, reason: CloseReason) {
        client?.closed(connection, reason: reason)
    }

    // MARK: EventSource (no descriptors of its own)

    func flush() { client?.flush() }
    func beginShutdown() {}
    var isIdle: Bool { true }
    func closeAll() {}
}
