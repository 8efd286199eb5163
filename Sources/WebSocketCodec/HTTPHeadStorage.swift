// A parsed head's one allocation: where each header field sits, then the head's bytes.

/// The storage behind an `HTTPRequestHead`: its header fields' offsets
/// followed by a copy of its bytes, in one allocation, for a handshake storm
/// makes one head per connection. Written in `make`, then only read, until
/// nothing else holds it and an `HTTPHeadRecycler` hands it to the next `make`.
final class HTTPHeadStorage: ManagedBuffer<HTTPHeadStorage.Counts, HTTPRequestHead.Field> {
    struct Counts {
        var byteCount: Int
        var fieldCount: Int
        /// Room for this many 16-byte slots (a field takes one), fields and bytes together.
        let slotCount: Int
    }

    var slotCount: Int { withUnsafeMutablePointerToHeader { $0.pointee.slotCount } }

    /// Copies `head` and lets `fill` write exactly `fieldCount` fields (offsets into `head`);
    /// nil when `fill` finds a malformed line. Storage `recycler` kept is used when it is
    /// large enough; new storage is made large enough to be kept.
    static func make(copying head: UnsafeRawBufferPointer, fieldCount: Int, reusing recycler: HTTPHeadRecycler? = nil,
                     fill: (UnsafeMutableBufferPointer<HTTPRequestHead.Field>) -> Bool) -> HTTPHeadStorage? {
        let fieldStride = MemoryLayout<HTTPRequestHead.Field>.stride
        let needed = fieldCount + (head.count + fieldStride - 1) / fieldStride  // slots
        let storage: HTTPHeadStorage
        if let reused = recycler?.take(slots: needed) {
            reused.withUnsafeMutablePointerToHeader { counts in  // (no run-time exclusivity check, as `header` has)
                counts.pointee.byteCount = head.count
                counts.pointee.fieldCount = fieldCount
            }
            storage = reused
        } else {
            let slots = recycler == nil ? needed : max(needed, HTTPHeadRecycler.keptSlotCount)
            let buffer = create(minimumCapacity: slots) { _ in Counts(byteCount: head.count, fieldCount: fieldCount, slotCount: slots) }
            storage = unsafeDowncast(buffer, to: HTTPHeadStorage.self)
        }
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
