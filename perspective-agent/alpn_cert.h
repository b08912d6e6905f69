/* The judgement of an acme-tls/1 handshake (RFC 8737 §3, RFC 8738 §6): what
 * the server negotiated and the certificate it presented, against the
 * identifier and key authorization hash of the request. Pure: no socket and
 * no TLS session, so that unit tests can hand it certificates they build. */
#ifndef MPIC_ALPN_CERT_H
#define MPIC_ALPN_CERT_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stddef.h>

#include "target.h"

#define MPIC_ALPN_HASH_LEN 32
/* RFC 8737 §3: the extension's value is the DER OCTET STRING of the hash. */
#define MPIC_ALPN_EXT_VALUE_LEN (2 + MPIC_ALPN_HASH_LEN)

struct mpic_alpn_expect {
    enum mpic_target_kind kind;
    const char *target;                 /* the identifier as requested */
    unsigned char ip[16];               /* IP target, network order */
    size_t ip_len;
    unsigned char value[MPIC_ALPN_EXT_VALUE_LEN];   /* the acmeIdentifier value required */
};

/* value = DER OCTET STRING of the 64-hex-digit SHA-256 key_authorization_hash; -1 when it is not one. */
int mpic_alpn_expected_value(const char *hex, unsigned char *value);

/* NULL when the handshake proves control, else the errors[] list (every
 * failure found; alpn_not_negotiated alone). proto: the ALPN protocol the
 * server selected (may be NULL); cert: the one it presented (may be NULL);
 * peer: the address, for the messages. */
json_t *mpic_alpn_judge(const struct mpic_alpn_expect *e, const char *peer, const unsigned char *proto,
                        unsigned proto_len, X509 *cert);

#endif
