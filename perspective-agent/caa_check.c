/* The agent's CAA check (RFC 8659 §3): every level of the climb is asked at
 * once, and the check ends as soon as the levels answered so far decide it
 * (common/caa.c, mpic_caa_select_level), cancelling the rest. That keeps a
 * slow parent zone from delaying a target whose own records already decide,
 * while a failed lookup below the first non-empty level still fails the
 * check (fail closed: it may have hidden records). */
#include "caa_check.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsanswer.h"
#include "log.h"

/* A DNS name has at most 127 labels. */
#define MAX_LEVELS 128

static const char *const lookup_error = "mpic_error:caa_checker:lookup";

struct level {
    struct mpic_caa_check *check;
    char *name;                     /* query name, lower case, no trailing dot */
    struct mpic_dns_query *query;   /* NULL once answered or cancelled */
    struct mpic_dns_rrset rrset;    /* kept when the level has records */
    char error[400];                /* why the level is MPIC_CAA_LEVEL_ERROR */
};

struct mpic_caa_check {
    mpic_caa_check_cb cb;
    void *arg;
    struct mpic_caa_query query;    /* points into the copies below */
    struct mpic_strv issuers;
    char *account_uri;
    char *validation_method;
    size_t n_levels;
    struct level *levels;
    enum mpic_caa_level *status;
    struct event *not_applicable;   /* IP target: reports from the loop */
};

static void check_free(struct mpic_caa_check *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_levels; i++) {
        mpic_resolver_cancel(c->levels[i].query);
        mpic_dns_rrset_free(&c->levels[i].rrset);
        free(c->levels[i].name);
    }
    free(c->levels);
    free(c->status);
    if (c->not_applicable != NULL)
        event_free(c->not_applicable);
    for (size_t i = 0; i < c->issuers.n; i++)
        free(c->issuers.v[i]);
    free(c->issuers.v);
    free(c->account_uri);
    free(c->validation_method);
    free(c);
}

static void outcome_free(struct mpic_caa_outcome *o)
{
    free(o->found_at);
    for (size_t i = 0; i < o->records_seen.n; i++)
        free(o->records_seen.v[i]);
    free(o->records_seen.v);
}

/* Reports o and ends the check. Pending lookups are cancelled first, so the
 * callback may start new work on the same resolver. */
static void deliver(struct mpic_caa_check *c, struct mpic_caa_outcome *o)
{
    mpic_caa_check_cb cb = c->cb;
    void *arg = c->arg;
    for (size_t i = 0; i < c->n_levels; i++) {
        mpic_resolver_cancel(c->levels[i].query);
        c->levels[i].query = NULL;
    }
    cb(o, arg);
    outcome_free(o);
    check_free(c);
}

static void outcome_init(struct mpic_caa_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->record_present = -1;
}

/* One CAA RR as ldns decoded it: flags (int8), tag (length-prefixed), value
 * (the rest, absent when empty). -1 for anything else. */
static int decode_caa(const ldns_rr *rr, struct mpic_caa_record *out)
{
    size_t n = ldns_rr_rd_count(rr);
    if (n != 2 && n != 3)
        return -1;
    const ldns_rdf *flags = ldns_rr_rdf(rr, 0);
    const ldns_rdf *tag = ldns_rr_rdf(rr, 1);
    if (ldns_rdf_size(flags) != 1 || ldns_rdf_size(tag) < 1 ||
        ldns_rdf_data(tag)[0] != ldns_rdf_size(tag) - 1)
        return -1;
    out->flags = ldns_rdf_data(flags)[0];
    out->tag = ldns_rdf_data(tag) + 1;
    out->tag_len = ldns_rdf_size(tag) - 1;
    if (n == 3) {
        out->value = ldns_rdf_data(ldns_rr_rdf(rr, 2));
        out->value_len = ldns_rdf_size(ldns_rr_rdf(rr, 2));
    } else {
        out->value = (const uint8_t *)"";
        out->value_len = 0;
    }
    return 0;
}

/* RFC 8914 names, so that a bogus zone reads as such in the error message. */
static const char *ede_name(unsigned code)
{
    static const char *const names[] = {
        "Other Error", "Unsupported DNSKEY Algorithm", "Unsupported DS Digest Type",
        "Stale Answer", "Forged Answer", "DNSSEC Indeterminate", "DNSSEC Bogus",
        "Signature Expired", "Signature Not Yet Valid", "DNSKEY Missing", "RRSIGs Missing",
        "No Zone Key Bit Set", "NSEC Missing", "Cached Error", "Not Ready", "Blocked",
        "Censored", "Filtered", "Prohibited", "Stale NXDOMAIN Answer", "Not Authoritative",
        "Not Supported", "No Reachable Authority", "Network Error", "Invalid Data",
    };
    return code < sizeof names / sizeof names[0] ? names[code] : "unknown";
}

