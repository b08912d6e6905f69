/* The observing side of the DNS DCV check (dcv_dns.c runs the lookups):
 * which name and type each method asks for, and how one answered record
 * becomes the records_seen string and a match or not. Kept apart, and pure,
 * so that the per-method rules read in one place and unit tests reach them;
 * the value matchers they share with other methods are in common/dcv.c. */
#include "dcv_dns_observe.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caa.h"
#include "dnsanswer.h"
#include "netaddr.h"
#include "utf8.h"

/* ---- presentation of what was observed ---- */

/* Valid UTF-8 (utf8.h) without control characters, C1 ones included. */
static bool utf8_printable(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = mpic_utf8_seq_len(s + i, len - i);
        if (n == 0 || s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && s[i + 1] < 0xa0))
            return false;
        i += n;
    }
    return true;
}

/* The observed bytes as text for records_seen: as they are when they are
 * printable UTF-8 (the usual case), else with '\' and every octet outside
 * 0x20-0x7e written as \DDD, so that JSON can carry any value. */
static char *present_bytes(const uint8_t *s, size_t len)
{
    if (len > (SIZE_MAX - 1) / 4)
        return NULL;
    char *out = malloc(4 * len + 1);
    if (out == NULL)
        return NULL;
    if (utf8_printable(s, len)) {
        memcpy(out, s, len);
        out[len] = '\0';
        return out;
    }
    size_t pos = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\') {
            out[pos++] = '\\';
            out[pos++] = '\\';
        } else if (s[i] >= 0x20 && s[i] < 0x7f) {
            out[pos++] = (char)s[i];
        } else {
            snprintf(out + pos, 5, "\\%03u", s[i]);
            pos += 4;
        }
    }
    out[pos] = '\0';
    return out;
}

/* A NUL-terminated copy of bytes, or NULL when they hold a NUL (such a value
 * can equal no challenge value, all of which are C strings). */
static char *value_string(const uint8_t *s, size_t len)
{
    if (memchr(s, 0, len) != NULL)
        return NULL;
    char *v = malloc(len + 1);
    if (v == NULL)
        return NULL;
    memcpy(v, s, len);
    v[len] = '\0';
    return v;
}

/* The character-strings of a TXT RR joined (RFC 8555 §8.4; the other TXT
 * methods read them as one value too). Unlike mpic_dcv_txt_join this keeps
 * a value holding a NUL octet, so that it still shows in records_seen (it
 * can match nothing). NULL on a malformed RR or out of memory. */
static uint8_t *txt_joined(const ldns_rr *rr, size_t *len)
{
    size_t n = ldns_rr_rd_count(rr), total = 0;
    for (size_t i = 0; i < n; i++) {
        const ldns_rdf *f = ldns_rr_rdf(rr, i);
        if (ldns_rdf_get_type(f) != LDNS_RDF_TYPE_STR || ldns_rdf_size(f) < 1 ||
            ldns_rdf_data(f)[0] != ldns_rdf_size(f) - 1)
            return NULL;
        total += ldns_rdf_size(f) - 1;
    }
    uint8_t *joined = malloc(total + 1);
    if (joined == NULL)
        return NULL;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const ldns_rdf *f = ldns_rr_rdf(rr, i);
        memcpy(joined + pos, ldns_rdf_data(f) + 1, ldns_rdf_size(f) - 1);
        pos += ldns_rdf_size(f) - 1;
    }
    joined[pos] = '\0';
    *len = total;
    return joined;
}

/* ---- matching ---- */

static bool equal_ignoring_final_dot(const char *observed, const char *expected)
{
    size_t a = strlen(observed), b = strlen(expected);
    if (a > 0 && observed[a - 1] == '.')
        a--;
    if (b > 0 && expected[b - 1] == '.')
        b--;
    return a == b && strncasecmp(observed, expected, a) == 0;
}

static bool contact_valid(enum mpic_dcv_method m, const char *v)
{
    if (m == MPIC_DCV_CONTACT_EMAIL_TXT || m == MPIC_DCV_CONTACT_EMAIL_CAA)
        return mpic_dcv_contact_email_valid(v);
    return mpic_dcv_contact_phone_valid(v);
}

/* Contacts are compared ignoring ASCII case, as the reference server does:
 * a mailbox's domain is case-insensitive and phone numbers have no case. */
