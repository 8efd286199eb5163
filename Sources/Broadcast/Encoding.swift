import Reactor
import WebSocketCodec

/// One format's encoding of a batch: the messages back to back in one
/// shared buffer, with each message's end offset.
final class Encoding: @unchecked Sendable {
    /// Grows (by copying) only while its batch is open; fixed once sealed.
    @exclusivity(unchecked) private(set) var buffer: SharedBuffer
    private(set) var ends: [Int] = []

    init(capacity: Int) { buffer = SharedBuffer(capacity: capacity) }

    /// Makes room for `additional` bytes. Batches start small, so a quiet
    /// room's history holds kilobytes, not a full batch capacity per message.
    func reserve(_ additional: Int) {
        guard buffer.freeCapacity < additional else { return }
        let larger = SharedBuffer(capacity: max(buffer.capacity * 2, buffer.count + additional))
        larger.append(buffer.bytes)
        buffer = larger
    }

    @inline(__always)
    func start(of index: Int) -> Int { index == 0 ? 0 : ends[index - 1] }

    /// Appends one encoded message.
    func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        buffer.append(bytes)
        ends.append(buffer.count)
    }

    /// Appends one message of at most `maximumSize` bytes, encoded in place by
    /// `encode`, which returns its size.
    func append(maximumSize: Int, encodingWith encode: (UnsafeMutableRawPointer) -> Int) {
        reserve(maximumSize)
        buffer.count += encode(buffer.base + buffer.count)
        precondition(buffer.count <= buffer.capacity, "the encoder wrote more than it said")
        ends.append(buffer.count)
    }
}
