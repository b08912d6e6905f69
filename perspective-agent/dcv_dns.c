/* The agent's DNS-observed DCV methods: which name and type each method
 * asks for, the lookups through the agent's resolver, and turning what came
 * back into check_passed and the DNS details of the contract. The matching
 * rules themselves are pure and live in common/dcv.c.
 *
 * Every method is one lookup except contact-*-caa, which climbs the tree
 * like the CAA check (RFC 8659 §3): all levels are asked at once and the
 * relevant RRset is chosen by mpic_caa_select_level. Fail closed: any lookup
 * that gets no usable answer (timeout, SERVFAIL, REFUSED, a broken CNAME
 * chain) leaves the check incomplete with mpic_error:dcv_checker:lookup;
 * NXDOMAIN and NODATA are answers, so the check completes and fails.
 *
 * Under agent.dns.dnssec "require" every answer the result rests on (the
 * lookup that decided and, for the climb, the empty levels below it) must be
 * Secure (AD=1) or, with each alias target it passed through, proven
 * Insecure (insecure_proof.h); otherwise the check fails like a lookup. */
#include "dcv_check.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "caa.h"
#include "dnsanswer.h"
#include "dnssec.h"
#include "insecure_proof.h"
#include "log.h"
#include "wire.h"

/* A DNS name has at most 127 labels. */
#define MAX_LEVELS 128

static const char *const lookup_error = "mpic_error:dcv_checker:lookup";
static const char *const parameter_error = "mpic_error:dcv_checker:parameter";

struct lookup {
    struct mpic_dcv_dns *check;
    char *name;                     /* query name, lower case, no trailing dot */
    struct mpic_dns_query *query;   /* NULL once answered or cancelled */
    struct mpic_dns_rrset rrset;    /* kept when answered */
    int rcode;                      /* -1 until a response arrived */
    int ad;                         /* -1 until a response arrived */
    char error[400];                /* why the lookup is MPIC_CAA_LEVEL_ERROR */
};

struct mpic_dcv_dns {
    mpic_dcv_cb cb;
    void *arg;
    const struct mpic_dcv_params *p;   /* the caller's; valid until cb or cancel */
    enum mpic_dcv_method method;
    bool wildcard;
    ldns_rr_type qtype;
    bool climb;                        /* contact-*-caa */
    char *label;                       /* what the messages name: the target as sent */
    size_t n;
    struct lookup *lookups;
    enum mpic_caa_level *status;
    unsigned timeout_ms;
    struct mpic_resolver *resolver;
    enum mpic_dnssec_mode dnssec;
    struct mpic_insecure_proof *proof; /* "require": while the deciding answers are proven */
    struct lookup *decided;            /* with proof: the lookup to report */
    size_t relevant;                   /* with proof: lookups[0..relevant) are judged */
    struct event *deadline;            /* the check's budget */
    struct event *early;               /* a parameter error, reported from the loop */
    char early_msg[512];
};

static void check_free(struct mpic_dcv_dns *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        mpic_resolver_cancel(c->lookups[i].query);
        mpic_dns_rrset_free(&c->lookups[i].rrset);
        free(c->lookups[i].name);
    }
    free(c->lookups);
    free(c->status);
    mpic_insecure_proof_free(c->proof);
    if (c->deadline != NULL)
        event_free(c->deadline);
    if (c->early != NULL)
        event_free(c->early);
    free(c->label);
    free(c);
}

/* Reports and ends the check. Pending lookups are cancelled first, so that
 * the callback may start new work on the same resolver. */
static void deliver(struct mpic_dcv_dns *c, struct mpic_dcv_outcome *o)
{
    for (size_t i = 0; i < c->n; i++) {
        mpic_resolver_cancel(c->lookups[i].query);
        c->lookups[i].query = NULL;
    }
    mpic_insecure_proof_free(c->proof);
    c->proof = NULL;
    if (c->deadline != NULL)
        evtimer_del(c->deadline);
    c->cb(o, c->arg);
    json_decref(o->errors);
    json_decref(o->details);
    check_free(c);
}

