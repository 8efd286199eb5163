/// Something a loop dispatches readiness to: a listener, a set of connections.
///
/// A source registers descriptors under its own index and a 32-bit slot of
/// its choosing; the loop hands both back with each event to the dispatch
/// closure the source gave, so dispatch needs no lookup table of descriptors.
public protocol EventSource: AnyObject {
    /// End of a loop pass: write out whatever was corked during it.
    func flush()
    /// Shutdown began: stop taking new work and close gracefully.
    func beginShutdown()
    /// True when the source holds nothing that a graceful shutdown waits for.
    var isIdle: Bool { get }
    /// The drain deadline passed, or the loop is stopping: close everything now.
    func closeAll()
}

/// Readiness bits, as epoll reports them.
public enum EventMask {
    public static let readable: UInt32 = 0x001
    public static let writable: UInt32 = 0x004
    public static let error: UInt32 = 0x008
    public static let hangUp: UInt32 = 0x010
    public static let readHangUp: UInt32 = 0x2000
}
