/// A certificate chain and its private key, both PEM files: the chain holds
/// the server's certificate first, then any intermediates.
public struct TLSCertificate: Sendable, Equatable {
    public var chainPath: String
    public var keyPath: String

    public init(chainPath: String, keyPath: String) {
        self.chainPath = chainPath
        self.keyPath = keyPath
    }
}

/// How a server speaks TLS (1.2 and 1.3 only; ALPN `http/1.1`).
public struct TLSConfiguration: Sendable, Equatable {
    /// One or more certificates. A client that names a host (SNI) gets the
    /// first certificate that lists the name (subjectAltName DNS entries, or
    /// the subject's CN without any; `*.example.com` covers one label);
    /// any other client gets the first certificate.
    public var certificates: [TLSCertificate]
    /// A TLS handshake must complete within this many nanoseconds, or the
    /// connection is dropped.
    public var handshakeTimeout: UInt64 = 10_000_000_000

    public init(certificates: [TLSCertificate]) {
        self.certificates = certificates
    }

    /// Pairs chains and keys in order (the first chain with the first key),
    /// as a command line gives them.
    public init(chainPaths: [String], keyPaths: [String]) throws(TLSError) {
        guard !chainPaths.isEmpty, chainPaths.count == keyPaths.count else {
            throw TLSError("each certificate chain needs its private key, in the same order: got \(chainPaths.count) chain(s) and \(keyPaths.count) key(s)")
        }
        certificates = zip(chainPaths, keyPaths).map { TLSCertificate(chainPath: $0, keyPath: $1) }
    }
}