/* " (EDE 6 DNSSEC Bogus)" for the first Extended DNS Error, "" without one. */
static void describe_ede(ldns_pkt *pkt, char *buf, size_t len)
{
    buf[0] = '\0';
    ldns_edns_option_list *opts = ldns_pkt_edns_get_option_list(pkt);
    for (size_t i = 0; opts != NULL && i < ldns_edns_option_list_get_count(opts); i++) {
        const ldns_edns_option *o = ldns_edns_option_list_get_option(opts, i);
        if (ldns_edns_get_code(o) != LDNS_EDNS_EDE || ldns_edns_get_size(o) < 2)
            continue;
        const uint8_t *d = ldns_edns_get_data(o);
        unsigned code = (unsigned)d[0] << 8 | d[1];
        snprintf(buf, len, " (EDE %u %s)", code, ede_name(code));
        return;
    }
}

/* Maps one answer to the level's status, keeping the records or the reason. */
static enum mpic_caa_level classify(struct level *lv, struct mpic_dns_result *res)
{
    if (res->status != MPIC_DNS_OK) {
        snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: %s", lv->name, res->error);
        return MPIC_CAA_LEVEL_ERROR;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(res->pkt);
    if (rcode == LDNS_RCODE_NXDOMAIN)
        return MPIC_CAA_LEVEL_EMPTY;
    if (rcode != LDNS_RCODE_NOERROR) {
        const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
        char ede[128];
        describe_ede(res->pkt, ede, sizeof ede);
        if (t != NULL)
            snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: %s%s from %s", lv->name,
                     t->name, ede, res->server);
        else
            snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: rcode %d%s from %s",
                     lv->name, (int)rcode, ede, res->server);
        return MPIC_CAA_LEVEL_ERROR;
    }
    struct mpic_error err = {{0}};
    if (mpic_dns_answer_extract(res->pkt, lv->name, LDNS_RR_TYPE_CAA, &lv->rrset, &err) < 0) {
        snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: %.300s (from %s)", lv->name,
                 err.msg, res->server);
        return MPIC_CAA_LEVEL_ERROR;
    }
    size_t n = ldns_rr_list_rr_count(lv->rrset.rrs);
    if (n == 0) {
        mpic_dns_rrset_free(&lv->rrset);
        return MPIC_CAA_LEVEL_EMPTY;
    }
    /* Fail closed: a record we cannot read might be the one that forbids us. */
    for (size_t i = 0; i < n; i++) {
        struct mpic_caa_record rec;
        if (decode_caa(ldns_rr_list_rr(lv->rrset.rrs, i), &rec) < 0) {
            snprintf(lv->error, sizeof lv->error,
                     "CAA lookup for %s failed: undecodable CAA record from %s", lv->name,
                     res->server);
            mpic_dns_rrset_free(&lv->rrset);
            return MPIC_CAA_LEVEL_ERROR;
        }
    }
    return MPIC_CAA_LEVEL_RECORDS;
}

static void finish_error(struct mpic_caa_check *c)
{
    struct mpic_caa_outcome o;
    outcome_init(&o);
    o.error_type = lookup_error;
    const char *msg = "CAA lookup failed";
    for (size_t i = 0; i < c->n_levels; i++) {
        if (c->status[i] == MPIC_CAA_LEVEL_ERROR) {
            msg = c->levels[i].error;
            break;
        }
    }
    snprintf(o.error_message, sizeof o.error_message, "%s", msg);
    deliver(c, &o);
}

static void finish_empty(struct mpic_caa_check *c)
{
    struct mpic_caa_outcome o;
    outcome_init(&o);
    o.completed = true;
    o.passed = true;
    o.record_present = 0;
    o.reason = MPIC_CAA_NO_RECORDS;
    deliver(c, &o);
}

static void finish_records(struct mpic_caa_check *c, size_t level)
{
    struct level *lv = &c->levels[level];
    size_t n = ldns_rr_list_rr_count(lv->rrset.rrs);
    struct mpic_caa_outcome o;
    outcome_init(&o);
    struct mpic_caa_record *recs = calloc(n, sizeof *recs);
    o.found_at = strdup(lv->name);
    o.records_seen.v = calloc(n, sizeof *o.records_seen.v);
    if (recs == NULL || o.found_at == NULL || o.records_seen.v == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        decode_caa(ldns_rr_list_rr(lv->rrset.rrs, i), &recs[i]);   /* checked in classify() */
        o.records_seen.v[i] = mpic_caa_record_format(&recs[i]);
        if (o.records_seen.v[i] == NULL)
            goto oom;
        o.records_seen.n = i + 1;
    }
    struct mpic_caa_decision d = mpic_caa_evaluate(recs, n, &c->query);
    free(recs);
    o.completed = true;
    o.passed = d.permitted;
    o.record_present = 1;
    o.reason = d.reason;
    deliver(c, &o);
    return;

oom:
    free(recs);
    outcome_free(&o);
    outcome_init(&o);
    o.error_type = lookup_error;
    snprintf(o.error_message, sizeof o.error_message, "CAA check for %s: out of memory", lv->name);
    deliver(c, &o);
}

