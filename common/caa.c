/* CAA decisions (RFC 8659 §3-4, RFC 8657, RFC 9495 §4) as pure functions.
 *
 * Everything here fails closed: a value that does not match the RFC 8659
 * ABNF, or that would not fit our fixed-size parse buffers, is an empty
 * issuer and authorises nothing; an unknown critical tag denies; a lookup
 * error below the first non-empty level hides the answer and is an error.
 * Character classes are plain ASCII on purpose: the locale must never change
 * what a DNS record means. */
#include "caa.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER_MAX 253 /* longest DNS name in presentation form, no trailing dot */

static bool is_alpha(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(uint8_t c)
{
    return is_alpha(c) || is_digit(c);
}

static bool is_wsp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static uint8_t to_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

/* Case-insensitive comparison of n octets against a NUL-terminated name. */
static bool equals_nocase(const uint8_t *s, size_t n, const char *name)
{
    size_t len = strlen(name);
    if (n != len)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (to_lower(s[i]) != to_lower((uint8_t)name[i]))
            return false;
    }
    return true;
}

static size_t skip_wsp(const uint8_t *v, size_t len, size_t pos)
{
    while (pos < len && is_wsp(v[pos]))
        pos++;
    return pos;
}

/* Scans label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)) at pos and returns
 * its end, or pos itself when no label starts there or the run of letters,
 * digits and hyphens ends in a hyphen (then nothing valid can follow). */
static size_t scan_label(const uint8_t *v, size_t len, size_t pos)
{
    if (pos >= len || !is_alnum(v[pos]))
        return pos;
    size_t end = pos;
    while (end < len && (is_alnum(v[end]) || v[end] == '-'))
        end++;
    if (v[end - 1] == '-')
        return pos;
    return end;
}

/* value = *(%x21-3A / %x3C-7E): visible ASCII except ';'. */
static bool is_param_value_char(uint8_t c)
{
    return c >= 0x21 && c <= 0x7e && c != ';';
}

static void set_malformed(struct mpic_caa_issue_value *out)
{
    out->malformed = true;
    out->issuer[0] = '\0';
    out->n_params = 0;
}

/* Parses "tag *WSP = *WSP value" at *pos into out's next slot. */
static bool parse_parameter(const uint8_t *v, size_t len, size_t *pos,
                            struct mpic_caa_issue_value *out)
{
    size_t p = *pos;
    size_t tag_end = scan_label(v, len, p);
    if (tag_end == p)
        return false;
    if (out->n_params >= MPIC_CAA_MAX_PARAMS)
        return false;
    struct mpic_caa_param *param = &out->params[out->n_params];
    size_t tag_len = tag_end - p;
    if (tag_len >= sizeof param->tag)
        return false;
    memcpy(param->tag, v + p, tag_len);
    param->tag[tag_len] = '\0';

    p = skip_wsp(v, len, tag_end);
    if (p >= len || v[p] != '=')
        return false;
    p = skip_wsp(v, len, p + 1);

    size_t value_start = p;
    while (p < len && is_param_value_char(v[p]))
        p++;
    size_t value_len = p - value_start;
    if (value_len >= sizeof param->value)
        return false;
    memcpy(param->value, v + value_start, value_len);
    param->value[value_len] = '\0';

    out->n_params++;
    *pos = p;
    return true;
}

