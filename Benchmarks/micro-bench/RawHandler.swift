import Reactor

/// The one handler of the socket benchmarks: echoes every byte, or ignores
/// them; may keep the ids of the connections it is told of and pause reading
/// on them. One type for every benchmark, so `Connections` is specialised
/// once in this binary: two near-identical specialisations get merged by the
/// optimiser into one that calls through pointers, which would change the
/// counts the gate compares.
final class RawHandler: ConnectionHandler {
    struct Context: ConnectionContext {}
    let echoes: Bool
    let pausesReading: Bool
    /// Connections opened, in order (loop-confined).
    var ids: [ConnectionID] = []

    init(echoes: Bool, pausesReading: Bool = false) {
        self.echoes = echoes
        self.pausesReading = pausesReading
    }

    func connectionOpened(_ connection: Connection<RawHandler>) {
        ids.append(connection.id)
        if pausesReading { connection.pauseReading() }
    }

    func connection(_ connection: Connection<RawHandler>, received bytes: UnsafeMutableRawBufferPointer) -> Int {
        if echoes { connection.write(UnsafeRawBufferPointer(bytes)) }
        return bytes.count
    }

    func connectionClosed(_ connection: Connection<RawHandler>, reason: CloseReason) {
        guard reason == .shutdown else { fatalError("micro-bench: a benchmark connection closed: \(reason)") }
    }
}