static void on_answer(struct mpic_dns_result *res, void *arg)
{
    struct level *lv = arg;
    struct mpic_caa_check *c = lv->check;
    size_t i = (size_t)(lv - c->levels);

    lv->query = NULL;   /* the resolver frees it once we return */
    c->status[i] = classify(lv, res);
    mpic_log(MPIC_LOG_DEBUG, "caa_level", "name=%s status=%d tcp=%d tries=%u server=%s", lv->name,
             (int)c->status[i], res->via_tcp, res->tries, res->server);

    int sel = mpic_caa_select_level(c->status, c->n_levels);
    if (sel == MPIC_CAA_SELECT_PENDING)
        return;
    if (sel == MPIC_CAA_SELECT_ERROR)
        finish_error(c);
    else if (sel == MPIC_CAA_SELECT_EMPTY)
        finish_empty(c);
    else
        finish_records(c, (size_t)sel);
}

static void on_not_applicable(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_caa_outcome o;
    outcome_init(&o);
    o.completed = true;
    o.passed = true;
    o.record_present = 0;
    o.reason = MPIC_CAA_NOT_APPLICABLE;
    deliver(arg, &o);
}

static bool is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *oom = true;
    return d;
}

/* Copies what the check needs past mpic_caa_check_start(). */
static int copy_params(struct mpic_caa_check *c, const struct mpic_caa_check_params *p)
{
    bool oom = false;
    if (p->n_issuer_domains > 0) {
        c->issuers.v = calloc(p->n_issuer_domains, sizeof *c->issuers.v);
        if (c->issuers.v == NULL)
            return -1;
        for (size_t i = 0; i < p->n_issuer_domains; i++) {
            c->issuers.v[i] = strdup(p->issuer_domains[i]);
            if (c->issuers.v[i] == NULL)
                return -1;
            c->issuers.n = i + 1;
        }
    }
    c->account_uri = dup_or_null(p->account_uri, &oom);
    c->validation_method = dup_or_null(p->validation_method, &oom);
    if (oom)
        return -1;
    c->query.wildcard = strncmp(p->target, "*.", 2) == 0;
    c->query.cert_type = p->cert_type;
    c->query.issuer_domains = (const char *const *)c->issuers.v;
    c->query.n_issuer_domains = c->issuers.n;
    c->query.account_uri = c->account_uri;
    c->query.validation_method = c->validation_method;
    c->query.flag1_is_critical = p->flag1_is_critical;
    return 0;
}

struct mpic_caa_check *mpic_caa_check_start(struct mpic_resolver *r, const struct mpic_caa_check_params *p,
                                            mpic_caa_check_cb cb, void *arg, struct mpic_error *err)
{
    if (r == NULL || p == NULL || p->target == NULL || cb == NULL) {
        mpic_error_set(err, "CAA check: missing resolver, target or callback");
        return NULL;
    }
    struct mpic_caa_check *c = calloc(1, sizeof *c);
    if (c == NULL) {
        mpic_error_set(err, "CAA check for %s: out of memory", p->target);
        return NULL;
    }
    c->cb = cb;
    c->arg = arg;
    if (copy_params(c, p) < 0) {
        mpic_error_set(err, "CAA check for %s: out of memory", p->target);
        goto fail;
    }

    if (is_ip_literal(p->target)) {
        /* CAA governs domain names only; an IP address has nothing to look up. */
        struct timeval now = { 0, 0 };
        c->not_applicable = evtimer_new(mpic_resolver_base(r), on_not_applicable, c);
        if (c->not_applicable == NULL || evtimer_add(c->not_applicable, &now) < 0) {
            mpic_error_set(err, "CAA check for %s: cannot schedule", p->target);
            goto fail;
        }
        return c;
    }

    char *names[MAX_LEVELS];
    int n = mpic_caa_climb_names(p->target, names, MAX_LEVELS);
    if (n <= 0) {
        mpic_error_set(err, "CAA check: \"%s\" is not a domain name to climb", p->target);
        goto fail;
    }
    c->levels = calloc((size_t)n, sizeof *c->levels);
    c->status = calloc((size_t)n, sizeof *c->status);
    if (c->levels == NULL || c->status == NULL) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        mpic_error_set(err, "CAA check for %s: out of memory", p->target);
        goto fail;
    }
    c->n_levels = (size_t)n;
    for (size_t i = 0; i < c->n_levels; i++) {
        c->levels[i].check = c;
        c->levels[i].name = names[i];
        c->status[i] = MPIC_CAA_LEVEL_PENDING;
    }
    for (size_t i = 0; i < c->n_levels; i++) {
        struct mpic_error qerr = {{0}};
        c->levels[i].query = mpic_resolver_query(r, c->levels[i].name, LDNS_RR_TYPE_CAA, on_answer,
                                                 &c->levels[i], &qerr);
        if (c->levels[i].query == NULL) {
            mpic_error_set(err, "CAA check for %s: %s", p->target, qerr.msg);
            goto fail;
        }
    }
    return c;

fail:
    check_free(c);
    return NULL;
}

void mpic_caa_check_cancel(struct mpic_caa_check *c)
{
    check_free(c);
}
