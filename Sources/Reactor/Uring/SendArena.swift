/// Where a completion-based transport copies the bytes a connection writes
/// from a lent buffer (the cork): the kernel reads them after the write has
/// returned, when the pass's sends are submitted. Copies go one after another
/// into 64 KiB chunks that the queued ranges reference; a chunk no queue
/// references any more is used again, so steady writing allocates nothing.
struct SendArena {
    private static var chunkSize: Int { 64 * 1024 }
    private static var spareLimit: Int { 8 }

    private var current = SharedBuffer(capacity: SendArena.chunkSize)
    private var spares: [SharedBuffer] = []

    /// Copies `bytes`; the copy is `buffer[start..<start + bytes.count]`.
    mutating func copy(_ bytes: UnsafeRawBufferPointer) -> (buffer: SharedBuffer, start: Int) {
        guard bytes.count <= Self.chunkSize else { return (SharedBuffer(copying: bytes), 0) }
        if current.freeCapacity < bytes.count { replaceCurrent() }
        let start = current.count
        current.append(bytes)
        return (current, start)
    }

    private mutating func replaceCurrent() {
        var fresh: SharedBuffer?
        for index in spares.indices where isKnownUniquelyReferenced(&spares[index]) {
            fresh = spares.remove(at: index)
            fresh!.count = 0
            break
        }
        if spares.count < Self.spareLimit { spares.append(current) }
        current = fresh ?? SharedBuffer(capacity: Self.chunkSize)
    }
}