void mpic_caa_parse_issue_value(const uint8_t *value, size_t len, struct mpic_caa_issue_value *out)
{
    out->malformed = false;
    out->issuer[0] = '\0';
    out->n_params = 0;

    size_t pos = skip_wsp(value, len, 0);

    /* issuer-domain-name = label *("." label); a dot must be followed by a
     * label, so "ca.example." (trailing dot) is malformed. */
    size_t issuer_start = pos;
    size_t end = scan_label(value, len, pos);
    if (end != pos) {
        pos = end;
        while (pos < len && value[pos] == '.') {
            end = scan_label(value, len, pos + 1);
            if (end == pos + 1) {
                set_malformed(out);
                return;
            }
            pos = end;
        }
        size_t issuer_len = pos - issuer_start;
        if (issuer_len > ISSUER_MAX) {
            set_malformed(out);
            return;
        }
        for (size_t i = 0; i < issuer_len; i++)
            out->issuer[i] = (char)to_lower(value[issuer_start + i]);
        out->issuer[issuer_len] = '\0';
        pos = skip_wsp(value, len, pos);
    }

    if (pos == len)
        return;
    if (value[pos] != ';') {
        set_malformed(out);
        return;
    }
    pos = skip_wsp(value, len, pos + 1);
    if (pos == len)
        return;

    /* parameters = (parameter *WSP ";" *WSP parameters) / parameter: every
     * ';' after the first must be followed by another parameter. */
    for (;;) {
        if (!parse_parameter(value, len, &pos, out)) {
            set_malformed(out);
            return;
        }
        pos = skip_wsp(value, len, pos);
        if (pos == len)
            return;
        if (value[pos] != ';') {
            set_malformed(out);
            return;
        }
        pos = skip_wsp(value, len, pos + 1);
    }
}

/* Property tags RFC 8659, RFC 9495, RFC 8657's companions and Boulder know;
 * none of these may ever trigger the unknown-critical block. */
static const char *const known_tags[] = {
    "issue", "issuewild", "iodef", "issuemail", "contactemail", "contactphone", "issuevmc",
};

static bool tag_is(const struct mpic_caa_record *r, const char *name)
{
    return equals_nocase(r->tag, r->tag_len, name);
}

static bool tag_is_known(const struct mpic_caa_record *r)
{
    for (size_t i = 0; i < sizeof known_tags / sizeof known_tags[0]; i++) {
        if (tag_is(r, known_tags[i]))
            return true;
    }
    return false;
}

static bool ascii_equal_nocase(const char *a, const char *b)
{
    return equals_nocase((const uint8_t *)a, strlen(a), b);
}

static bool issuer_is_ours(const char *issuer, const struct mpic_caa_query *q)
{
    if (issuer[0] == '\0')
        return false;
    for (size_t i = 0; i < q->n_issuer_domains; i++) {
        const char *ours = q->issuer_domains[i];
        if (ours != NULL && ours[0] != '\0' && ascii_equal_nocase(issuer, ours))
            return true;
    }
    return false;
}

/* RFC 8657 §4: value = [*(label ",") label], label = 1*(ALPHA / DIGIT / "-").
 * A list that does not parse makes the property unsatisfiable. */
static bool method_list_contains(const char *list, const char *method)
{
    bool found = false;
    const char *p = list;
    for (;;) {
        const char *start = p;
        while (is_alnum((uint8_t)*p) || *p == '-')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0)
            return false;
        if (strlen(method) == n && memcmp(start, method, n) == 0)
            found = true;
        if (*p == '\0')
            return found;
        if (*p != ',')
            return false;
        p++;
    }
}

static bool parameters_permit(const struct mpic_caa_issue_value *iv, const struct mpic_caa_query *q)
{
    const char *account = NULL;
    const char *methods = NULL;
    size_t n_account = 0;
    size_t n_methods = 0;
    for (size_t i = 0; i < iv->n_params; i++) {
        const struct mpic_caa_param *p = &iv->params[i];
        if (ascii_equal_nocase(p->tag, "accounturi")) {
            account = p->value;
            n_account++;
        } else if (ascii_equal_nocase(p->tag, "validationmethods")) {
            methods = p->value;
            n_methods++;
        }
    }
    if (n_account > 1 || n_methods > 1)
        return false;
    if (account != NULL && (q->account_uri == NULL || strcmp(account, q->account_uri) != 0))
        return false;
    if (methods != NULL) {
        if (q->validation_method == NULL)
            return false;
        if (!method_list_contains(methods, q->validation_method))
            return false;
    }
    return true;
}

