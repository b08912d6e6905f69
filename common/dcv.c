/* The DCV matching rules: given what a perspective observed (an HTTP body, a
 * TXT/CAA value, an address), decide whether it corroborates the request.
 *
 * Everything here fails closed. A missing or empty expected value matches
 * nothing (an empty challenge would otherwise be a substring of every body),
 * a value we cannot parse does not validate, and a regex that exceeds its
 * budget is an error rather than "no match". Case folding is ASCII only on
 * purpose: the locale must never change whether a domain validates. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "dcv.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <pcre2.h>

#include "caa.h"

/* Budgets for one website-change regex evaluation. The match limit bounds
 * backtracking steps (about a few milliseconds of work), the depth limit the
 * nesting of backtracking points, the heap limit (KiB) the memory behind it. */
#define REGEX_MATCH_LIMIT 100000u
#define REGEX_DEPTH_LIMIT 10000u
#define REGEX_HEAP_LIMIT_KIB 8192u

#define EMAIL_LOCAL_MAX 64
#define EMAIL_DOMAIN_MAX 255
#define DNS_LABEL_MAX 63
#define PHONE_DIGITS_MAX 15 /* E.164 */
#define PHONE_LEN_MAX 64

static uint8_t to_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool equal_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (to_lower((uint8_t)a[i]) != to_lower((uint8_t)b[i]))
            return false;
    }
    return true;
}

static bool streq_nocase(const char *a, const char *b)
{
    size_t n = strlen(a);
    return strlen(b) == n && equal_nocase(a, b, n);
}

static void set_why(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t why_len, const char *fmt, ...)
{
    if (why == NULL || why_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

bool mpic_dcv_http01_match(const char *body, size_t len, const char *key_authorization)
{
    if (body == NULL || key_authorization == NULL || key_authorization[0] == '\0')
        return false;
    while (len > 0) {
        char c = body[len - 1];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            break;
        len--;
    }
    return len == strlen(key_authorization) && memcmp(body, key_authorization, len) == 0;
}

/* A NUL octet cannot be carried in the C string we return: "abc\0xyz" would
 * read as "abc" and pass an exact match for "abc". Such a value is refused
 * (NULL) and the caller fails closed, as it does on allocation failure. */
char *mpic_dcv_txt_join(const uint8_t *const *strings, const size_t *lens, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > SIZE_MAX - 1 - total)
            return NULL;
        if (lens[i] > 0 && memchr(strings[i], '\0', lens[i]) != NULL)
            return NULL;
        total += lens[i];
    }
    char *s = malloc(total + 1);
    if (s == NULL)
        return NULL;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] > 0)
            memcpy(s + pos, strings[i], lens[i]);
        pos += lens[i];
    }
    s[pos] = '\0';
    return s;
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t hn = strlen(hay);
    size_t nn = strlen(needle);
    for (size_t i = 0; nn <= hn && i <= hn - nn; i++) {
        if (equal_nocase(hay + i, needle, nn))
            return true;
    }
    return false;
}

bool mpic_dcv_value_match(const char *observed, const char *expected, bool exact, bool exact_case)
{
    if (observed == NULL || expected == NULL || expected[0] == '\0')
        return false;
    if (exact)
        return exact_case ? strcmp(observed, expected) == 0 : streq_nocase(observed, expected);
    return exact_case ? strstr(observed, expected) != NULL : contains_nocase(observed, expected);
}

struct ip {
    int family;
    unsigned char bytes[16];
};

static bool parse_ip(const char *s, struct ip *out)
{
    if (s == NULL)
        return false;
    if (inet_pton(AF_INET, s, out->bytes) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, out->bytes) == 1) {
        out->family = AF_INET6;
        return true;
    }
    return false;
}

/* Addresses, not spellings: "2001:db8::1" equals "2001:DB8:0:0::1". An
 * IPv4-mapped IPv6 address is a different address from the IPv4 one it
 * carries: an AAAA record holding ::ffff:a.b.c.d is not an A record for
 * a.b.c.d, and BR 3.2.2.4.8 compares the addresses the DNS returned. */
