/* libFuzzer target for common/dcv.c and common/netaddr.c: runs every string
 * matcher and the dns-persistent evaluator on the input and aborts when a
 * result breaks a property the agent relies on (exact implies substring,
 * case-sensitive implies case-insensitive, persist results monotonic in time
 * and in the wildcard flag, mapped IPv6 judged like its IPv4, ...).
 *
 * Input layout: one option byte, then the rest split at the first 0x00 into
 * "observed" and "expected". Each is copied into an allocation of its exact
 * size so that ASan sees any read past its end. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dcv.h"
#include "netaddr.h"

#define REGEX_SUBJECT_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static char *copy_str(const uint8_t *p, size_t n)
{
    char *c = malloc(n + 1);
    check(c != NULL);
    if (n > 0)
        memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

static void check_value_match(const char *obs, const char *exp)
{
    bool es = mpic_dcv_value_match(obs, exp, true, true);
    bool ei = mpic_dcv_value_match(obs, exp, true, false);
    bool ss = mpic_dcv_value_match(obs, exp, false, true);
    bool si = mpic_dcv_value_match(obs, exp, false, false);
    check(es == (exp[0] != '\0' && strcmp(obs, exp) == 0));
    check(!es || ei);
    check(!es || ss);
    check(!ss || si);
    check(!ei || si);
    check(ss == (exp[0] != '\0' && strstr(obs, exp) != NULL));
    if (exp[0] == '\0')
        check(!si);
}

static void check_http01(const char *body, size_t len, const char *ka)
{
    bool m = mpic_dcv_http01_match(body, len, ka);
    if (!m)
        return;
    size_t n = strlen(ka);
    check(n > 0 && n <= len && memcmp(body, ka, n) == 0);
    for (size_t i = n; i < len; i++)
        check(body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n');
}

static void check_ip(const char *a, const char *b)
{
    bool ab = mpic_dcv_ip_match(a, b);
    check(ab == mpic_dcv_ip_match(b, a));
    if (ab) {
        check(mpic_dcv_ip_match(a, a));
        const char *wa = NULL, *wb = NULL;
        check(mpic_addr_is_reserved(a, &wa) == mpic_addr_is_reserved(b, &wb));
        check(wa != NULL && wb != NULL && strcmp(wa, wb) == 0);
    }
    const char *why = NULL;
    bool r = mpic_addr_is_reserved(a, &why);
    check(why != NULL);
    if (!mpic_dcv_ip_match(a, a))
        check(r); /* not a literal */
    /* An IPv4 literal and its mapped / NAT64 spellings get one verdict. */
    if (mpic_dcv_ip_match(a, a) && strchr(a, ':') == NULL && strlen(a) < 32) {
        char mapped[64], nat64[64];
        snprintf(mapped, sizeof mapped, "::ffff:%s", a);
        snprintf(nat64, sizeof nat64, "64:ff9b::%s", a);
        check(mpic_addr_is_reserved(mapped, NULL) == r);
        check(mpic_addr_is_reserved(nat64, NULL) == r);
    }
}

static void check_contacts(const char *s)
{
    if (mpic_dcv_contact_phone_valid(s)) {
        size_t n = strlen(s);
        check(s[0] == '+' && n >= 2 && s[n - 1] != ' ');
    }
    if (mpic_dcv_contact_email_valid(s)) {
        const char *at = strrchr(s, '@');
        check(at != NULL && at != s && at[1] != '\0');
        check(s[0] != ' ' && s[strlen(s) - 1] != ' ');
        check(strlen(at + 1) <= 255);
    }
}

static void check_labels(const uint8_t *data, size_t size, const char *s)
{
    char label[32];
    mpic_dcv_account_label(s, label, sizeof label);
    check(strlen(label) == 17 && label[0] == '_');
    for (size_t i = 1; i < 17; i++)
        check((label[i] >= 'a' && label[i] <= 'z') || (label[i] >= '2' && label[i] <= '7'));

    size_t n = size < 64 ? size : 64;
    char b32[128];
    size_t got = mpic_dcv_base32(data, n, b32, sizeof b32);
    check(got == (n * 8 + 4) / 5 && strlen(b32) == got);
    char small[8];
    got = mpic_dcv_base32(data, n, small, sizeof small);
    check(got == ((n * 8 + 4) / 5 < sizeof small ? (n * 8 + 4) / 5 : 0) && strlen(small) == got);
}

