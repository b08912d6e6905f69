/* acme-tls/1 certificate rules (alpn_cert.h). The messages name the
 * address that answered, since a name may have several and only one lied. */
#include "alpn_cert.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"
#define CERT_ERROR(reason) MPIC_ERR_TLS_ALPN_CERTIFICATE(reason)
#define ALPN_NAME "acme-tls/1"

static bool ascii_equal_nocase(const unsigned char *a, size_t alen, const char *b)
{
    if (alen != strlen(b))
        return false;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

/* What a SAN entry holds, printable, for the error message. */
static void describe_san(const GENERAL_NAME *g, char *buf, size_t len)
{
    if (g->type == GEN_DNS) {
        const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
        int n = ASN1_STRING_length(g->d.dNSName);
        size_t o = (size_t)snprintf(buf, len, "dNSName ");
        for (int i = 0; i < n && o + 1 < len; i++)
            buf[o++] = d[i] >= 0x21 && d[i] < 0x7f ? (char)d[i] : '?';
        buf[o < len ? o : len - 1] = '\0';
    } else if (g->type == GEN_IPADD) {
        const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
        int n = ASN1_STRING_length(g->d.iPAddress);
        char ip[INET6_ADDRSTRLEN] = "?";
        if (n == 4 || n == 16)
            inet_ntop(n == 4 ? AF_INET : AF_INET6, d, ip, sizeof ip);
        snprintf(buf, len, "iPAddress %s", ip);
    } else {
        snprintf(buf, len, "a name of type %d", g->type);
    }
}

static json_t *check_san(const struct mpic_alpn_expect *e, const char *peer, X509 *cert, json_t *errors)
{
    char msg[400];
    int crit = -1;
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (sans == NULL) {
        const char *why = crit == -1 ? "no subjectAltName extension"
                          : crit == -2 ? "more than one subjectAltName extension"
                                       : "an unparseable subjectAltName extension";
        snprintf(msg, sizeof msg, "certificate from %s for %s has %s; exactly one entry naming it is required",
                 peer, e->target, why);
        return mpic_error_list_append(errors, CERT_ERROR("san_count"), msg);
    }
    int n = sk_GENERAL_NAME_num(sans);
    if (n != 1) {
        snprintf(msg, sizeof msg, "certificate from %s for %s has %d subjectAltName entries; exactly one is required",
                 peer, e->target, n);
        errors = mpic_error_list_append(errors, CERT_ERROR("san_count"), msg);
    } else {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, 0);
        bool ok;
        if (e->kind == MPIC_TARGET_DNS)
            ok = g->type == GEN_DNS && ascii_equal_nocase(ASN1_STRING_get0_data(g->d.dNSName),
                                                          (size_t)ASN1_STRING_length(g->d.dNSName), e->target);
        else
            ok = g->type == GEN_IPADD && (size_t)ASN1_STRING_length(g->d.iPAddress) == e->ip_len &&
                 memcmp(ASN1_STRING_get0_data(g->d.iPAddress), e->ip, e->ip_len) == 0;
        if (!ok) {
            char seen[300];
            describe_san(g, seen, sizeof seen);
            snprintf(msg, sizeof msg, "certificate from %s names %s, not %s %s", peer, seen,
                     e->kind == MPIC_TARGET_DNS ? "dNSName" : "iPAddress", e->target);
            errors = mpic_error_list_append(errors, CERT_ERROR("san_mismatch"), msg);
        }
    }
    GENERAL_NAMES_free(sans);
    return errors;
}