static bool record_counts(const struct mpic_caa_record *r, const struct mpic_caa_query *q,
                          bool have_issuewild)
{
    if (q->cert_type == MPIC_CERT_SMIME)
        return tag_is(r, "issuemail");
    if (q->wildcard && have_issuewild)
        return tag_is(r, "issuewild");
    return tag_is(r, "issue");
}

struct mpic_caa_decision mpic_caa_evaluate(const struct mpic_caa_record *records, size_t n,
                                           const struct mpic_caa_query *q)
{
    struct mpic_caa_decision d = { .permitted = true, .reason = MPIC_CAA_NO_RECORDS };
    if (n == 0)
        return d;

    uint8_t critical_mask = MPIC_CAA_FLAG_CRITICAL | (q->flag1_is_critical ? 0x01 : 0x00);
    bool have_issuewild = false;
    for (size_t i = 0; i < n; i++) {
        const struct mpic_caa_record *r = &records[i];
        if (!tag_is_known(r) && (r->flags & critical_mask) != 0) {
            d.permitted = false;
            d.reason = MPIC_CAA_CRITICAL_UNKNOWN_TAG;
            return d;
        }
        if (tag_is(r, "issuewild"))
            have_issuewild = true;
    }

    bool restricted = false;
    struct mpic_caa_issue_value iv;
    for (size_t i = 0; i < n; i++) {
        const struct mpic_caa_record *r = &records[i];
        if (!record_counts(r, q, have_issuewild))
            continue;
        restricted = true;
        mpic_caa_parse_issue_value(r->value, r->value_len, &iv);
        if (iv.malformed || !issuer_is_ours(iv.issuer, q))
            continue;
        if (parameters_permit(&iv, q)) {
            d.reason = MPIC_CAA_ISSUER_MATCHED;
            return d;
        }
    }
    if (!restricted) {
        d.reason = MPIC_CAA_NO_RESTRICTING_TAGS;
        return d;
    }
    d.permitted = false;
    d.reason = MPIC_CAA_NO_MATCHING_ISSUER;
    return d;
}

const char *mpic_caa_reason_text(enum mpic_caa_reason reason)
{
    switch (reason) {
    case MPIC_CAA_NO_RECORDS:
        return "no CAA records found; issuance permitted";
    case MPIC_CAA_NO_RESTRICTING_TAGS:
        return "CAA records present but none restrict this certificate type; issuance permitted";
    case MPIC_CAA_ISSUER_MATCHED:
        return "a CAA property authorises one of our issuer domains; issuance permitted";
    case MPIC_CAA_CRITICAL_UNKNOWN_TAG:
        return "a CAA record with an unknown tag is marked critical; issuance denied";
    case MPIC_CAA_NO_MATCHING_ISSUER:
        return "CAA properties restrict issuance and none authorises our issuer domains; issuance denied";
    case MPIC_CAA_NOT_APPLICABLE:
        return "CAA does not apply to IP address targets; issuance permitted";
    }
    return "unknown CAA reason";
}

/* Appends one octet as RFC 1035 §5.1 presentation text: '"' and '\' get a
 * backslash, octets outside printable ASCII (and, in tags, space) become \DDD. */