static void fail_with(struct mpic_dcv_dns *c, const char *type, const char *msg, json_t *details)
{
    struct mpic_dcv_outcome o = { .completed = false, .passed = false };
    o.errors = mpic_error_list_append(NULL, type, msg);
    o.details = details;
    mpic_log(MPIC_LOG_DEBUG, "dcv_dns", "method=%s target=%s error=%s", mpic_dcv_method_name(c->method),
             c->label, type);
    deliver(c, &o);
}

/* ---- presentation of what was observed ---- */

static const char *type_name(ldns_rr_type t)
{
    switch (t) {
    case LDNS_RR_TYPE_A: return "A";
    case LDNS_RR_TYPE_AAAA: return "AAAA";
    case LDNS_RR_TYPE_CNAME: return "CNAME";
    case LDNS_RR_TYPE_TXT: return "TXT";
    case LDNS_RR_TYPE_CAA: return "CAA";
    case LDNS_RR_TYPE_PTR: return "PTR";
    default: return "DNS";
    }
}

/* Valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF,
 * which JSON strings cannot carry) without control characters. */
static bool utf8_printable(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint8_t b = s[i];
        if (b < 0x20 || b == 0x7f)
            return false;
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t more;
        uint32_t cp, min;
        if ((b & 0xe0) == 0xc0) {
            more = 1, cp = b & 0x1f, min = 0x80;
        } else if ((b & 0xf0) == 0xe0) {
            more = 2, cp = b & 0x0f, min = 0x800;
        } else if ((b & 0xf8) == 0xf0) {
            more = 3, cp = b & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (i + more >= len)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return false;
        i += more + 1;
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

/* A domain name rdata as text: with its trailing dot (records_seen) and
 * without (the value compared). */
static char *dname_text(const ldns_rdf *d, bool trailing_dot)
{
    if (d == NULL || ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME)
        return NULL;
    char *s = ldns_rdf2str(d);
    if (s == NULL)
        return NULL;
    size_t len = strlen(s);
    if (!trailing_dot && len > 1 && s[len - 1] == '.')
        s[len - 1] = '\0';
    return s;
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
static bool txt_matches(const struct mpic_dcv_dns *c, const uint8_t *joined, size_t len, const char *value)
{
    const struct mpic_dcv_params *p = c->p;
    char why[256] = "";
    bool ok;

    switch (c->method) {
    case MPIC_DCV_ACME_DNS_01:
    case MPIC_DCV_DNS_ACCOUNT_01:   /* byte for byte */
        return len == strlen(p->key_authorization_hash) && memcmp(joined, p->key_authorization_hash, len) == 0;
    case MPIC_DCV_DNS_CHANGE:
        return value != NULL &&
               mpic_dcv_value_match(value, p->challenge_value, p->require_exact_match, p->require_exact_case);
    case MPIC_DCV_CONTACT_EMAIL_TXT:
    case MPIC_DCV_CONTACT_PHONE_TXT:
        return contact_match(c->method, value, p->challenge_value);
    case MPIC_DCV_DNS_PERSISTENT:
        if (value == NULL)
            return false;
        ok = mpic_dcv_persist_match(value, &p->issuer_domain_names, p->expected_account_uri, c->wildcard,
                                    time(NULL), why, sizeof why);
        if (!ok) {   /* other CAs' records are expected here: a note, not a failure */
            char q[300];
            mpic_log(MPIC_LOG_DEBUG, "dcv_persist_skip", "target=%s why=%s", c->label,
                     mpic_log_quote(why, q, sizeof q));
        }
        return ok;
    default:
        return false;
    }
}

/* Adds rr's presentation to seen and says whether it corroborates. -1 when
 * the record cannot be read (fails the lookup closed) or memory ran out. */
static int observe(struct mpic_dcv_dns *c, const ldns_rr *rr, struct mpic_strv *seen, bool *match)
{
    const struct mpic_dcv_params *p = c->p;
    char *shown = NULL, *value = NULL;
    *match = false;

    switch (ldns_rr_get_type(rr)) {
    case LDNS_RR_TYPE_TXT: {
        size_t len = 0;
        uint8_t *joined = txt_joined(rr, &len);
        if (joined == NULL)
            return -1;
        shown = present_bytes(joined, len);
        value = value_string(joined, len);
        *match = txt_matches(c, joined, len, value);
        free(joined);
        break;
    }
    case LDNS_RR_TYPE_CNAME:
    case LDNS_RR_TYPE_PTR:
        if (ldns_rr_rd_count(rr) != 1)
            return -1;
        shown = dname_text(ldns_rr_rdf(rr, 0), true);
        value = dname_text(ldns_rr_rdf(rr, 0), false);
        if (shown == NULL || value == NULL)
            goto fail;
        if (c->method == MPIC_DCV_DNS_CHANGE) {
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
        if (c->method == MPIC_DCV_DNS_CHANGE) {
            *match = value != NULL && mpic_dcv_value_match(value, p->challenge_value, p->require_exact_match,
                                                           p->require_exact_case);
        } else {
            const char *want = c->method == MPIC_DCV_CONTACT_EMAIL_CAA ? "contactemail" : "contactphone";
            *match = rec.tag_len == strlen(want) && strncasecmp((const char *)rec.tag, want, rec.tag_len) == 0 &&
                     contact_match(c->method, value, p->challenge_value);
        }
        break;
    }
    default:
        return -1;
    }
    if (shown == NULL)
        goto fail;
    char **nv = realloc(seen->v, (seen->n + 1) * sizeof *nv);
    if (nv == NULL)
        goto fail;
    seen->v = nv;
    seen->v[seen->n++] = shown;
    free(value);
    return 0;

fail:
    free(shown);
    free(value);
    *match = false;
    return -1;
}

static void strv_free(struct mpic_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* The answer of lookup lv decided the check: evaluate its records. */
static void finish_answer(struct mpic_dcv_dns *c, struct lookup *lv)
{
    struct mpic_strv seen = { calloc(1, sizeof(char *)), 0 };   /* [] rather than null when empty */
    bool passed = false;
    size_t n = lv->rrset.rrs != NULL ? ldns_rr_list_rr_count(lv->rrset.rrs) : 0;
    if (seen.v == NULL)
        goto broken;
    for (size_t i = 0; i < n; i++) {
        bool match = false;
        if (observe(c, ldns_rr_list_rr(lv->rrset.rrs, i), &seen, &match) < 0)
            goto broken;
        passed = passed || match;
    }
    struct mpic_dcv_outcome o = { .completed = true, .passed = passed };
    o.details = mpic_dcv_dns_details_json(c->method, &seen, lv->rcode, lv->ad, lv->name,
                                          lv->rrset.cname_chain.n > 0 ? &lv->rrset.cname_chain : NULL);
    mpic_log(MPIC_LOG_DEBUG, "dcv_dns", "method=%s target=%s found_at=%s records=%zu passed=%d",
             mpic_dcv_method_name(c->method), c->label, lv->name, n, passed);
    strv_free(&seen);
    deliver(c, &o);
    return;

broken: {
        char msg[600];
        snprintf(msg, sizeof msg, "%s lookup for %s failed: unreadable record in the answer (or out of memory)",
                 type_name(c->qtype), lv->name);
        strv_free(&seen);
        fail_with(c, lookup_error, msg,
                  mpic_dcv_dns_details_json(c->method, NULL, lv->rcode, lv->ad, NULL, NULL));
    }
}

/* ---- lookups ---- */

/* Maps one answer to the lookup's status, keeping the records or the reason. */
static enum mpic_caa_level classify(struct mpic_dcv_dns *c, struct lookup *lv, struct mpic_dns_result *res)
{
    const char *t = type_name(c->qtype);
    if (res->status != MPIC_DNS_OK) {
        snprintf(lv->error, sizeof lv->error, "%s lookup for %s failed: %s", t, lv->name, res->error);
        return MPIC_CAA_LEVEL_ERROR;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(res->pkt);
    lv->rcode = (int)rcode;
    lv->ad = ldns_pkt_ad(res->pkt) ? 1 : 0;
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        const ldns_lookup_table *name = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
        char ede[64];
        mpic_dns_ede_describe(mpic_dns_ede_code(res->pkt), ede, sizeof ede);
        if (name != NULL)
            snprintf(lv->error, sizeof lv->error, "%s lookup for %s failed: %s%s from %s", t, lv->name,
                     name->name, ede, res->server);
        else
            snprintf(lv->error, sizeof lv->error, "%s lookup for %s failed: rcode %d%s from %s", t, lv->name,
                     (int)rcode, ede, res->server);
        return MPIC_CAA_LEVEL_ERROR;
    }
    /* NXDOMAIN may still carry the CNAME chain that led to the missing name. */
    struct mpic_error err = {{0}};
    if (mpic_dns_answer_extract(res->pkt, lv->name, c->qtype, &lv->rrset, &err) < 0) {
        snprintf(lv->error, sizeof lv->error, "%s lookup for %s failed: %.300s (from %s)", t, lv->name, err.msg,
                 res->server);
        return MPIC_CAA_LEVEL_ERROR;
    }
    return ldns_rr_list_rr_count(lv->rrset.rrs) > 0 ? MPIC_CAA_LEVEL_RECORDS : MPIC_CAA_LEVEL_EMPTY;
}

static void finish_error(struct mpic_dcv_dns *c, struct lookup *lv)
{
    fail_with(c, lookup_error, lv->error,
              mpic_dcv_dns_details_json(c->method, NULL, lv->rcode, lv->ad, NULL, NULL));
}

/* Under "require": one judged answer that is neither Secure nor proven
 * Insecure, with the name that lacks the proof; false when all are proven. */
static bool unproven(const struct mpic_dcv_dns *c, struct lookup **lv_out, char *name, size_t len)
{
    for (size_t i = 0; i < c->relevant; i++) {
        struct lookup *lv = &c->lookups[i];
        if (lv->ad == 1)
            continue;
        *lv_out = lv;
        if (mpic_insecure_proof_cut(c->proof, lv->name) == NULL) {
            snprintf(name, len, "%s", lv->name);
            return true;
        }
        for (size_t j = 0; j < lv->rrset.cname_chain.n; j++) {
            if (mpic_insecure_proof_cut(c->proof, lv->rrset.cname_chain.v[j]) == NULL) {
                snprintf(name, len, "%s", lv->rrset.cname_chain.v[j]);
                size_t n = strlen(name);
                if (n > 1 && name[n - 1] == '.')
                    name[n - 1] = '\0';
                return true;
            }
        }
    }
    return false;
}

static void on_proof_done(void *arg)
{
    struct mpic_dcv_dns *c = arg;
    struct lookup *lv = NULL;
    char name[300];
    if (!unproven(c, &lv, name, sizeof name)) {
        finish_answer(c, c->decided);
        return;
    }
    char msg[900];
    bool alias = strcmp(name, lv->name) != 0;
    snprintf(msg, sizeof msg, "%s answer for %s was not validated by DNSSEC (AD=0) and %s%s is not proven "
             "Insecure (dnssec: require)", type_name(c->qtype), lv->name, alias ? "its alias target " : "", name);
    fail_with(c, lookup_error, msg, mpic_dcv_dns_details_json(c->method, NULL, lv->rcode, lv->ad, NULL, NULL));
}

/* The answers decided the check: report is the one to evaluate and
 * lookups[0..relevant) are those the result rests on. Under "require" the
 * ones without AD are proven Insecure first. */
static void decided(struct mpic_dcv_dns *c, struct lookup *report, size_t relevant)
{
    if (c->dnssec != MPIC_DNSSEC_REQUIRE) {
        finish_answer(c, report);
        return;
    }
    for (size_t i = relevant; i < c->n; i++) {   /* above the relevant level: not needed */
        mpic_resolver_cancel(c->lookups[i].query);
        c->lookups[i].query = NULL;
    }
    size_t cap = 0, n = 0;
    for (size_t i = 0; i < relevant; i++)
        cap += 1 + c->lookups[i].rrset.cname_chain.n;
    const char **names = calloc(cap, sizeof *names);
    if (names == NULL) {
        fail_with(c, lookup_error, "DNS DCV check: out of memory",
                  mpic_dcv_dns_details_json(c->method, NULL, -1, -1, NULL, NULL));
        return;
    }
    for (size_t i = 0; i < relevant; i++) {
        struct lookup *lv = &c->lookups[i];
        if (lv->ad == 1)
            continue;
        names[n++] = lv->name;
        for (size_t j = 0; j < lv->rrset.cname_chain.n; j++)
            names[n++] = lv->rrset.cname_chain.v[j];
    }
    if (n == 0) {
        free(names);
        finish_answer(c, report);
        return;
    }
    c->decided = report;
    c->relevant = relevant;
    struct mpic_error err = {{0}};
    c->proof = mpic_insecure_proof_start(c->resolver, names, n, on_proof_done, c, &err);
    free(names);
    if (c->proof == NULL) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s answer for %s: cannot look up the DS records that would prove it Insecure "
                 "(%.300s)", type_name(c->qtype), report->name, err.msg);
        fail_with(c, lookup_error, msg, mpic_dcv_dns_details_json(c->method, NULL, report->rcode, report->ad,
                                                                   NULL, NULL));
    }
}

static void on_answer(struct mpic_dns_result *res, void *arg)
{
    struct lookup *lv = arg;
    struct mpic_dcv_dns *c = lv->check;
    size_t i = (size_t)(lv - c->lookups);

    lv->query = NULL;   /* the resolver frees it once we return */
    c->status[i] = classify(c, lv, res);
    mpic_log(MPIC_LOG_DEBUG, "dcv_dns_lookup", "name=%s type=%s status=%d rcode=%d tcp=%d tries=%u server=%s",
             lv->name, type_name(c->qtype), (int)c->status[i], lv->rcode, res->via_tcp, res->tries, res->server);

    if (!c->climb) {
        if (c->status[i] == MPIC_CAA_LEVEL_ERROR)
            finish_error(c, lv);
        else
            decided(c, lv, 1);
        return;
    }
    int sel = mpic_caa_select_level(c->status, c->n);
    if (sel == MPIC_CAA_SELECT_PENDING)
        return;
    if (sel == MPIC_CAA_SELECT_ERROR) {
        for (size_t k = 0; k < c->n; k++)
            if (c->status[k] == MPIC_CAA_LEVEL_ERROR) {
                finish_error(c, &c->lookups[k]);
                return;
            }
    }
    /* No relevant RRset anywhere: report the target's own (empty) answer. */
    if (sel == MPIC_CAA_SELECT_EMPTY)
        decided(c, &c->lookups[0], c->n);
    else
        decided(c, &c->lookups[sel], (size_t)sel + 1);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dcv_dns *c = arg;
    char msg[600];
    const char *name = c->n > 0 ? c->lookups[0].name : c->label;
    snprintf(msg, sizeof msg, "%s lookup for %s failed: no answer within the check's %u ms", type_name(c->qtype),
             name, c->timeout_ms);
    fail_with(c, lookup_error, msg, mpic_dcv_dns_details_json(c->method, NULL, -1, -1, NULL, NULL));
}

static void on_early(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dcv_dns *c = arg;
    fail_with(c, parameter_error, c->early_msg, mpic_dcv_dns_details_json(c->method, NULL, -1, -1, NULL, NULL));
}

/* ---- what to ask ---- */

static bool wildcard_allowed(enum mpic_dcv_method m)
{
    return m == MPIC_DCV_ACME_DNS_01 || m == MPIC_DCV_DNS_CHANGE || m == MPIC_DCV_DNS_PERSISTENT ||
           m == MPIC_DCV_DNS_ACCOUNT_01;
}

/* The reverse-mapping name of an IP literal (RFC 1035 §3.5, RFC 3596 §2.5). */
static int reverse_name(const char *ip, char *buf, size_t len)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, ip, a) == 1)
        return snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]) < (int)len ? 0 : -1;
    if (inet_pton(AF_INET6, ip, a) != 1 || len < 64 + sizeof "ip6.arpa")
        return -1;
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0;
    for (int i = 15; i >= 0; i--) {
        buf[pos++] = hex[a[i] & 0xf];
        buf[pos++] = '.';
        buf[pos++] = hex[a[i] >> 4];
        buf[pos++] = '.';
    }
    memcpy(buf + pos, "ip6.arpa", sizeof "ip6.arpa");
    return 0;
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

