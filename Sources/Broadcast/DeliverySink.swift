import Reactor

/// Where a loop's broadcaster writes: implemented by the server module, which
/// owns the connections. Every call happens on that loop.
public protocol DeliverySink: AnyObject {
    /// Writes `slices` (messages encoded in the subscriber's format, up to
    /// sequence `lastSequence`) to the subscriber in one system call, after
    /// anything it has queued. Returns the bytes it now has queued, or nil if it is gone.
    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to subscriber: ConnectionID, lastSequence: UInt64) -> Int?
    /// Bytes the subscriber has queued, or nil if it is gone.
    func queuedBytes(of subscriber: ConnectionID) -> Int?
    /// The subscriber went past its cap under the close policy: close it with 1008.
    func evict(_ subscriber: ConnectionID)
    /// Whether the subscriber is a member of the room with this local index
    /// (for messages sent to several rooms, which reach each member once).
    func isMember(_ subscriber: ConnectionID, ofRoom room: UInt32) -> Bool
}

/// A sink held without reference counting (it outlives the broadcaster's part).
struct UnownedSink {
    unowned(unsafe) let sink: DeliverySink

    init(_ sink: DeliverySink) { self.sink = sink }
}