static size_t put_escaped(char *out, uint8_t c, bool escape_space)
{
    if (c == '"' || c == '\\') {
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if (c < 0x20 || c > 0x7e || (escape_space && c == ' ')) {
        out[0] = '\\';
        out[1] = (char)('0' + c / 100);
        out[2] = (char)('0' + c / 10 % 10);
        out[3] = (char)('0' + c % 10);
        return 4;
    }
    out[0] = (char)c;
    return 1;
}

char *mpic_caa_record_format(const struct mpic_caa_record *r)
{
    /* Worst case every octet becomes \DDD; "255 " + tag + " \"" + value + "\"" + NUL. */
    if (r->tag_len > (SIZE_MAX - 16) / 4 || r->value_len > (SIZE_MAX - 16) / 4 - r->tag_len)
        return NULL;
    size_t cap = 4 + 4 * r->tag_len + 2 + 4 * r->value_len + 2 + 1;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;

    unsigned flags = r->flags;
    size_t pos = 0;
    if (flags >= 100)
        s[pos++] = (char)('0' + flags / 100);
    if (flags >= 10)
        s[pos++] = (char)('0' + flags / 10 % 10);
    s[pos++] = (char)('0' + flags % 10);
    s[pos++] = ' ';
    for (size_t i = 0; i < r->tag_len; i++)
        pos += put_escaped(s + pos, r->tag[i], true);
    s[pos++] = ' ';
    s[pos++] = '"';
    for (size_t i = 0; i < r->value_len; i++)
        pos += put_escaped(s + pos, r->value[i], false);
    s[pos++] = '"';
    s[pos] = '\0';
    return s;
}

/* A label we are willing to query for: 1-63 octets, not "*" (a wildcard is
 * only meaningful as the leftmost label, which the caller strips). */
static bool climb_label_ok(const char *label, size_t n)
{
    return n >= 1 && n <= 63 && !(n == 1 && label[0] == '*');
}

int mpic_caa_climb_names(const char *target, char **names, size_t max)
{
    if (target == NULL || names == NULL)
        return -1;
    if (target[0] == '*' && target[1] == '.')
        target += 2;
    size_t len = strlen(target);
    if (len == 0 || len > ISSUER_MAX)
        return -1;

    size_t n_labels = 0;
    const char *label = target;
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t n = dot != NULL ? (size_t)(dot - label) : strlen(label);
        if (!climb_label_ok(label, n))
            return -1;
        n_labels++;
        if (dot == NULL)
            break;
        label = dot + 1;
    }
    if (n_labels > max)
        return -1;

    size_t count = 0;
    const char *name = target;
    while (count < n_labels) {
        size_t n = strlen(name);
        char *copy = malloc(n + 1);
        if (copy == NULL)
            goto fail;
        for (size_t i = 0; i < n; i++)
            copy[i] = (char)to_lower((uint8_t)name[i]);
        copy[n] = '\0';
        names[count++] = copy;
        const char *dot = strchr(name, '.');
        if (dot == NULL)
            break;
        name = dot + 1;
    }
    return (int)count;

fail:
    while (count > 0)
        free(names[--count]);
    return -1;
}

int mpic_caa_select_level(const enum mpic_caa_level *levels, size_t n)
{
    /* Only the first level that is not empty decides: records there are the
     * relevant RRset; an error there may have hidden records; a pending one
     * may still turn out either way. Later levels can never matter. */
    for (size_t i = 0; i < n; i++) {
        switch (levels[i]) {
        case MPIC_CAA_LEVEL_EMPTY:
            continue;
        case MPIC_CAA_LEVEL_RECORDS:
            return i > (size_t)INT_MAX ? MPIC_CAA_SELECT_ERROR : (int)i;
        case MPIC_CAA_LEVEL_PENDING:
            return MPIC_CAA_SELECT_PENDING;
        case MPIC_CAA_LEVEL_ERROR:
            return MPIC_CAA_SELECT_ERROR;
        }
        return MPIC_CAA_SELECT_ERROR;
    }
    return MPIC_CAA_SELECT_EMPTY;
}

const char *mpic_caa_method_label(const char *method)
{
    static const char *const map[][2] = {
        { "acme-http-01", "http-01" },        { "acme-dns-01", "dns-01" },
        { "acme-tls-alpn-01", "tls-alpn-01" }, { "dns-account-01", "dns-account-01" },
        { "dns-persistent", "dns-persist-01" }, { "dns-change", "ca-tbr-7" },
        { "ip-address", "ca-tbr-8" },           { "contact-email-caa", "ca-tbr-13" },
        { "contact-email-txt", "ca-tbr-14" },   { "contact-phone-txt", "ca-tbr-16" },
        { "contact-phone-caa", "ca-tbr-17" },   { "website-change", "ca-tbr-18" },
    };
    for (size_t i = 0; method != NULL && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(method, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}
