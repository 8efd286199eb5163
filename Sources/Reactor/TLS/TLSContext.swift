import COpenSSL
import Synchronization

/// TLS for a set of connections: a server's certificates (reloadable while it
/// runs) or a client's settings. Shared by every loop; each loop makes its
/// sessions from it.
///
///     let tls = try TLSContext.server(TLSConfiguration(certificates: [TLSCertificate(chainPath: "cert.pem", keyPath: "key.pem")]))
///     let server = try TCPServer(group: group, host: "0.0.0.0", port: 443, tls: tls) { _ in MyHandler() }
///     // on SIGHUP:
///     try tls.reloadCertificates()
public final class TLSContext: Sendable {
    private enum Role: Sendable {
        case server(TLSCredentials)
        case client(OpenSSLHandle, serverName: String?, verifiesPeer: Bool)
    }

    private let role: Mutex<Role>
    private let certificates: [TLSCertificate]
    /// A handshake must complete within this many nanoseconds (accepted connections).
    public let handshakeTimeout: UInt64

    private init(role: Role, certificates: [TLSCertificate], handshakeTimeout: UInt64) {
        self.role = Mutex(role)
        self.certificates = certificates
        self.handshakeTimeout = handshakeTimeout
    }

    deinit {
        role.withLock { role in
            if case .client(let context, _, _) = role { SSL_CTX_free(context.pointer) }
        }
    }

    /// A server's context: loads every certificate and key, or throws saying which failed.
    public static func server(_ configuration: TLSConfiguration) throws(TLSError) -> TLSContext {
        let credentials = try TLSCredentials(configuration.certificates)
        credentials.enableServerNameSelection()
        return TLSContext(role: .server(credentials), certificates: configuration.certificates,
                          handshakeTimeout: configuration.handshakeTimeout)
    }

    /// A client's context. `serverName` goes in the hello (SNI, unless it is an
    /// address) and is what the server's certificate must match when
    /// `verifiesPeer`: against the certificates in the PEM file `trusting`, or
    /// the system's trusted roots without one.
    public static func client(serverName: String?, verifiesPeer: Bool, trusting trustedFile: String? = nil) throws(TLSError) -> TLSContext {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("SSL_CTX_new") }
        applyCommonSettings(context)
        if verifiesPeer {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            let loaded = trustedFile.map { SSL_CTX_load_verify_locations(context, $0, nil) } ?? SSL_CTX_set_default_verify_paths(context)
            guard loaded == 1 else {
                SSL_CTX_free(context)
                throw TLSError.fromQueue(trustedFile.map { "cannot load trusted certificates from \($0)" } ?? "cannot load the system's trusted certificates")
            }
        }
        let protocols: [UInt8] = [8] + Array("http/1.1".utf8)
        guard SSL_CTX_set_alpn_protos(context, protocols, UInt32(protocols.count)) == 0 else {
            SSL_CTX_free(context)
            throw TLSError.fromQueue("SSL_CTX_set_alpn_protos")
        }
        return TLSContext(role: .client(OpenSSLHandle(context), serverName: serverName, verifiesPeer: verifiesPeer),
                          certificates: [], handshakeTimeout: 10_000_000_000)
    }

    /// Reads every certificate and key again (a server's, after they were
    /// renewed on disk). New handshakes use them; connections already open
    /// keep theirs. On any error the old ones stay and the error says why.
    /// Returns what was loaded, one line per certificate.
    @discardableResult
    public func reloadCertificates() throws(TLSError) -> [String] {
        guard case .server = role.withLock({ $0 }) else { throw TLSError("only a server's certificates can be reloaded") }
        let fresh = try TLSCredentials(certificates)
        fresh.enableServerNameSelection()
        role.withLock { $0 = .server(fresh) }
        return fresh.summary
    }

    /// What the server serves: each certificate file and the names it lists.
    public var certificateSummary: [String] {
        if case .server(let credentials) = role.withLock({ $0 }) { return credentials.summary }
        return []
    }

    public var isServer: Bool {
        if case .server = role.withLock({ $0 }) { return true }
        return false
    }

    /// A session for one connection whose records go through `buffers`; nil if OpenSSL cannot make one.
    func makeSession(over buffers: UnsafeMutablePointer<TLSRecordBuffers>) -> TLSSession? {
        let current = role.withLock { $0 }
        let ssl: OpaquePointer
        var credentials: TLSCredentials?
        switch current {
        case .server(let loaded):
            guard let made = SSL_new(loaded.defaultContext) else { return nil }
            ssl = made
            SSL_set_accept_state(ssl)
            credentials = loaded
        case .client(let context, let serverName, let verifiesPeer):
            guard let made = SSL_new(context.pointer) else { return nil }
            ssl = made
            SSL_set_connect_state(ssl)
            if let serverName {
                let isAddress = serverName.contains(":") || serverName.allSatisfy { $0.isNumber || $0 == "." }
                if !isAddress { _ = fanout_ssl_set_host_name(ssl, serverName) }
                if verifiesPeer {
                    let checked = isAddress ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) : SSL_set1_host(ssl, serverName)
                    guard checked == 1 else {
                        SSL_free(ssl)
                        return nil
                    }
                }
            }
        }
        guard let bio = TLSRecordBIO.make(over: buffers) else {
            SSL_free(ssl)
            return nil
        }
        SSL_set_bio(ssl, bio, bio)  // one reference, owned by the SSL from here
        return TLSSession(ssl: ssl, isServer: credentials != nil, credentials: credentials)
    }

    // MARK: Shared settings

    /// What every context here has: TLS 1.2 and 1.3 only, no renegotiation
    /// (a CPU sink for an attacker), and OpenSSL's buffers released while a
    /// connection is idle (about 34 KiB each otherwise).
    static func applyCommonSettings(_ context: OpaquePointer) {
        _ = fanout_ssl_ctx_require_tls12(context)
        fanout_ssl_ctx_set_safe_options(context)
        _ = fanout_ssl_ctx_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))
    }

    /// ALPN on a server: `http/1.1` if the client offers it. A client offering
    /// only other protocols (h2) is served without ALPN rather than refused.
    static func selectHTTP11(_ selected: UnsafeMutablePointer<UnsafePointer<UInt8>?>?, _ selectedLength: UnsafeMutablePointer<UInt8>?,
                             _ offered: UnsafePointer<UInt8>?, _ offeredLength: UInt32) -> Int32 {
        guard let offered else { return SSL_TLSEXT_ERR_NOACK }
        let wanted = Array("http/1.1".utf8)
        var index = 0
        while index < Int(offeredLength) {
            let length = Int(offered[index])
            let start = index + 1
            guard start + length <= Int(offeredLength) else { break }
            if length == wanted.count && (0..<length).allSatisfy({ offered[start + $0] == wanted[$0] }) {
                selected?.pointee = offered + start
                selectedLength?.pointee = UInt8(length)
                return SSL_TLSEXT_ERR_OK
            }
            index = start + length
        }
        return SSL_TLSEXT_ERR_NOACK
    }
}
