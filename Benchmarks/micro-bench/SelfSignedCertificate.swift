import COpenSSL
import Glibc
import Reactor

/// A throwaway ECDSA P-256 certificate for localhost, made in process (no
/// `openssl` command needed) and written as PEM files under /tmp.
struct SelfSignedCertificate {
    let pair: TLSCertificate

    init() throws {
        let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, "P-256") == 1,
              EVP_PKEY_generate(context, &key) == 1, let key else { throw TLSError.fromQueueForBenchmark("EC key") }
        defer { EVP_PKEY_free(key) }
        guard let certificate = X509_new() else { throw TLSError("X509_new") }
        defer { X509_free(certificate) }
        X509_set_version(certificate, 2)
        ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1)
        X509_gmtime_adj(X509_getm_notBefore(certificate), -3600)
        X509_gmtime_adj(X509_getm_notAfter(certificate), 86400)
        X509_set_pubkey(certificate, key)
        let name = X509_get_subject_name(certificate)
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, Array("localhost".utf8), -1, -1, 0)
        X509_set_issuer_name(certificate, name)
        guard X509_sign(certificate, key, EVP_sha256()) > 0 else { throw TLSError.fromQueueForBenchmark("X509_sign") }
        let base = "/tmp/micro-bench-\(getpid())"
        guard let chain = BIO_new_file(base + ".pem", "w"), let keyFile = BIO_new_file(base + ".key", "w") else {
            throw TLSError("cannot write \(base).pem and .key")
        }
        PEM_write_bio_X509(chain, certificate)
        PEM_write_bio_PrivateKey(keyFile, key, nil, nil, 0, nil, nil)
        BIO_free(chain)
        BIO_free(keyFile)
        pair = TLSCertificate(chainPath: base + ".pem", keyPath: base + ".key")
    }

    func remove() {
        unlink(pair.chainPath)
        unlink(pair.keyPath)
    }
}

extension TLSError {
    static func fromQueueForBenchmark(_ what: String) -> TLSError {
        TLSError("\(what): OpenSSL error \(ERR_get_error())")
    }
}
