/* Feeds arbitrary certificates to the acme-tls/1 judgement
 * (perspective-agent/alpn_cert.c): what a hostile TLS server presents. The
 * first octet picks the identifier (a name, an IPv4 or an IPv6 address), the
 * second the length of the ALPN protocol that follows; the rest is the DER
 * certificate. The judgement must not crash or leak, and must name at least
 * one failure whenever the certificate is not even DER. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "alpn_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The hash the seed certificates carry (tests/fuzz/seeds.py). */
static const char *const HASH = "7f83b1657ff1fc53b92dc18148a1d65dfc2d4b1fa3d677284addd200126d9069";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct mpic_alpn_expect e = { 0 };
    if (mpic_alpn_expected_value(HASH, e.value) != 0)
        abort();
    switch (data[0] % 3) {
    case 0:
        e.kind = MPIC_TARGET_DNS;
        e.target = "alpn.example.test";
        break;
    case 1:
        e.kind = MPIC_TARGET_IPV4;
        e.target = "203.0.113.7";
        memcpy(e.ip, (const unsigned char[]){ 203, 0, 113, 7 }, 4);
        e.ip_len = 4;
        break;
    default:
        e.kind = MPIC_TARGET_IPV6;
        e.target = "2001:db8::7";
        memcpy(e.ip, (const unsigned char[]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 7 }, 16);
        e.ip_len = 16;
        break;
    }
    size_t proto_len = data[1];
    if (2 + proto_len > size)
        return 0;
    const unsigned char *proto = data + 2, *der = data + 2 + proto_len;
    size_t der_len = size - 2 - proto_len;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    json_t *errors = mpic_alpn_judge(&e, "203.0.113.7", proto_len ? proto : NULL, (unsigned)proto_len, x);
    if (x == NULL && errors == NULL)
        abort();   /* no certificate proves nothing */
    json_decref(errors);
    X509_free(x);
    /* d2i_X509 leaves its errors queued; freed here, each run leaves the heap as
     * it found it, so that libFuzzer's leak check stays quiet and fast. */
    ERR_clear_error();
    return 0;
}