/* Works out qtype and the name(s) to ask. Returns 0, or -1 with a parameter
 * problem in msg (reported through the callback). names: at least 1 slot. */
static int plan(struct mpic_dcv_dns *c, const char *target, const struct mpic_target *ti, char **names,
                size_t *n_names, char *msg, size_t msg_len)
{
    const struct mpic_dcv_params *p = c->p;
    const char *mname = mpic_dcv_method_name(c->method);
    const char *name = ti->wildcard && strncmp(target, "*.", 2) == 0 ? target + 2 : target;
    bool is_ip = ti->kind != MPIC_TARGET_DNS;
    char q[600];

    *n_names = 0;
    if (ti->wildcard && !wildcard_allowed(c->method)) {
        snprintf(msg, msg_len, "%s cannot validate the wildcard target %s", mname, target);
        return -1;
    }
    if (is_ip && c->method != MPIC_DCV_REVERSE_ADDRESS_LOOKUP && c->method != MPIC_DCV_DNS_PERSISTENT) {
        snprintf(msg, msg_len, "%s needs a domain name target, not the IP address %s", mname, target);
        return -1;
    }
    const char *missing = missing_param(p);
    if (missing != NULL) {
        snprintf(msg, msg_len, "%s needs %s", mname, missing);
        return -1;
    }
    switch (c->method) {
    case MPIC_DCV_ACME_DNS_01:
    case MPIC_DCV_DNS_ACCOUNT_01:
        if (c->method == MPIC_DCV_ACME_DNS_01) {
            snprintf(q, sizeof q, "_acme-challenge.%s", name);
        } else {
            char label[32];
            mpic_dcv_account_label(p->account_uri, label, sizeof label);
            snprintf(q, sizeof q, "%s._acme-challenge.%s", label, name);
        }
        c->qtype = LDNS_RR_TYPE_TXT;
        break;
    case MPIC_DCV_DNS_CHANGE:
        if (p->dns_record_type == MPIC_RR_CNAME)
            c->qtype = LDNS_RR_TYPE_CNAME;
        else if (p->dns_record_type == MPIC_RR_TXT)
            c->qtype = LDNS_RR_TYPE_TXT;
        else if (p->dns_record_type == MPIC_RR_CAA)
            c->qtype = LDNS_RR_TYPE_CAA;
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
                 c->method == MPIC_DCV_CONTACT_EMAIL_TXT ? "_validation-contactemail" : "_validation-contactphone",
                 name);
        c->qtype = LDNS_RR_TYPE_TXT;
        break;
    case MPIC_DCV_CONTACT_EMAIL_CAA:
    case MPIC_DCV_CONTACT_PHONE_CAA: {
        int n = mpic_caa_climb_names(name, names, MAX_LEVELS);
        if (n <= 0) {
            snprintf(msg, msg_len, "%s: \"%s\" is not a domain name to climb", mname, target);
            return -1;
        }
        *n_names = (size_t)n;
        c->qtype = LDNS_RR_TYPE_CAA;
        c->climb = true;
        return 0;
    }
    case MPIC_DCV_IP_ADDRESS: {
        unsigned char a[16];
        bool v4 = inet_pton(AF_INET, p->challenge_value, a) == 1;
        if (!v4 && inet_pton(AF_INET6, p->challenge_value, a) != 1) {
            snprintf(msg, msg_len, "%s: challenge_value \"%s\" is not an IP address", mname, p->challenge_value);
            return -1;
        }
        if (p->dns_record_type == MPIC_RR_A)
            c->qtype = LDNS_RR_TYPE_A;
        else if (p->dns_record_type == MPIC_RR_AAAA)
            c->qtype = LDNS_RR_TYPE_AAAA;
        else if (p->dns_record_type == MPIC_RR_NONE)
            c->qtype = v4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
        else {
            snprintf(msg, msg_len, "%s needs dns_record_type A or AAAA, not %s", mname,
                     mpic_dcv_rrtype_name(p->dns_record_type));
            return -1;
        }
        snprintf(q, sizeof q, "%s", name);
        break;
    }
    case MPIC_DCV_REVERSE_ADDRESS_LOOKUP:
        if (!is_ip || reverse_name(target, q, sizeof q) < 0) {
            snprintf(msg, msg_len, "%s needs an IP address target, not %s", mname, target);
            return -1;
        }
        c->qtype = LDNS_RR_TYPE_PTR;
        break;
    case MPIC_DCV_DNS_PERSISTENT:
        if (is_ip) {   /* BR 3.2.2.5.8 */
            char rev[128];
            if (reverse_name(target, rev, sizeof rev) < 0) {
                snprintf(msg, msg_len, "%s: %s is not an IP address", mname, target);
                return -1;
            }
            snprintf(q, sizeof q, "_ip-validation-persist.%s", rev);
        } else {
            snprintf(q, sizeof q, "_validation-persist.%s", name);
        }
        c->qtype = LDNS_RR_TYPE_TXT;
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

struct mpic_dcv_dns *mpic_dcv_dns_start(const struct mpic_dcv_ctx *ctx, const char *target,
                                        const struct mpic_target *ti, const struct mpic_dcv_params *p,
                                        mpic_dcv_cb cb, void *arg, struct mpic_error *err)
{
    if (ctx == NULL || ctx->base == NULL || ctx->resolver == NULL || target == NULL || ti == NULL || p == NULL ||
        cb == NULL) {
        mpic_error_set(err, "DNS DCV check: missing context, target, parameters or callback");
        return NULL;
    }
    struct mpic_dcv_dns *c = calloc(1, sizeof *c);
    if (c == NULL || (c->label = strdup(target)) == NULL) {
        mpic_error_set(err, "DNS DCV check for %s: out of memory", target);
        goto fail;
    }
    c->cb = cb;
    c->arg = arg;
    c->p = p;
    c->method = p->method;
    c->wildcard = ti->wildcard;
    c->timeout_ms = ctx->timeout_ms;
    c->resolver = ctx->resolver;
    c->dnssec = ctx->dnssec;

    char *names[MAX_LEVELS];
    size_t n_names = 0;
    if (plan(c, target, ti, names, &n_names, c->early_msg, sizeof c->early_msg) < 0) {
        struct timeval now = { 0, 0 };
        c->early = evtimer_new(ctx->base, on_early, c);
        if (c->early == NULL || evtimer_add(c->early, &now) < 0) {
            mpic_error_set(err, "DNS DCV check for %s: cannot schedule", target);
            goto fail;
        }
        return c;
    }
    c->lookups = calloc(n_names, sizeof *c->lookups);
    c->status = calloc(n_names, sizeof *c->status);
    if (c->lookups == NULL || c->status == NULL) {
        for (size_t i = 0; i < n_names; i++)
            free(names[i]);
        mpic_error_set(err, "DNS DCV check for %s: out of memory", target);
        goto fail;
    }
    c->n = n_names;
    for (size_t i = 0; i < c->n; i++) {
        c->lookups[i].check = c;
        c->lookups[i].name = names[i];
        c->lookups[i].rcode = -1;
        c->lookups[i].ad = -1;
        c->status[i] = MPIC_CAA_LEVEL_PENDING;
    }
    if (c->timeout_ms > 0) {
        struct timeval tv = { (time_t)(c->timeout_ms / 1000), (suseconds_t)(c->timeout_ms % 1000) * 1000 };
        c->deadline = evtimer_new(ctx->base, on_deadline, c);
        if (c->deadline == NULL || evtimer_add(c->deadline, &tv) < 0) {
            mpic_error_set(err, "DNS DCV check for %s: cannot schedule its deadline", target);
            goto fail;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        struct mpic_error qerr = {{0}};
        c->lookups[i].query = mpic_resolver_query(ctx->resolver, c->lookups[i].name, c->qtype, on_answer,
                                                  &c->lookups[i], &qerr);
        if (c->lookups[i].query == NULL) {
            mpic_error_set(err, "DNS DCV check for %s: %s", target, qerr.msg);
            goto fail;
        }
    }
    return c;

fail:
    check_free(c);
    return NULL;
}

void mpic_dcv_dns_cancel(struct mpic_dcv_dns *c)
{
    check_free(c);
}
