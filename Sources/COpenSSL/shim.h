// The system OpenSSL (Debian: libssl-dev), and static inline wrappers for the
// few of its calls that are macros, which Swift does not import.
#ifndef FANOUT_COPENSSL_SHIM_H
#define FANOUT_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/// TLS 1.2 is the oldest version a context accepts (1.0 and 1.1 are refused).
static inline int fanout_ssl_ctx_require_tls12(SSL_CTX *context) {
    return (int)SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

/// No renegotiation (a CPU sink an attacker controls) and no compression (CRIME).
static inline void fanout_ssl_ctx_set_safe_options(SSL_CTX *context) {
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
}

static inline long fanout_ssl_ctx_set_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_mode(context, mode);
}

/// What a non-blocking source says when it has nothing now: try the read again later.
static inline void fanout_bio_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }

static inline void fanout_bio_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }

static inline long fanout_ssl_ctx_set_session_cache_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_session_cache_mode(context, mode);
}

/// Server Name Indication: `callback` picks the certificate for the name a client asks for.
static inline void fanout_ssl_ctx_set_servername_callback(SSL_CTX *context, int (*callback)(SSL *, int *, void *), void *argument) {
    SSL_CTX_set_tlsext_servername_callback(context, callback);
    SSL_CTX_set_tlsext_servername_arg(context, argument);
}

/// The name a client sends in its hello (SNI).
static inline int fanout_ssl_set_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline int fanout_general_names_count(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}

static inline const GENERAL_NAME *fanout_general_names_value(const GENERAL_NAMES *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}

static inline void fanout_general_names_free(GENERAL_NAMES *names) {
    GENERAL_NAMES_free(names);
}

#endif
