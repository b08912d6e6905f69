/* TLS helpers shared by both daemons (OpenSSL 3). The agent channel is
 * mutual TLS with a private CA: the CA proves "one of ours", the subject CN
 * proves which perspective. */
#ifndef MPIC_TLS_H
#define MPIC_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "strv.h"

/* Server context, TLS >= 1.2, sessions resumable. With client_ca set, a client certificate signed
 * by that CA is mandatory (handshakes without one fail). */
SSL_CTX *mpic_tls_server_ctx(const char *cert, const char *key, const char *client_ca, struct mpic_error *err);

/* Subject CN of cert into buf; -1 when absent, repeated or not representable. */
int mpic_tls_cert_cn(X509 *cert, char *buf, size_t len);

/* Whether cert is the peer an identity names: subject CN equal to cn, and,
 * when spki holds pins, the SHA-256 of its DER SubjectPublicKeyInfo (lower-case
 * hex) among them. On false, why says what differed. */
bool mpic_tls_identity_matches(X509 *cert, const char *cn, const struct mpic_strv *spki, char *why, size_t len);

/* The first OpenSSL error queued, as text ("" when none); clears the queue. */
const char *mpic_tls_last_error(char *buf, size_t len);

#endif