bool mpic_dcv_ip_match(const char *observed, const char *expected)
{
    struct ip a, b;
    if (!parse_ip(observed, &a) || !parse_ip(expected, &b) || a.family != b.family)
        return false;
    size_t n = a.family == AF_INET ? 4 : 16;
    return memcmp(a.bytes, b.bytes, n) == 0;
}

size_t mpic_dcv_base32(const uint8_t *in, size_t n, char *buf, size_t len)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    if (n > (SIZE_MAX - 4) / 8) {
        if (len > 0)
            buf[0] = '\0';
        return 0;
    }
    size_t out_len = (n * 8 + 4) / 5;
    if (len == 0 || out_len >= len) {
        if (len > 0)
            buf[0] = '\0';
        return 0;
    }
    size_t pos = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8 | in[i]) & 0xfffu;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            buf[pos++] = alphabet[(acc >> bits) & 31u];
        }
    }
    if (bits > 0)
        buf[pos++] = alphabet[(acc << (5 - bits)) & 31u];
    buf[pos] = '\0';
    return pos;
}

void mpic_dcv_account_label(const char *account_uri, char *buf, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (len == 0)
        return;
    buf[0] = '\0';
    if (account_uri == NULL || len < 18)
        return;
    if (EVP_Digest(account_uri, strlen(account_uri), md, &md_len, EVP_sha256(), NULL) != 1 || md_len < 10)
        return;
    buf[0] = '_';
    if (mpic_dcv_base32(md, 10, buf + 1, len - 1) != 16)
        buf[0] = '\0';
}

/* Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) of a non-ASCII character at s, or 0. */
static size_t utf8_seq(const uint8_t *s, size_t avail)
{
    uint8_t c = s[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

/* RFC 5322 §3.2.3 atext. */
static bool is_atext(uint8_t c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot-atom-text = 1*atext *("." 1*atext), atext widened by RFC 6532 §3.2 to
 * UTF8-non-ascii. */
static bool local_dot_atom_ok(const uint8_t *s, size_t n)
{
    bool need_atext = true;
    for (size_t i = 0; i < n;) {
        if (s[i] == '.') {
            if (need_atext)
                return false;
            need_atext = true;
            i++;
        } else if (s[i] < 0x80) {
            if (!is_atext(s[i]))
                return false;
            need_atext = false;
            i++;
        } else {
            size_t k = utf8_seq(s + i, n - i);
            if (k == 0)
                return false;
            need_atext = false;
            i += k;
        }
    }
    return !need_atext;
}

/* quoted-string without the CFWS around it: DQUOTE *([FWS] qcontent) [FWS]
 * DQUOTE, where FWS is reduced to SP/HTAB (no line folding in a DNS value),
 * qtext is widened to UTF8-non-ascii, and the content must not be empty. */
static bool local_quoted_ok(const uint8_t *s, size_t n)
{
    if (n < 3 || s[0] != '"' || s[n - 1] != '"')
        return false;
    for (size_t i = 1; i < n - 1;) {
        uint8_t c = s[i];
        if (c == '\\') {
            if (i + 1 >= n - 1)
                return false;
            uint8_t q = s[i + 1];
            if (!((q >= 0x21 && q <= 0x7e) || q == ' ' || q == '\t'))
                return false;
            i += 2;
        } else if (c == '"') {
            return false;
        } else if (c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7e)) {
            i++;
        } else if (c >= 0x80) {
            size_t k = utf8_seq(s + i, n - 1 - i);
            if (k == 0)
                return false;
            i += k;
        } else {
            return false;
        }
    }
    return true;
}

/* One domain label: an LDH label or a U-label (LDH plus UTF-8 non-ASCII
 * characters). 1..63 octets, no hyphen at either end. IDNA2008's finer rules
 * are not checked: a label we accept must still resolve to be useful. */
static bool domain_label_ok(const uint8_t *s, size_t n, bool *numeric)
{
    if (n == 0 || n > DNS_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
        return false;
    *numeric = true;
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
                return false;
            if (!is_digit(s[i]))
                *numeric = false;
            i++;
        } else {
            size_t k = utf8_seq(s + i, n - i);
            if (k == 0)
                return false;
            *numeric = false;
            i += k;
        }
    }
    return true;
}

/* At least two labels and a top-level label that is not all digits
 * (RFC 3696 §2), so neither "user@localhost" nor "user@10.0.0.1" passes;
 * address literals ("[...]") are not accepted as contact addresses. */
static bool email_domain_ok(const uint8_t *s, size_t n)
{
    if (n == 0 || n > EMAIL_DOMAIN_MAX)
        return false;
    size_t labels = 0;
    bool numeric = false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!domain_label_ok(s + start, i - start, &numeric))
                return false;
            labels++;
            start = i + 1;
        }
    }
    return labels >= 2 && !numeric;
}

