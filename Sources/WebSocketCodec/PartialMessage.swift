// The only per-connection allocation of the reader: it exists only while a fragmented message
// or a frame too large to keep in the caller's buffer is incomplete.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline
final class PartialMessage {
    /// `.text` or `.binary`: the opcode of the message's first frame.
    let opcode: Opcode
    /// The first frame had RSV1 (permessage-deflate): these are compressed bytes, checked once inflated.
    let compressed: Bool
    /// Incremental check of the unmasked bytes appended so far (text only).
    var validator = UTF8Validator()
    /// Accumulated unmasked payload (malloc'd so growth can be a `realloc`, which large blocks mremap).
    private(set) var storage: UnsafeMutableRawPointer?
    private(set) var count = 0
    private(set) var capacity = 0

    // A frame being streamed in: payload bytes still to come (0 between frames), its FIN bit,
    // mask key and the key phase of its next byte.
    var frameRemaining = 0
    var frameFin = false
    var frameMask: MaskKey?
    var framePhase = 0

    /// Set when the whole message was handed out; the reader drops this object at its next call,
    /// which is what keeps the delivered bytes valid until then.
    var delivered = false

    init(opcode: Opcode, compressed: Bool = false) {
        self.opcode = opcode
        self.compressed = compressed
    }

    deinit {
        free(storage)
    }

    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage, count: count)
    }

    /// Appends `length` payload bytes, unmasking them on the way (one pass), and checks text as it
    /// grows. `finalSize` bounds the buffer growth (the message size if known, else the limit).
    /// Returns the mask phase after the bytes, or nil when the text can no longer be valid UTF-8.
    func append(_ source: UnsafeRawPointer, length: Int, mask: MaskKey?, phase: Int, finalSize: Int) -> Int? {
        guard length > 0 else { return phase }
        reserve(count + length, finalSize: finalSize)
        let destination = storage! + count
        var phase = phase
        if let mask {
            phase = applyMask(from: source, to: destination, count: length, key: mask, phase: phase)
        } else {
            destination.copyMemory(from: source, byteCount: length)
        }
        if opcode == .text && !compressed {
            var checker = validator
            let valid = checker.validate(UnsafeRawBufferPointer(start: destination, count: length))
            validator = checker
            if !valid { return nil }
        }
        count += length
        return phase
    }

    /// Doubles (at least 4 KiB) but never past what the message can still need.
    private func reserve(_ needed: Int, finalSize: Int) {
        if needed <= capacity { return }
        let newCapacity = Swift.max(needed, Swift.min(Swift.max(capacity * 2, 4096), finalSize))
        guard let grown = realloc(storage, newCapacity) else {
            fatalError("WebSocketCodec: out of memory growing a message to \(newCapacity) bytes")
        }
        storage = grown
        capacity = newCapacity
    }
}
