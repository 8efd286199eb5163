/// Bytes shared by reference: one encoded frame or batch of frames that many
/// connections send from. Written once by its creator, then only read; the
/// reference count is what keeps it alive while any queue still points in.
public final class SharedBuffer: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// Bytes written so far; readers use `0..<count`.
    public var count: Int = 0

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
