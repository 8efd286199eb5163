/// A value that may only be touched on one event loop's thread.
///
/// Loop confinement is a runtime fact the compiler cannot see; this is the one
/// place it is asserted. The wrapper can cross threads (so a task posted to the
/// loop can carry it), and every access checks, in debug builds, that it
/// happens on the owning loop.
public struct LoopBound<Value>: @unchecked Sendable {
    public let loop: EventLoop
    private let storage: Value

    public init(_ value: Value, loop: EventLoop) {
        loop.assertInLoop()
        self.loop = loop
        self.storage = value
    }

    public var value: Value {
        loop.assertInLoop()
        return storage
    }
}
