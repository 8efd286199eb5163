/// An OpenSSL object that several loops use at once: an `SSL_CTX` (from which
/// each loop creates its sessions) or a `BIO_METHOD`. OpenSSL makes both safe
/// to share once they are set up, and nothing here changes them after that;
/// this is the one place that vouches for it to the compiler.
struct OpenSSLHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}