static bool contact_match(enum mpic_dcv_method m, const char *v, const char *expected)
{
    return v != NULL && contact_valid(m, v) && strcasecmp(v, expected) == 0;
}

/* Whether one TXT value (joined, len octets; value = the same as a C string,
 * NULL when it holds a NUL) corroborates. */
static bool txt_matches(const struct mpic_dcv_params *p, bool wildcard, time_t now, const uint8_t *joined,
                        size_t len, const char *value, char *why, size_t why_len)
{
    switch (p->method) {
    case MPIC_DCV_ACME_DNS_01:
    case MPIC_DCV_DNS_ACCOUNT_01:   /* byte for byte */
        return len == strlen(p->key_authorization_hash) && memcmp(joined, p->key_authorization_hash, len) == 0;
    case MPIC_DCV_DNS_CHANGE:
        return value != NULL &&
               mpic_dcv_value_match(value, p->challenge_value, p->require_exact_match, p->require_exact_case);
    case MPIC_DCV_CONTACT_EMAIL_TXT:
    case MPIC_DCV_CONTACT_PHONE_TXT:
        return contact_match(p->method, value, p->challenge_value);
    case MPIC_DCV_DNS_PERSISTENT:
        return value != NULL && mpic_dcv_persist_match(value, &p->issuer_domain_names, p->expected_account_uri,
                                                       wildcard, now, why, why_len);
    default:
        return false;
    }
}

int mpic_dcv_dns_observe(const struct mpic_dcv_params *p, bool wildcard, time_t now, const ldns_rr *rr,
                         char **shown_out, bool *match, char *why, size_t why_len)
{
    char *shown = NULL, *value = NULL;
    *match = false;
    *shown_out = NULL;
    if (why_len > 0)
        why[0] = '\0';

    switch (ldns_rr_get_type(rr)) {
    case LDNS_RR_TYPE_TXT: {
        size_t len = 0;
        uint8_t *joined = txt_joined(rr, &len);
        if (joined == NULL)
            return -1;
        shown = present_bytes(joined, len);
        value = value_string(joined, len);
        *match = txt_matches(p, wildcard, now, joined, len, value, why, why_len);
        free(joined);
        break;
    }
    case LDNS_RR_TYPE_CNAME:
    case LDNS_RR_TYPE_PTR:
        if (ldns_rr_rd_count(rr) != 1)
            return -1;
        shown = mpic_dns_dname_text(ldns_rr_rdf(rr, 0), true);
        value = mpic_dns_dname_text(ldns_rr_rdf(rr, 0), false);
        if (shown == NULL || value == NULL)
            goto fail;
        if (p->method == MPIC_DCV_DNS_CHANGE) {
            /* A value written as an absolute name ("x.example.") is compared with the absolute form. */
            size_t cl = strlen(p->challenge_value);
            const char *observed = cl > 0 && p->challenge_value[cl - 1] == '.' ? shown : value;
            *match = mpic_dcv_value_match(observed, p->challenge_value, p->require_exact_match,
                                          p->require_exact_case);
        }
        else
            *match = equal_ignoring_final_dot(value, p->challenge_value);
        break;
    case LDNS_RR_TYPE_A:
    case LDNS_RR_TYPE_AAAA:
        if (ldns_rr_rd_count(rr) != 1)
            return -1;
        shown = ldns_rdf2str(ldns_rr_rdf(rr, 0));
        if (shown == NULL)
            goto fail;
        *match = mpic_dcv_ip_match(shown, p->challenge_value);
        break;
    case LDNS_RR_TYPE_CAA: {
        struct mpic_caa_record rec;
        if (mpic_dns_caa_decode(rr, &rec) < 0)
            return -1;
        shown = mpic_caa_record_format(&rec);
        value = value_string(rec.value, rec.value_len);
        if (p->method == MPIC_DCV_DNS_CHANGE) {
            *match = value != NULL && mpic_dcv_value_match(value, p->challenge_value, p->require_exact_match,
                                                           p->require_exact_case);
        } else {
            const char *want = p->method == MPIC_DCV_CONTACT_EMAIL_CAA ? "contactemail" : "contactphone";
            *match = rec.tag_len == strlen(want) && strncasecmp((const char *)rec.tag, want, rec.tag_len) == 0 &&
                     contact_match(p->method, value, p->challenge_value);
        }
        break;
    }
    default:
        return -1;
    }
    if (shown == NULL)
        goto fail;
    *shown_out = shown;
    free(value);
    return 0;

fail:
    free(shown);
    free(value);
    *match = false;
    return -1;
}

