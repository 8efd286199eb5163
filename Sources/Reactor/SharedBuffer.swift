/// Bytes shared by reference: one encoded frame or batch of frames that many
/// connections send from. Written once by its creator, then only read; the
/// reference count is what keeps it alive while any queue still points in.
public final class SharedBuffer: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// Bytes written so far; readers use `0..<count`. Written by its
    /// creator before the buffer is shared, then only read, on hot paths:
    /// no run-time exclusivity check.
    @exclusivity(unchecked) public var count: Int = 0

    public init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: Swift.max(capacity, 1), alignment: 16)
    }

    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(capacity: bytes.count)
        if let source = bytes.baseAddress { base.copyMemory(from: source, byteCount: bytes.count) }
        count = bytes.count
    }

    public convenience init(_ bytes: [UInt8]) {
        self.init(capacity: bytes.count)
        bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        count = bytes.count
    }

    deinit { base.deallocate() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public var freeCapacity: Int { capacity - count }

    /// Appends by copy; the caller checked `freeCapacity`.
    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        assert(bytes.count <= freeCapacity)
        if let source = bytes.baseAddress { (base + count).copyMemory(from: source, byteCount: bytes.count) }
        count += bytes.count
    }
}

/// A range of a shared buffer, for vectored writes. Holds no reference: the
/// caller keeps the buffer alive for the duration of the write call, and a
/// connection that must queue the range takes its own reference then.
public struct SharedSlice {
    public unowned(unsafe) let buffer: SharedBuffer
    public let start: Int
    public let end: Int

    @inline(__always)
    public init(_ buffer: SharedBuffer, start: Int, end: Int) {
        self.buffer = buffer
        self.start = start
        self.end = end
    }

    public var count: Int { end - start }
}
