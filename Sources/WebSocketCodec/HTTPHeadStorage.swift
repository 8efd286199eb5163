// A parsed head's one allocation: where each header field sits, then the head's bytes.

/// The storage behind an `HTTPRequestHead`: its header fields' offsets
/// followed by a copy of its bytes, in one allocation, for a handshake storm
/// makes one head per connection. Written once in `make`, only read after.
final class HTTPHeadStorage: ManagedBuffer<HTTPHeadStorage.Counts, HTTPRequestHead.Field> {
    struct Counts {
        let byteCount: Int
        let fieldCount: Int
    }

    /// Copies `head` and lets `fill` write exactly `fieldCount` fields (offsets into `head`);
    /// nil when `fill` finds a malformed line.
    static func make(copying head: UnsafeRawBufferPointer, fieldCount: Int,
                     fill: (UnsafeMutableBufferPointer<HTTPRequestHead.Field>) -> Bool) -> HTTPHeadStorage? {
        let fieldStride = MemoryLayout<HTTPRequestHead.Field>.stride
        let byteSlots = (head.count + fieldStride - 1) / fieldStride
        let buffer = create(minimumCapacity: fieldCount + byteSlots) { _ in Counts(byteCount: head.count, fieldCount: fieldCount) }
        let storage = unsafeDowncast(buffer, to: HTTPHeadStorage.self)
        let filled = storage.withUnsafeMutablePointerToElements { fields in
            if let source = head.baseAddress {
                UnsafeMutableRawPointer(fields + fieldCount).copyMemory(from: source, byteCount: head.count)
            }
            return fill(UnsafeMutableBufferPointer(start: fields, count: fieldCount))
        }
        return filled ? storage : nil
    }

    /// The head's bytes and its fields, valid during the call.
    @inline(__always)
    func read<Result>(_ body: (_ bytes: UnsafeRawBufferPointer, _ fields: UnsafeBufferPointer<HTTPRequestHead.Field>) -> Result) -> Result {
        withUnsafeMutablePointers { counts, fields in
            let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(fields + counts.pointee.fieldCount), count: counts.pointee.byteCount)
            return body(bytes, UnsafeBufferPointer(start: fields, count: counts.pointee.fieldCount))
        }
    }
}
