import COpenSSL

/// One connection's TLS: an OpenSSL `SSL` whose records go through its loop's
/// `TLSRecordBuffers`. Between calls it holds only OpenSSL's own state (its
/// buffers are released while idle) and ciphertext the kernel refused.
final class TLSSession {
    enum Phase: UInt8 {
        case handshaking
        case established
        /// Plain HTTP came to the TLS port: it was answered with a 400; what else comes is discarded.
        case refused
    }

    enum Step {
        case done
        case wantMore
        case failed(String)
    }

    let ssl: OpaquePointer
    let isServer: Bool
    var phase = Phase.handshaking
    /// A server's certificates, held while its handshake may still choose among them (SNI).
    var credentials: TLSCredentials?
    /// Whether any input has come (the first bytes tell TLS from plain HTTP).
    var sawInput = false
    /// Ciphertext the kernel refused: it goes before anything else.
    var unsent: SharedBuffer?
    var unsentStart = 0

    init(ssl: OpaquePointer, isServer: Bool, credentials: TLSCredentials?) {
        self.ssl = ssl
        self.isServer = isServer
        self.credentials = credentials
    }

    deinit { SSL_free(ssl) }

    var unsentCount: Int { unsent.map { $0.count - unsentStart } ?? 0 }

    /// Advances the handshake with the input at hand; its output lands in the buffers.
    func handshake() -> Step {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            phase = .established
            credentials = nil
            return .done
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wantMore
        default:
            return .failed(failureReason())
        }
    }

    enum ReadResult {
        /// `count` bytes of plaintext (0: a record is incomplete, or carried no data).
        case bytes(Int)
        /// The peer's close_notify.
        case closed
        case failed(String)
    }

    /// Decrypts what the input holds into `destination`. (No ERR_clear_error
    /// first, on this path and `write`'s: it costs about 390 instructions, and
    /// every failure here already empties the thread's error queue.)
    func read(into destination: UnsafeMutableRawPointer, capacity: Int) -> ReadResult {
        var count = 0
        let result = SSL_read_ex(ssl, destination, capacity, &count)
        if result == 1 { return .bytes(count) }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .bytes(0)
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed(failureReason())
        }
    }

    /// Encrypts `count` bytes into as many records as they need (16 KiB of
    /// plaintext each); the records land in the buffers. False on failure.
    func write(_ bytes: UnsafeRawPointer, count: Int) -> Bool {
        var written = 0
        return SSL_write_ex(ssl, bytes, count, &written) == 1 && written == count
    }

    /// Queues a close_notify in the buffers.
    func close() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The negotiated protocol version, e.g. "TLSv1.3".
    var version: String { String(cString: SSL_get_version(ssl)) }

    private func failureReason() -> String {
        let reasons = TLSError.drainReasons()
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK, let text = X509_verify_cert_error_string(verify) {
            return "certificate verify failed: \(String(cString: text))"
        }
        return reasons.isEmpty ? "the peer broke the TLS protocol" : reasons
    }
}