bool mpic_dcv_contact_email_valid(const char *str)
{
    if (str == NULL)
        return false;
    const uint8_t *s = (const uint8_t *)str;
    size_t n = strlen(str);
    /* The domain cannot contain '@' and the quoted local part may, so the
     * separator is the last '@'. */
    const uint8_t *at = NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '@')
            at = s + i;
    }
    if (at == NULL)
        return false;
    size_t local_len = (size_t)(at - s);
    if (local_len == 0 || local_len > EMAIL_LOCAL_MAX)
        return false;
    bool local_ok = s[0] == '"' ? local_quoted_ok(s, local_len) : local_dot_atom_ok(s, local_len);
    return local_ok && email_domain_ok(at + 1, n - local_len - 1);
}

/* RFC 3966 §5.1.4 global-number-digits = "+" *phonedigit DIGIT *phonedigit,
 * phonedigit = DIGIT / visual-separator ("-" "." "(" ")"), plus the single
 * space BR Appendix A allows as a separator. The whole value is the number:
 * no leading or trailing space, no ";ext=" or other parameters. 1..15 digits
 * (E.164) and at most 64 octets in all. */
bool mpic_dcv_contact_phone_valid(const char *s)
{
    if (s == NULL || s[0] != '+')
        return false;
    size_t n = strlen(s);
    if (n > PHONE_LEN_MAX || s[n - 1] == ' ')
        return false;
    size_t digits = 0;
    for (size_t i = 1; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (is_digit(c))
            digits++;
        else if (c != '-' && c != '.' && c != '(' && c != ')' && c != ' ')
            return false;
    }
    return digits >= 1 && digits <= PHONE_DIGITS_MAX;
}

/* persistUntil = 1*DIGIT, a base-10 UNIX time that must fit in int64. */
static bool parse_persist_until(const char *v, int64_t *out)
{
    if (v[0] == '\0')
        return false;
    int64_t t = 0;
    for (const char *p = v; *p != '\0'; p++) {
        if (!is_digit((uint8_t)*p))
            return false;
        int d = *p - '0';
        if (t > (INT64_MAX - d) / 10)
            return false;
        t = t * 10 + d;
    }
    *out = t;
    return true;
}

static bool issuer_listed(const char *issuer, const struct mpic_strv *issuer_domains)
{
    if (issuer[0] == '\0' || issuer_domains == NULL)
        return false;
    for (size_t i = 0; i < issuer_domains->n; i++) {
        const char *d = issuer_domains->v[i];
        if (d != NULL && d[0] != '\0' && streq_nocase(issuer, d))
            return true;
    }
    return false;
}

