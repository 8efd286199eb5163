/// Commands encoded back to back, as they go on the wire: each an array of
/// bulk strings (`*N\r\n$LEN\r\nARG\r\n…`), the form Redis expects from a
/// client in either protocol version. Arguments are written straight into
/// the buffer (a parameter pack, no array of arguments on the way); the
/// buffer grows by doubling and keeps its capacity for the next batch.
public final class RESPCommandBuffer {
    // Touched on every byte written, only by the loop that owns the buffer:
    // no run-time exclusivity checks (they cost more than the writes).
    @exclusivity(unchecked) public private(set) var count = 0
    /// Bulk strings written so far (for checking a declared argument count).
    @exclusivity(unchecked) private(set) var bulkCount = 0
    @exclusivity(unchecked) private var base: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = Swift.max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// The encoded commands, valid until the buffer next changes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public var isEmpty: Bool { count == 0 }

    /// Appends one command: `append("SET", key, value)`.
    public func append<each Argument: RESPArgument>(_ arguments: repeat each Argument) {
        var argumentCount = 0
        for _ in repeat each arguments { argumentCount += 1 }
        writeArrayHeader(argumentCount)
        for argument in repeat each arguments { writeBulk(argument) }
    }

    /// Appends one command whose last arguments are a collection:
    /// `append("SADD", key, contentsOf: members)`.
    public func append<each Argument: RESPArgument, Tail: Collection>(
        _ head: repeat each Argument, contentsOf tail: Tail
    ) where Tail.Element: RESPArgument {
        var argumentCount = tail.count
        for _ in repeat each head { argumentCount += 1 }
        writeArrayHeader(argumentCount)
        for argument in repeat each head { writeBulk(argument) }
        for argument in tail { writeBulk(argument) }
    }

    /// Empties the buffer; one that grew past `keepingAtMost` bytes is
    /// replaced by a small one, so a burst does not pin its memory.
    public func removeAll(keepingAtMost limit: Int = 1024 * 1024) {
        count = 0
        if capacity > limit {
            base.deallocate()
            capacity = 4096
            base = .allocate(byteCount: capacity, alignment: 16)
        }
    }

    // MARK: Building blocks (the caller keeps the declared count honest)

    /// `*N\r\n`: the start of a command of `argumentCount` arguments.
    func writeArrayHeader(_ argumentCount: Int) {
        reserve(RESPDecimal.length(of: argumentCount) + 3)
        put(UInt8(ascii: "*"))
        putDecimal(argumentCount)
        putCRLF()
    }

    /// `$LEN\r\nBYTES\r\n`: one argument.
    func writeBulk<Argument: RESPArgument>(_ argument: Argument) {
        let length = argument.respByteCount
        reserve(length + RESPDecimal.length(of: length) + 5)
        put(UInt8(ascii: "$"))
        putDecimal(length)
        putCRLF()
        argument.writeRESPBytes(to: base + count)
        count += length
        putCRLF()
        bulkCount &+= 1
    }

    /// Drops what was appended after `mark` (a `count` read earlier).
    func truncate(to mark: Int) {
        precondition(mark <= count)
        count = mark
    }

    private func reserve(_ more: Int) {
        guard capacity - count < more else { return }
        var grown = capacity * 2
        while grown - count < more { grown *= 2 }
        let larger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
        larger.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = larger
        capacity = grown
    }

    private func put(_ byte: UInt8) {
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    private func putCRLF() {
        base.storeBytes(of: 13, toByteOffset: count, as: UInt8.self)
        base.storeBytes(of: 10, toByteOffset: count + 1, as: UInt8.self)
        count += 2
    }

    private func putDecimal(_ value: Int) {
        RESPDecimal.write(value, to: base + count)
        count += RESPDecimal.length(of: value)
    }
}