static void check_txt_join(const uint8_t *data, size_t size)
{
    /* Split into up to four character-strings of the input's own octets. */
    const uint8_t *parts[4];
    size_t lens[4];
    size_t n = 0, pos = 0;
    while (n < 4 && pos < size) {
        size_t l = data[pos] % 64;
        pos++;
        if (l > size - pos)
            l = size - pos;
        parts[n] = data + pos;
        lens[n] = l;
        pos += l;
        n++;
    }
    char *j = mpic_dcv_txt_join(parts, lens, n);
    size_t total = 0;
    bool has_nul = false;
    for (size_t i = 0; i < n; i++) {
        total += lens[i];
        if (lens[i] > 0 && memchr(parts[i], 0, lens[i]) != NULL)
            has_nul = true;
    }
    if (has_nul) {
        check(j == NULL);
        return;
    }
    check(j != NULL && strlen(j) == total);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        check(lens[i] == 0 || memcmp(j + off, parts[i], lens[i]) == 0);
        off += lens[i];
    }
    free(j);
}

static void check_persist(const char *txt, const char *acct, uint8_t opts)
{
    char *issuers[] = { "ca.example", "a" };
    struct mpic_strv iss = { issuers, 2 };
    const char *expected = (opts & 1) ? acct : "https://ca.example/acct/1";
    time_t now = (time_t)1800000000 + (time_t)(opts >> 4) - 8;
    char why[128];
    bool plain = mpic_dcv_persist_match(txt, &iss, expected, false, now, why, sizeof why);
    check(plain ? why[0] == '\0' : why[0] != '\0' && strlen(why) < sizeof why);
    bool wild = mpic_dcv_persist_match(txt, &iss, expected, true, now, NULL, 0);
    bool later = mpic_dcv_persist_match(txt, &iss, expected, false, now + 1, NULL, 0);
    bool earlier = mpic_dcv_persist_match(txt, &iss, expected, false, now - 1, NULL, 0);
    check(!wild || plain);
    check(!later || plain);
    check(!plain || earlier);
    if (plain) {
        check(expected[0] != '\0' && strstr(txt, expected) != NULL);
        struct mpic_strv none = { NULL, 0 };
        check(!mpic_dcv_persist_match(txt, &none, expected, false, now, NULL, 0));
    }
}

static void check_regex(const char *pattern, const char *subject)
{
    size_t len = strlen(subject);
    if (len > REGEX_SUBJECT_MAX)
        len = REGEX_SUBJECT_MAX;
    char why[128] = "";
    int r = mpic_dcv_regex_match(pattern, subject, len, why, sizeof why);
    check(r == -1 || r == 0 || r == 1);
    if (r == -1)
        check(why[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opts = data[0];
    const uint8_t *rest = data + 1;
    size_t rest_len = size - 1;
    const uint8_t *nul = memchr(rest, 0, rest_len);
    size_t a_len = nul != NULL ? (size_t)(nul - rest) : rest_len;
    size_t b_off = nul != NULL ? a_len + 1 : rest_len;
    char *a = copy_str(rest, a_len);
    char *b = copy_str(rest + b_off, rest_len - b_off);

    /* The body may hold NUL octets: give http-01 the raw bytes. */
    char *body = malloc(rest_len > 0 ? rest_len : 1);
    check(body != NULL);
    if (rest_len > 0)
        memcpy(body, rest, rest_len);

    check_value_match(a, b);
    check_value_match(b, a);
    check_http01(body, rest_len, b);
    check_http01(a, a_len, a);
    /* A key authorization without trailing whitespace matches itself plus a newline. */
    if (a_len > 0 && strchr(" \t\r\n", a[a_len - 1]) == NULL) {
        char *nl = copy_str((const uint8_t *)a, a_len + 1);
        nl[a_len] = '\n';
        check(mpic_dcv_http01_match(nl, a_len + 1, a));
        free(nl);
    }
    check_ip(a, b);
    check_contacts(a);
    check_labels(rest, rest_len, a);
    check_txt_join(rest, rest_len);
    check_persist(a, b, opts);
    if (opts & 2)
        check_regex(b, a);

    free(body);
    free(b);
    free(a);
    return 0;
}