bool mpic_dcv_persist_match(const char *txt, const struct mpic_strv *issuer_domains,
                            const char *expected_account_uri, bool wildcard, time_t now, char *why, size_t why_len)
{
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (txt == NULL) {
        set_why(why, why_len, "no TXT value");
        return false;
    }
    if (expected_account_uri == NULL || expected_account_uri[0] == '\0') {
        set_why(why, why_len, "no expected account URI");
        return false;
    }

    struct mpic_caa_issue_value iv;
    mpic_caa_parse_issue_value((const uint8_t *)txt, strlen(txt), &iv);
    if (iv.malformed) {
        set_why(why, why_len, "TXT value is not a valid issue-value: %s", txt);
        return false;
    }
    if (!issuer_listed(iv.issuer, issuer_domains)) {
        set_why(why, why_len, "issuer \"%s\" is not one of the issuer domain names", iv.issuer);
        return false;
    }

    const char *account = NULL, *policy = NULL, *until = NULL;
    for (size_t i = 0; i < iv.n_params; i++) {
        const struct mpic_caa_param *prm = &iv.params[i];
        const char **slot;
        if (streq_nocase(prm->tag, "accounturi"))
            slot = &account;
        else if (streq_nocase(prm->tag, "policy"))
            slot = &policy;
        else if (streq_nocase(prm->tag, "persistuntil"))
            slot = &until;
        else
            continue; /* unknown parameters are ignored */
        if (*slot != NULL) {
            set_why(why, why_len, "parameter %s appears more than once", prm->tag);
            return false;
        }
        *slot = prm->value;
    }

    if (account == NULL) {
        set_why(why, why_len, "no accounturi parameter");
        return false;
    }
    if (strcmp(account, expected_account_uri) != 0) {
        set_why(why, why_len, "accounturi \"%s\" is not the expected account URI", account);
        return false;
    }
    if (until != NULL) {
        int64_t t;
        if (!parse_persist_until(until, &t)) {
            set_why(why, why_len, "persistUntil \"%s\" is not a base-10 integer", until);
            return false;
        }
        if ((int64_t)now > t) {
            set_why(why, why_len, "persistUntil %s is in the past", until);
            return false;
        }
    }
    if (wildcard && (policy == NULL || !streq_nocase(policy, "wildcard"))) {
        set_why(why, why_len, "wildcard target needs policy=wildcard, found \"%s\"", policy != NULL ? policy : "(none)");
        return false;
    }
    return true;
}

int mpic_dcv_regex_match(const char *pattern, const char *subject, size_t len, char *why, size_t why_len)
{
    if (why != NULL && why_len > 0)
        why[0] = '\0';
    if (pattern == NULL) {
        set_why(why, why_len, "no regex");
        return -1;
    }
    if (subject == NULL) {
        subject = "";
        len = 0;
    }

    int rc = -1;
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    PCRE2_UCHAR msg[256];
    pcre2_match_context *mctx = NULL;
    pcre2_match_data *md = NULL;

    /* Byte-wise matching: (*UTF) in the pattern is refused so that a body
     * that is not valid UTF-8 can never turn into a matcher error. */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF, &errcode,
                                   &erroff, NULL);
    if (re == NULL) {
        pcre2_get_error_message(errcode, msg, sizeof msg);
        set_why(why, why_len, "match_regex does not compile at offset %zu: %s", (size_t)erroff, (const char *)msg);
        return -1;
    }
    mctx = pcre2_match_context_create(NULL);
    md = pcre2_match_data_create_from_pattern(re, NULL);
    if (mctx == NULL || md == NULL) {
        set_why(why, why_len, "out of memory evaluating match_regex");
        goto done;
    }
    pcre2_set_match_limit(mctx, REGEX_MATCH_LIMIT);
    pcre2_set_depth_limit(mctx, REGEX_DEPTH_LIMIT);
    pcre2_set_heap_limit(mctx, REGEX_HEAP_LIMIT_KIB);

    int m = pcre2_match(re, (PCRE2_SPTR)subject, len, 0, 0, md, mctx);
    if (m >= 0) {
        rc = 1;
    } else if (m == PCRE2_ERROR_NOMATCH) {
        rc = 0;
    } else if (m == PCRE2_ERROR_MATCHLIMIT || m == PCRE2_ERROR_DEPTHLIMIT || m == PCRE2_ERROR_HEAPLIMIT) {
        set_why(why, why_len, "match_regex exceeded its matching budget (match, depth or heap limit)");
    } else {
        pcre2_get_error_message(m, msg, sizeof msg);
        set_why(why, why_len, "match_regex failed: %s", (const char *)msg);
    }

done:
    pcre2_match_data_free(md);
    pcre2_match_context_free(mctx);
    pcre2_code_free(re);
    return rc;
}