static json_t *check_acme_identifier(const struct mpic_alpn_expect *e, const char *peer, X509 *cert,
                                     json_t *errors)
{
    char msg[400];
    ASN1_OBJECT *oid = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    if (oid == NULL)
        return mpic_error_list_append(errors, CERT_ERROR("extension_missing"),
                                      "cannot look for the acmeIdentifier extension: out of memory");
    int i = X509_get_ext_by_OBJ(cert, oid, -1);
    int again = i < 0 ? -1 : X509_get_ext_by_OBJ(cert, oid, i);
    ASN1_OBJECT_free(oid);
    if (i < 0) {
        snprintf(msg, sizeof msg,
                 "certificate from %s for %s has no acmeIdentifier extension (" ACME_IDENTIFIER_OID ")",
                 peer, e->target);
        return mpic_error_list_append(errors, CERT_ERROR("extension_missing"), msg);
    }
    /* RFC 5280 §4.2: an extension appears at most once; which copy would count is anyone's guess. */
    if (again >= 0) {
        snprintf(msg, sizeof msg, "certificate from %s for %s has the acmeIdentifier extension more than once",
                 peer, e->target);
        return mpic_error_list_append(errors, CERT_ERROR("hash_mismatch"), msg);
    }
    X509_EXTENSION *ext = X509_get_ext(cert, i);
    if (!X509_EXTENSION_get_critical(ext)) {
        snprintf(msg, sizeof msg,
                 "certificate from %s for %s has the acmeIdentifier extension, but not marked critical",
                 peer, e->target);
        errors = mpic_error_list_append(errors, CERT_ERROR("extension_not_critical"), msg);
    }
    const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
    if (ASN1_STRING_length(v) != MPIC_ALPN_EXT_VALUE_LEN ||
        memcmp(ASN1_STRING_get0_data(v), e->value, MPIC_ALPN_EXT_VALUE_LEN) != 0) {
        char hex[2 * 40 + 4];
        const unsigned char *d = ASN1_STRING_get0_data(v);
        int n = ASN1_STRING_length(v);
        size_t o = 0;
        for (int k = 0; k < n && k < 40; k++)
            o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x", d[k]);
        if (n > 40)
            snprintf(hex + o, sizeof hex - o, "...");
        snprintf(msg, sizeof msg,
                 "certificate from %s for %s: acmeIdentifier holds %s (%d bytes), not the DER OCTET STRING "
                 "of key_authorization_hash",
                 peer, e->target, n > 0 ? hex : "nothing", n);
        errors = mpic_error_list_append(errors, CERT_ERROR("hash_mismatch"), msg);
    }
    return errors;
}

json_t *mpic_alpn_judge(const struct mpic_alpn_expect *e, const char *peer, const unsigned char *proto,
                        unsigned proto_len, X509 *cert)
{
    json_t *errors = NULL;
    char msg[400];
    if (proto == NULL || proto_len != strlen(ALPN_NAME) || memcmp(proto, ALPN_NAME, proto_len) != 0) {
        snprintf(msg, sizeof msg, "%s (%s) did not negotiate ALPN acme-tls/1 (%s)", e->target, peer,
                 proto_len == 0 ? "no protocol selected" : "another protocol selected");
        errors = mpic_error_list_append(errors, CERT_ERROR("alpn_not_negotiated"), msg);
    } else if (cert == NULL) {
        snprintf(msg, sizeof msg, "%s (%s) presented no certificate", e->target, peer);
        errors = mpic_error_list_append(errors, CERT_ERROR("extension_missing"), msg);
    } else {
        errors = check_san(e, peer, cert, errors);
        errors = check_acme_identifier(e, peer, cert, errors);
    }
    return errors;
}

int mpic_alpn_expected_value(const char *hex, unsigned char *out)
{
    if (hex == NULL || strlen(hex) != 2 * MPIC_ALPN_HASH_LEN)
        return -1;
    out[0] = 0x04;      /* OCTET STRING */
    out[1] = MPIC_ALPN_HASH_LEN;
    for (size_t i = 0; i < MPIC_ALPN_HASH_LEN; i++) {
        unsigned v = 0;
        for (size_t k = 0; k < 2; k++) {
            char ch = hex[2 * i + k];
            unsigned d;
            if (ch >= '0' && ch <= '9')
                d = (unsigned)(ch - '0');
            else if (ch >= 'a' && ch <= 'f')
                d = (unsigned)(ch - 'a' + 10);
            else if (ch >= 'A' && ch <= 'F')
                d = (unsigned)(ch - 'A' + 10);
            else
                return -1;
            v = v << 4 | d;
        }
        out[2 + i] = (unsigned char)v;
    }
    return 0;
}
