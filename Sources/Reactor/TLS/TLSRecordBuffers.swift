import COpenSSL
import Glibc

/// Where the TLS sessions of one loop read ciphertext from and write it to.
///
/// OpenSSL's record layer talks to a BIO of our own (`TLSRecordBIO`) that
/// copies from `input` and appends to `output`, so the loop decides when
/// bytes meet the socket (all the records one write produced leave in one
/// `sendmsg`), a session owns no buffer between calls, and the same sessions
/// could sit on another way of moving bytes (io_uring) unchanged. One
/// session is worked at a time, so one set of buffers serves them all; the
/// caller empties `output` before the next session's turn.
struct TLSRecordBuffers {
    /// Ciphertext received and not yet taken by OpenSSL.
    var input: UnsafeRawPointer?
    var inputCount = 0
    /// Ciphertext OpenSSL produced, not yet sent.
    var output: UnsafeMutableRawPointer
    var outputCount = 0
    var outputCapacity: Int

    init(outputCapacity: Int) {
        output = malloc(outputCapacity)!
        self.outputCapacity = outputCapacity
    }

    func deallocate() { free(output) }

    /// Appends to `output`, growing it when a handshake flight or a write is larger than usual.
    mutating func append(_ bytes: UnsafeRawPointer, count: Int) {
        if outputCount + count > outputCapacity {
            outputCapacity = max(outputCapacity * 2, outputCount + count)
            output = realloc(output, outputCapacity)!
        }
        (output + outputCount).copyMemory(from: bytes, byteCount: count)
        outputCount += count
    }

    /// Copies up to `count` bytes of `input` to `destination`; how many.
    mutating func take(into destination: UnsafeMutableRawPointer, count: Int) -> Int {
        let taken = min(count, inputCount)
        guard taken > 0, let input else { return 0 }
        destination.copyMemory(from: input, byteCount: taken)
        self.input = input + taken
        inputCount -= taken
        return taken
    }
}

/// The BIO type that connects OpenSSL to a `TLSRecordBuffers` (its data pointer).
enum TLSRecordBIO {
    /// Created once per process; OpenSSL only reads it afterwards.
    private static let method = OpenSSLHandle(makeMethod())

    /// A new BIO over `buffers`, owned by the SSL it is given to.
    static func make(over buffers: UnsafeMutablePointer<TLSRecordBuffers>) -> OpaquePointer? {
        guard let bio = BIO_new(method.pointer) else { return nil }
        BIO_set_data(bio, buffers)
        BIO_set_init(bio, 1)
        return bio
    }

    private static func makeMethod() -> OpaquePointer {
        let type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK
        let method = BIO_meth_new(type, "fanout records")!
        BIO_meth_set_write_ex(method) { bio, data, length, written in
            let buffers = BIO_get_data(bio)!.assumingMemoryBound(to: TLSRecordBuffers.self)
            buffers.pointee.append(data!, count: length)
            written?.pointee = length
            return 1
        }
        BIO_meth_set_read_ex(method) { bio, data, length, read in
            let buffers = BIO_get_data(bio)!.assumingMemoryBound(to: TLSRecordBuffers.self)
            fanout_bio_clear_retry_flags(bio)
            let taken = buffers.pointee.take(into: data!, count: length)
            read?.pointee = taken
            guard taken > 0 else {
                // Nothing more now: "try again", as a non-blocking socket would say.
                fanout_bio_set_retry_read(bio)
                return 0
            }
            return 1
        }
        BIO_meth_set_ctrl(method) { _, command, _, _ in
            // Flushing is the caller's business (it sends `output`); nothing else is supported.
            command == BIO_CTRL_FLUSH ? 1 : 0
        }
        return method
    }
}
