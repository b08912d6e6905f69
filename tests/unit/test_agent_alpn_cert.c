/* Unit tests for the acme-tls/1 judgement (perspective-agent/alpn_cert.c,
 * RFC 8737 §3 and RFC 8738 §6). Each test builds a self-signed certificate
 * with OpenSSL, the way an ACME client would, and changes one thing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "alpn_cert.h"

#define CERT "mpic_error:dcv_checker:tls_alpn:certificate:"
/* A key_authorization_hash: any 64 hex digits do. */
static const char *const HASH = "8a71ff2ec4e5d4f31fd6b8e0efdd0e67a4e9d1b7a6a3bcb0b3bd4cfaefb4b6c1";
static const unsigned char ALPN[] = "acme-tls/1";

struct spec {
    const char *dns_san;        /* NULL: none */
    const char *ip_san;         /* NULL: none */
    int extra_sans;             /* more dNSName entries */
    bool ext;                   /* acmeIdentifier present */
    bool critical;
    bool twice;
    const char *hash;           /* the hash the extension carries */
};

static EVP_PKEY *key(void)
{
    static EVP_PKEY *k;
    if (k == NULL)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return k;
}

static void add_acme_ext(X509 *x, bool critical, const char *hash)
{
    unsigned char value[MPIC_ALPN_EXT_VALUE_LEN];
    assert_int_equal(mpic_alpn_expected_value(hash, value), 0);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, value, sizeof value);
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    X509_EXTENSION *ext = X509_EXTENSION_create_by_OBJ(NULL, oid, critical, os);
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(os);
}

static X509 *build(const struct spec *s)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"acme", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key());
    GENERAL_NAMES *sans = sk_GENERAL_NAME_new_null();
    if (s->dns_san != NULL) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *d = ASN1_IA5STRING_new();
        ASN1_STRING_set(d, s->dns_san, -1);
        GENERAL_NAME_set0_value(g, GEN_DNS, d);
        sk_GENERAL_NAME_push(sans, g);
    }
    if (s->ip_san != NULL)
        sk_GENERAL_NAME_push(sans, a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_IPADD, s->ip_san, 0));
    for (int i = 0; i < s->extra_sans; i++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *d = ASN1_IA5STRING_new();
        ASN1_STRING_set(d, "other.example.test", -1);
        GENERAL_NAME_set0_value(g, GEN_DNS, d);
        sk_GENERAL_NAME_push(sans, g);
    }
    if (sk_GENERAL_NAME_num(sans) > 0)
        X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT);
    GENERAL_NAMES_free(sans);
    if (s->ext)
        add_acme_ext(x, s->critical, s->hash != NULL ? s->hash : HASH);
    if (s->twice)
        add_acme_ext(x, s->critical, s->hash != NULL ? s->hash : HASH);
    assert_true(X509_sign(x, key(), EVP_sha256()) > 0);
    return x;
}

static struct mpic_alpn_expect dns_expect(void)
{
    struct mpic_alpn_expect e = { .kind = MPIC_TARGET_DNS, .target = "alpn.example.test" };
    assert_int_equal(mpic_alpn_expected_value(HASH, e.value), 0);
    return e;
}

/* The error types judging s yields, joined by ","; "" when it passes. */
static void judge_types(const struct mpic_alpn_expect *e, const struct spec *s, char *out, size_t len)
{
    X509 *x = build(s);
    json_t *errors = mpic_alpn_judge(e, "203.0.113.7", ALPN, sizeof ALPN - 1, x);
    out[0] = '\0';
    size_t i;
    json_t *v;
    json_array_foreach(errors, i, v) {
        const char *t = json_string_value(json_object_get(v, "error_type"));
        assert_non_null(json_string_value(json_object_get(v, "error_message")));
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "", t + strlen(CERT));
    }
    json_decref(errors);
    X509_free(x);
}

static void alpn_valid_certificate_passes(void **state)
{
    struct mpic_alpn_expect e = dns_expect();
    char t[256];
    judge_types(&e, &(struct spec){ .dns_san = "alpn.example.test", .ext = true, .critical = true }, t, sizeof t);
    assert_string_equal(t, "");
    /* the identifier compares without regard to ASCII case */
    judge_types(&e, &(struct spec){ .dns_san = "ALPN.Example.Test", .ext = true, .critical = true }, t, sizeof t);
    assert_string_equal(t, "");
}

static void alpn_other_protocol_is_alpn_not_negotiated_alone(void **state)
{
    struct mpic_alpn_expect e = dns_expect();
    X509 *x = build(&(struct spec){ .ext = false });
    json_t *errors = mpic_alpn_judge(&e, "203.0.113.7", (const unsigned char *)"h2", 2, x);
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "error_type")),
                        CERT "alpn_not_negotiated");
    json_decref(errors);
    errors = mpic_alpn_judge(&e, "203.0.113.7", NULL, 0, x);
    assert_int_equal(json_array_size(errors), 1);
    json_decref(errors);
    X509_free(x);
}

