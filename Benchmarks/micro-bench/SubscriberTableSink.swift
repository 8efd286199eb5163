import Broadcast
import Reactor

/// A loop's stand-in for the server, minus the system call. Like the server's sink it finds the
/// subscriber in a table by slot (checking the generation), walks the slices it would hand to
/// `writev`, and reports what is queued: nothing, as if the kernel took every byte. What is left
/// to measure is the broadcaster's own cost per delivery.
///
/// The table is raw memory, as a server's connection table is: a Swift array or counters in
/// stored properties of this class would add runtime exclusivity checks on every delivery,
/// charging the sink's bookkeeping to the broadcaster.
final class SubscriberTableSink: DeliverySink {
    struct Subscriber {
        var generation: UInt32
        var bytesSent = 0
        var lastSequence: UInt64 = 0
    }

    struct Totals {
        /// The benchmark checks that each publish reached every subscriber.
        var deliveries = 0
        /// Sum of the first byte of every slice: the bytes were read, as writev would read them.
        var touched: UInt64 = 0
    }

    private let subscribers: UnsafeMutableBufferPointer<Subscriber>
    private let totals: UnsafeMutablePointer<Totals>

    init(subscriberCount: Int) {
        subscribers = .allocate(capacity: subscriberCount)
        for index in 0..<subscriberCount {
            (subscribers.baseAddress! + index).initialize(to: Subscriber(generation: UInt32(index % 7)))
        }
        totals = .allocate(capacity: 1)
        totals.initialize(to: Totals())
    }

    deinit {
        subscribers.deallocate()
        totals.deallocate()
    }

    var deliveries: Int { totals.pointee.deliveries }

    func id(of index: Int) -> ConnectionID {
        ConnectionID(slot: UInt32(index), generation: subscribers[index].generation)
    }

    func deliver(_ slices: UnsafeBufferPointer<SharedSlice>, to subscriber: ConnectionID, lastSequence: UInt64) -> Int? {
        let slot = Int(subscriber.slot)
        guard slot < subscribers.count, subscribers[slot].generation == subscriber.generation else { return nil }
        var bytes = 0
        var touched: UInt64 = 0
        for slice in slices {
            bytes &+= slice.count
            touched &+= UInt64(slice.buffer.base.load(fromByteOffset: slice.start, as: UInt8.self))
        }
        subscribers[slot].bytesSent &+= bytes
        subscribers[slot].lastSequence = lastSequence
        totals.pointee.deliveries &+= 1
        totals.pointee.touched &+= touched
        return 0
    }

    func queuedBytes(of subscriber: ConnectionID) -> Int? {
        let slot = Int(subscriber.slot)
        guard slot < subscribers.count, subscribers[slot].generation == subscriber.generation else { return nil }
        return 0
    }

    func evict(_ subscriber: ConnectionID) {
        fatalError("nothing is ever queued, so no subscriber can pass its cap")
    }

    /// Consulted only for messages sent to several rooms; the benchmark publishes to one.
    func isMember(_ subscriber: ConnectionID, ofRoom room: UInt32) -> Bool { false }
}
