/// A session's sockets, one per namespace it connected to; kept in the
/// session's `userData`.
final class SessionState {
    let loop: LoopEvents
    var sockets: [String: SocketState] = [:]
    /// The last socket incarnation given out.
    var incarnations: UInt64 = 0

    init(loop: LoopEvents) { self.loop = loop }
}
