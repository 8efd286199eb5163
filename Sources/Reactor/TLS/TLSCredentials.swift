import COpenSSL
import Glibc

/// A server's certificates as loaded from their files: one `SSL_CTX` each,
/// and the host names each serves, for SNI. Immutable; a reload builds a new
/// one, and a session keeps the one it began with until its handshake ends.
final class TLSCredentials: Sendable {
    private let contexts: [OpenSSLHandle]
    /// Lower-cased names to an index in `contexts`; wildcards under their parent
    /// domain ("*.example.com" under "example.com").
    private let exactNames: [String: Int]
    private let wildcardParents: [String: Int]
    /// What was loaded, for messages: each file pair and its names.
    let summary: [String]

    /// The certificate served without SNI, or for a name nothing lists.
    var defaultContext: OpaquePointer { contexts[0].pointer }

    init(_ certificates: [TLSCertificate]) throws(TLSError) {
        guard !certificates.isEmpty else { throw TLSError("no certificate given (a TLS server needs at least one chain and key)") }
        var contexts: [OpenSSLHandle] = []
        var exact: [String: Int] = [:]
        var wildcards: [String: Int] = [:]
        var summary: [String] = []
        do {
            for (index, certificate) in certificates.enumerated() {
                let context = try Self.makeContext(certificate)
                contexts.append(OpenSSLHandle(context))
                let names = Self.hostNames(of: context)
                summary.append("\(certificate.chainPath) (\(names.isEmpty ? "no host names" : names.joined(separator: ", ")))")
                // The first certificate listing a name serves it.
                for name in names {
                    if name.hasPrefix("*.") {
                        if wildcards[String(name.dropFirst(2))] == nil { wildcards[String(name.dropFirst(2))] = index }
                    } else if exact[name] == nil {
                        exact[name] = index
                    }
                }
            }
        } catch {
            for context in contexts { SSL_CTX_free(context.pointer) }
            throw error
        }
        self.contexts = contexts
        exactNames = exact
        wildcardParents = wildcards
        self.summary = summary
    }

    deinit {
        for context in contexts { SSL_CTX_free(context.pointer) }
    }

    /// The context for a name a client sent (SNI), nil when the default serves it.
    func context(forServerName name: String) -> OpaquePointer? {
        let name = name.lowercased()
        var index = exactNames[name]
        if index == nil, let dot = name.firstIndex(of: ".") {
            index = wildcardParents[String(name[name.index(after: dot)...])]
        }
        guard let index, index > 0 else { return nil }
        return contexts[index].pointer
    }

    /// Installs the SNI callback on the default context; `self` must outlive every
    /// handshake begun from it (a session holds it until its handshake ends).
    func enableServerNameSelection() {
        guard contexts.count > 1 else { return }
        fanout_ssl_ctx_set_servername_callback(defaultContext, { ssl, _, argument in
            let credentials = Unmanaged<TLSCredentials>.fromOpaque(argument!).takeUnretainedValue()
            if let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
               let context = credentials.context(forServerName: String(cString: name)) {
                SSL_set_SSL_CTX(ssl, context)
            }
            return SSL_TLSEXT_ERR_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    // MARK: Loading

    private static func makeContext(_ certificate: TLSCertificate) throws(TLSError) -> OpaquePointer {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromQueue("SSL_CTX_new") }
        TLSContext.applyCommonSettings(context)
        // TLS 1.2 session ids would fill a per-context cache for every client; tickets (1.2 and 1.3) resume without it.
        _ = fanout_ssl_ctx_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        SSL_CTX_set_alpn_select_cb(context, { _, selected, selectedLength, offered, offeredLength, _ in
            TLSContext.selectHTTP11(selected, selectedLength, offered, offeredLength)
        }, nil)
        guard access(certificate.chainPath, R_OK) == 0 else {
            SSL_CTX_free(context)
            throw TLSError("cannot read the certificate chain \(certificate.chainPath): \(String(cString: strerror(errno)))")
        }
        guard access(certificate.keyPath, R_OK) == 0 else {
            SSL_CTX_free(context)
            throw TLSError("cannot read the private key \(certificate.keyPath): \(String(cString: strerror(errno)))")
        }
        guard SSL_CTX_use_certificate_chain_file(context, certificate.chainPath) == 1 else {
            SSL_CTX_free(context)
            throw TLSError.fromQueue("\(certificate.chainPath) is not a PEM certificate chain")
        }
        guard let key = readPrivateKey(certificate.keyPath) else {
            SSL_CTX_free(context)
            throw TLSError.fromQueue("\(certificate.keyPath) is not an unencrypted PEM private key")
        }
        defer { EVP_PKEY_free(key) }
        guard SSL_CTX_use_PrivateKey(context, key) == 1, SSL_CTX_check_private_key(context) == 1 else {
            SSL_CTX_free(context)
            throw TLSError.fromQueue("\(certificate.keyPath) is not the key of \(certificate.chainPath)")
        }
        return context
    }

    /// The key in a PEM file; nil if it holds none, or only an encrypted one
    /// (OpenSSL would otherwise ask for a passphrase on the terminal).
    private static func readPrivateKey(_ path: String) -> OpaquePointer? {
        guard let file = BIO_new_file(path, "r") else { return nil }
        defer { BIO_free(file) }
        return PEM_read_bio_PrivateKey(file, nil, { _, _, _, _ in 0 }, nil)
    }

    /// The DNS names a certificate lists (subjectAltName), or its subject's CN
    /// when it lists none; lower-cased.
    static func hostNames(of context: OpaquePointer) -> [String] {
        guard let certificate = SSL_CTX_get0_certificate(context) else { return [] }
        var names: [String] = []
        if let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, nil, nil) {
            let list = OpaquePointer(raw)
            for index in 0..<fanout_general_names_count(list) {
                guard let entry = fanout_general_names_value(list, index), entry.pointee.type == GEN_DNS,
                      let string = entry.pointee.d.dNSName, let bytes = ASN1_STRING_get0_data(string) else { continue }
                let name = String(decoding: UnsafeBufferPointer(start: bytes, count: Int(ASN1_STRING_length(string))), as: UTF8.self)
                names.append(name.lowercased())
            }
            fanout_general_names_free(list)
        }
        if names.isEmpty, let subject = X509_get_subject_name(certificate) {
            var buffer = [CChar](repeating: 0, count: 256)
            if X509_NAME_get_text_by_NID(subject, NID_commonName, &buffer, Int32(buffer.count)) > 0 {
                names.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased())
            }
        }
        return names
    }
}
