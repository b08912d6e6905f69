/* libFuzzer target for common/caa.c: turns the input into CAA records and a
 * query, runs evaluate, parse, format, climb and select on them, and aborts
 * when an output breaks a property the rest of mpic relies on.
 *
 * Input layout: one option byte (wildcard, s-mime, flag-1 alias, account and
 * method present), then records as flags, tag length, 2-octet value length
 * and the octets. Each tag and value is copied into its own allocation so
 * that ASan sees any read past its end. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caa.h"

#define MAX_RECORDS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static uint8_t *copy_octets(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n > 0 ? n : 1);
    check(c != NULL);
    if (n > 0)
        memcpy(c, p, n);
    return c;
}

static bool issuer_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static void check_parse(const uint8_t *v, size_t n)
{
    struct mpic_caa_issue_value iv;
    mpic_caa_parse_issue_value(v, n, &iv);
    size_t len = strnlen(iv.issuer, sizeof iv.issuer);
    check(len < sizeof iv.issuer && len <= 253);
    if (iv.malformed) {
        check(len == 0 && iv.n_params == 0);
        return;
    }
    check(iv.n_params <= MPIC_CAA_MAX_PARAMS);
    for (size_t i = 0; i < len; i++)
        check(issuer_char_ok(iv.issuer[i]));
    if (len > 0)
        check(iv.issuer[0] != '.' && iv.issuer[len - 1] != '.' && strstr(iv.issuer, "..") == NULL);
    for (size_t i = 0; i < iv.n_params; i++) {
        check(strnlen(iv.params[i].tag, sizeof iv.params[i].tag) < sizeof iv.params[i].tag);
        check(iv.params[i].tag[0] != '\0');
        check(strnlen(iv.params[i].value, sizeof iv.params[i].value) < sizeof iv.params[i].value);
        check(strchr(iv.params[i].value, ';') == NULL && strchr(iv.params[i].value, ' ') == NULL);
    }
    /* A value that is a bare issuer must come back as itself, lower-cased. */
    if (memchr(v, ';', n) == NULL && memchr(v, ' ', n) == NULL && memchr(v, '\t', n) == NULL) {
        check(len == n && iv.n_params == 0);
        for (size_t i = 0; i < n; i++) {
            uint8_t c = v[i];
            if (c >= 'A' && c <= 'Z')
                c = (uint8_t)(c - 'A' + 'a');
            check((uint8_t)iv.issuer[i] == c);
        }
    }
}

static void check_format(const struct mpic_caa_record *r)
{
    char *s = mpic_caa_record_format(r);
    check(s != NULL);
    size_t len = strlen(s);
    check(len <= 4 + 4 * r->tag_len + 2 + 4 * r->value_len + 2);
    for (size_t i = 0; i < len; i++)
        check(s[i] >= 0x20 && s[i] <= 0x7e);
    check(len >= 2 && s[len - 1] == '"');
    free(s);
}

static void check_climb(const uint8_t *data, size_t size)
{
    char *target = malloc(size + 1);
    check(target != NULL);
    memcpy(target, data, size);
    target[size] = '\0';
    char *names[128];
    int n = mpic_caa_climb_names(target, names, 128);
    check(n >= -1 && n <= 128);
    for (int i = 0; i < n; i++) {
        check(names[i][0] != '\0');
        if (i > 0) {
            size_t a = strlen(names[i - 1]);
            size_t b = strlen(names[i]);
            check(b < a && strcmp(names[i - 1] + (a - b), names[i]) == 0 && names[i - 1][a - b - 1] == '.');
        }
    }
    if (n > 0)
        check(strchr(names[n - 1], '.') == NULL);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(target);
}

static void check_select(const uint8_t *data, size_t size)
{
    enum mpic_caa_level levels[32];
    size_t n = size < 32 ? size : 32;
    for (size_t i = 0; i < n; i++)
        levels[i] = (enum mpic_caa_level)(data[i] & 3);
    int got = mpic_caa_select_level(levels, n);
    size_t first = 0;
    while (first < n && levels[first] == MPIC_CAA_LEVEL_EMPTY)
        first++;
    if (first == n)
        check(got == MPIC_CAA_SELECT_EMPTY);
    else if (levels[first] == MPIC_CAA_LEVEL_RECORDS)
        check(got == (int)first);
    else if (levels[first] == MPIC_CAA_LEVEL_ERROR)
        check(got == MPIC_CAA_SELECT_ERROR);
    else
        check(got == MPIC_CAA_SELECT_PENDING);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_parse(data, size);
    check_climb(data, size);
    check_select(data, size);
    if (size < 1)
        return 0;

    uint8_t opts = data[0];
    size_t pos = 1;
    struct mpic_caa_record recs[MAX_RECORDS];
    size_t n = 0;
    while (n < MAX_RECORDS && pos + 4 <= size) {
        uint8_t flags = data[pos];
        size_t tag_len = data[pos + 1];
        size_t value_len = (size_t)data[pos + 2] << 8 | data[pos + 3];
        pos += 4;
        if (tag_len > size - pos)
            tag_len = size - pos;
        const uint8_t *tag = data + pos;
        pos += tag_len;
        if (value_len > size - pos)
            value_len = size - pos;
        const uint8_t *value = data + pos;
        pos += value_len;
        recs[n] = (struct mpic_caa_record){ flags, copy_octets(tag, tag_len), tag_len,
                                            copy_octets(value, value_len), value_len };
        n++;
    }

    static const char *const issuers[] = { "ca.example", "a", "ca.example.net" };
    struct mpic_caa_query q = {
        .wildcard = (opts & 1) != 0,
        .cert_type = (opts & 2) != 0 ? MPIC_CERT_SMIME : MPIC_CERT_TLS_SERVER,
        .issuer_domains = issuers,
        .n_issuer_domains = 3,
        .account_uri = (opts & 8) != 0 ? "acct:1" : NULL,
        .validation_method = (opts & 16) != 0 ? "dns-01" : NULL,
        .flag1_is_critical = (opts & 4) != 0,
    };
    struct mpic_caa_decision d = mpic_caa_evaluate(recs, n, &q);
    bool permit_reason = d.reason == MPIC_CAA_NO_RECORDS || d.reason == MPIC_CAA_NO_RESTRICTING_TAGS ||
                         d.reason == MPIC_CAA_ISSUER_MATCHED;
    check(d.permitted == permit_reason);
    check(d.reason != MPIC_CAA_NOT_APPLICABLE);
    check(mpic_caa_reason_text(d.reason) != NULL);

    /* Fail-closed monotonicity: with no issuer of ours, nothing can match. */
    struct mpic_caa_query none = q;
    none.n_issuer_domains = 0;
    struct mpic_caa_decision d0 = mpic_caa_evaluate(recs, n, &none);
    check(d0.reason != MPIC_CAA_ISSUER_MATCHED);
    if (!d.permitted)
        check(!d0.permitted);

    for (size_t i = 0; i < n; i++) {
        check_parse(recs[i].value, recs[i].value_len);
        check_format(&recs[i]);
        free((void *)recs[i].tag);
        free((void *)recs[i].value);
    }
    return 0;
}