/* ---- what to ask ---- */

static bool wildcard_allowed(enum mpic_dcv_method m)
{
    return m == MPIC_DCV_ACME_DNS_01 || m == MPIC_DCV_DNS_CHANGE || m == MPIC_DCV_DNS_PERSISTENT ||
           m == MPIC_DCV_DNS_ACCOUNT_01;
}

/* A name we can put in a question: at most 253 octets of text, labels of
 * 1-63 letters, digits, '-' and '_'. The prefix comes from the request, so
 * check here (a parameter problem) rather than fail inside the resolver. */
static bool query_name_ok(const char *s)
{
    size_t len = strlen(s), label = 0;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i <= len; i++) {
        char ch = s[i];
        if (ch == '.' || ch == '\0') {
            if (label == 0 || label > 63)
                return false;
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                   ch == '_') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* The first parameter the method requires that p lacks, or NULL. The
 * request parser checks these too; an agent must not trust it blindly. */
static const char *missing_param(const struct mpic_dcv_params *p)
{
    switch (p->method) {
    case MPIC_DCV_ACME_DNS_01:
        return p->key_authorization_hash == NULL ? "key_authorization_hash" : NULL;
    case MPIC_DCV_DNS_ACCOUNT_01:
        return p->key_authorization_hash == NULL ? "key_authorization_hash"
               : p->account_uri == NULL          ? "account_uri"
                                                 : NULL;
    case MPIC_DCV_DNS_PERSISTENT:
        return p->issuer_domain_names.n == 0 ? "issuer_domain_names"
               : p->expected_account_uri == NULL ? "expected_account_uri"
                                                 : NULL;
    default:
        return p->challenge_value == NULL ? "challenge_value" : NULL;
    }
}

int mpic_dcv_dns_plan(const struct mpic_dcv_params *p, const char *target, const struct mpic_target *ti,
                      ldns_rr_type *qtype, char **names, size_t *n_names, char *msg, size_t msg_len)
{
    const char *mname = mpic_dcv_method_name(p->method);
    const char *name = ti->wildcard && strncmp(target, "*.", 2) == 0 ? target + 2 : target;
    bool is_ip = ti->kind != MPIC_TARGET_DNS;
    char q[600];

    *n_names = 0;
    if (ti->wildcard && !wildcard_allowed(p->method)) {
        snprintf(msg, msg_len, "%s cannot validate the wildcard target %s", mname, target);
        return -1;
    }
    if (is_ip && p->method != MPIC_DCV_REVERSE_ADDRESS_LOOKUP && p->method != MPIC_DCV_DNS_PERSISTENT) {
        snprintf(msg, msg_len, "%s needs a domain name target, not the IP address %s", mname, target);
        return -1;
    }
    const char *missing = missing_param(p);
    if (missing != NULL) {
        snprintf(msg, msg_len, "%s needs %s", mname, missing);
        return -1;
    }
    switch (p->method) {
    case MPIC_DCV_ACME_DNS_01:
    case MPIC_DCV_DNS_ACCOUNT_01:
        if (p->method == MPIC_DCV_ACME_DNS_01) {
            snprintf(q, sizeof q, "_acme-challenge.%s", name);
        } else {
            char label[32];
            mpic_dcv_account_label(p->account_uri, label, sizeof label);
            snprintf(q, sizeof q, "%s._acme-challenge.%s", label, name);
        }
        *qtype = LDNS_RR_TYPE_TXT;
        break;
    case MPIC_DCV_DNS_CHANGE:
        if (p->dns_record_type == MPIC_RR_CNAME)
            *qtype = LDNS_RR_TYPE_CNAME;
        else if (p->dns_record_type == MPIC_RR_TXT)
            *qtype = LDNS_RR_TYPE_TXT;
        else if (p->dns_record_type == MPIC_RR_CAA)
            *qtype = LDNS_RR_TYPE_CAA;
        else {
            snprintf(msg, msg_len, "%s needs dns_record_type CNAME, TXT or CAA, not %s", mname,
                     mpic_dcv_rrtype_name(p->dns_record_type));
            return -1;
        }
        if (p->dns_name_prefix != NULL && p->dns_name_prefix[0] != '\0')
            snprintf(q, sizeof q, "%s.%s", p->dns_name_prefix, name);
        else
            snprintf(q, sizeof q, "%s", name);
        break;
    case MPIC_DCV_CONTACT_EMAIL_TXT:
    case MPIC_DCV_CONTACT_PHONE_TXT:
        snprintf(q, sizeof q, "%s.%s",
                 p->method == MPIC_DCV_CONTACT_EMAIL_TXT ? "_validation-contactemail" : "_validation-contactphone",
                 name);
        *qtype = LDNS_RR_TYPE_TXT;
        break;
    case MPIC_DCV_CONTACT_EMAIL_CAA:
    case MPIC_DCV_CONTACT_PHONE_CAA: {
        int n = mpic_caa_climb_names(name, names, MPIC_CAA_MAX_LEVELS);
        if (n <= 0) {
            snprintf(msg, msg_len, "%s: \"%s\" is not a domain name to climb", mname, target);
            return -1;
        }
        *n_names = (size_t)n;
        *qtype = LDNS_RR_TYPE_CAA;
        return 0;
    }
    case MPIC_DCV_IP_ADDRESS: {
        unsigned char a[16];
        bool v4 = inet_pton(AF_INET, p->challenge_value, a) == 1;
        if (!v4 && inet_pton(AF_INET6, p->challenge_value, a) != 1) {
            snprintf(msg, msg_len, "%s: challenge_value \"%s\" is not an IP address", mname, p->challenge_value);
            return -2;
        }
        if ((p->dns_record_type == MPIC_RR_A && !v4) || (p->dns_record_type == MPIC_RR_AAAA && v4)) {
            snprintf(msg, msg_len, "%s: challenge_value \"%s\" is not an %s address, so no %s record can hold it",
                     mname, p->challenge_value, v4 ? "IPv6" : "IPv4", mpic_dcv_rrtype_name(p->dns_record_type));
            return -2;
        }
        if (p->dns_record_type == MPIC_RR_A)
            *qtype = LDNS_RR_TYPE_A;
        else if (p->dns_record_type == MPIC_RR_AAAA)
            *qtype = LDNS_RR_TYPE_AAAA;
        else if (p->dns_record_type == MPIC_RR_NONE)
            *qtype = v4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
        else {
            snprintf(msg, msg_len, "%s needs dns_record_type A or AAAA, not %s", mname,
                     mpic_dcv_rrtype_name(p->dns_record_type));
            return -1;
        }
        snprintf(q, sizeof q, "%s", name);
        break;
    }
    case MPIC_DCV_REVERSE_ADDRESS_LOOKUP:
        if (!is_ip || mpic_addr_reverse_name(target, q, sizeof q) < 0) {
            snprintf(msg, msg_len, "%s needs an IP address target, not %s", mname, target);
            return -1;
        }
        *qtype = LDNS_RR_TYPE_PTR;
        break;
    case MPIC_DCV_DNS_PERSISTENT:
        if (is_ip) {   /* BR 3.2.2.5.8 */
            char rev[128];
            if (mpic_addr_reverse_name(target, rev, sizeof rev) < 0) {
                snprintf(msg, msg_len, "%s: %s is not an IP address", mname, target);
                return -1;
            }
            snprintf(q, sizeof q, "_ip-validation-persist.%s", rev);
        } else {
            snprintf(q, sizeof q, "_validation-persist.%s", name);
        }
        *qtype = LDNS_RR_TYPE_TXT;
        break;
    default:
        snprintf(msg, msg_len, "%s is not a DNS method", mname);
        return -1;
    }
    if (!query_name_ok(q)) {
        snprintf(msg, msg_len, "%s: the name to query, %.300s, is not a valid domain name", mname, q);
        return -1;
    }
    names[0] = strdup(q);
    if (names[0] == NULL) {
        snprintf(msg, msg_len, "%s for %s: out of memory", mname, target);
        return -1;
    }
    lower(names[0]);
    *n_names = 1;
    return 0;
}