static void alpn_no_certificate_is_extension_missing(void **state)
{
    struct mpic_alpn_expect e = dns_expect();
    json_t *errors = mpic_alpn_judge(&e, "203.0.113.7", ALPN, sizeof ALPN - 1, NULL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "error_type")),
                        CERT "extension_missing");
    json_decref(errors);
}

static void alpn_san_must_be_exactly_the_identifier(void **state)
{
    struct mpic_alpn_expect e = dns_expect();
    char t[256];
    judge_types(&e, &(struct spec){ .ext = true, .critical = true }, t, sizeof t);
    assert_string_equal(t, "san_count");
    judge_types(&e, &(struct spec){ .dns_san = "alpn.example.test", .extra_sans = 1, .ext = true, .critical = true },
                t, sizeof t);
    assert_string_equal(t, "san_count");
    judge_types(&e, &(struct spec){ .dns_san = "evil.example.test", .ext = true, .critical = true }, t, sizeof t);
    assert_string_equal(t, "san_mismatch");
    judge_types(&e, &(struct spec){ .ip_san = "203.0.113.7", .ext = true, .critical = true }, t, sizeof t);
    assert_string_equal(t, "san_mismatch");
}

static void alpn_ip_identifier_needs_ip_san(void **state)
{
    struct mpic_alpn_expect e = { .kind = MPIC_TARGET_IPV4, .target = "198.51.100.9", .ip = { 198, 51, 100, 9 },
                                  .ip_len = 4 };
    assert_int_equal(mpic_alpn_expected_value(HASH, e.value), 0);
    char t[256];
    judge_types(&e, &(struct spec){ .ip_san = "198.51.100.9", .ext = true, .critical = true }, t, sizeof t);
    assert_string_equal(t, "");
    judge_types(&e, &(struct spec){ .dns_san = "198.51.100.9", .ext = true, .critical = true }, t, sizeof t);
    assert_string_equal(t, "san_mismatch");
}

static void alpn_acme_identifier_must_be_critical_and_hold_the_hash(void **state)
{
    struct mpic_alpn_expect e = dns_expect();
    char t[256];
    judge_types(&e, &(struct spec){ .dns_san = "alpn.example.test" }, t, sizeof t);
    assert_string_equal(t, "extension_missing");
    judge_types(&e, &(struct spec){ .dns_san = "alpn.example.test", .ext = true }, t, sizeof t);
    assert_string_equal(t, "extension_not_critical");
    judge_types(&e, &(struct spec){ .dns_san = "alpn.example.test", .ext = true, .critical = true,
                                    .hash = "0000000000000000000000000000000000000000000000000000000000000000" },
                t, sizeof t);
    assert_string_equal(t, "hash_mismatch");
    judge_types(&e, &(struct spec){ .dns_san = "alpn.example.test", .ext = true, .critical = true, .twice = true },
                t, sizeof t);
    assert_string_equal(t, "hash_mismatch");
    /* every failure found is listed */
    judge_types(&e, &(struct spec){ .dns_san = "evil.example.test", .ext = true }, t, sizeof t);
    assert_string_equal(t, "san_mismatch,extension_not_critical");
}

static void alpn_expected_value_is_der_octet_string_of_64_hex(void **state)
{
    unsigned char v[MPIC_ALPN_EXT_VALUE_LEN];
    assert_int_equal(mpic_alpn_expected_value(HASH, v), 0);
    assert_int_equal(v[0], 0x04);
    assert_int_equal(v[1], 32);
    assert_int_equal(v[2], 0x8a);
    assert_int_equal(mpic_alpn_expected_value("8a71", v), -1);
    assert_int_equal(mpic_alpn_expected_value(NULL, v), -1);
    assert_int_equal(mpic_alpn_expected_value("zz71ff2ec4e5d4f31fd6b8e0efdd0e67a4e9d1b7a6a3bcb0b3bd4cfaefb4b6c1", v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alpn_valid_certificate_passes),
        cmocka_unit_test(alpn_other_protocol_is_alpn_not_negotiated_alone),
        cmocka_unit_test(alpn_no_certificate_is_extension_missing),
        cmocka_unit_test(alpn_san_must_be_exactly_the_identifier),
        cmocka_unit_test(alpn_ip_identifier_needs_ip_san),
        cmocka_unit_test(alpn_acme_identifier_must_be_critical_and_hold_the_hash),
        cmocka_unit_test(alpn_expected_value_is_der_octet_string_of_64_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
