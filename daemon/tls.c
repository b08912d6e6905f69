#include "tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

const char *mpic_tls_last_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (e == 0)
        snprintf(buf, len, "no OpenSSL error queued");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

SSL_CTX *mpic_tls_server_ctx(const char *cert, const char *key, const char *client_ca, struct mpic_error *err)
{
    char e[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        mpic_error_set(err, "SSL_CTX_new: %s", mpic_tls_last_error(e, sizeof e));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Without it, a server that verifies client certificates aborts the
     * handshake of every client that tries to resume a session. */
    static const unsigned char sid_ctx[] = "mpic";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        mpic_error_set(err, "%s: cannot load certificate: %s", cert, mpic_tls_last_error(e, sizeof e));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        mpic_error_set(err, "%s: cannot load private key or it does not match %s: %s", key, cert,
                       mpic_tls_last_error(e, sizeof e));
        goto fail;
    }
    if (client_ca != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
            mpic_error_set(err, "%s: cannot load CA certificate: %s", client_ca, mpic_tls_last_error(e, sizeof e));
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int mpic_tls_cert_cn(X509 *cert, char *buf, size_t len)
{
    X509_NAME *subject = cert ? X509_get_subject_name(cert) : NULL;
    int idx = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
    if (idx < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0)
        return -1;   /* none, or ambiguous: two CNs */
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0)
        return -1;
    int rc = -1;
    if ((size_t)n < len && memchr(utf8, '\0', (size_t)n) == NULL) {
        memcpy(buf, utf8, (size_t)n);
        buf[n] = '\0';
        rc = 0;
    }
    OPENSSL_free(utf8);
    return rc;
}

bool mpic_tls_identity_matches(X509 *cert, const char *cn, const struct mpic_strv *spki, char *why, size_t len)
{
    char seen[256];
    if (mpic_tls_cert_cn(cert, seen, sizeof seen) != 0 || strcmp(seen, cn) != 0) {
        snprintf(why, len, "certificate CN is not %s", cn);
        return false;
    }
    if (spki == NULL || spki->n == 0)
        return true;
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    bool hashed = n > 0 && EVP_Digest(der, (size_t)n, md, &md_len, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    for (unsigned int i = 0; hashed && i < md_len; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    for (size_t i = 0; hashed && i < spki->n; i++)
        if (strcmp(hex, spki->v[i]) == 0)
            return true;
    snprintf(why, len, "public key (SPKI SHA-256 %s) is not pinned", hashed ? hex : "unavailable");
    return false;
}
