/* The agent's CAA check (RFC 8659 §3): every level of the climb is asked at
 * once, and the check ends as soon as the levels answered so far decide it
 * (common/caa.c, mpic_caa_select_level), cancelling the rest. That keeps a
 * slow parent zone from delaying a target whose own records already decide,
 * while a failed lookup below the first non-empty level still fails the
 * check (fail closed: it may have hidden records).
 *
 * Two requests take a longer path once the levels decide: allow_lookup_failure
 * (BR 3.2.2.8: a failed level may count as empty when retried, outside our
 * infrastructure and on a zone proven Insecure) and agent.dns.dnssec
 * "require" (every answer the decision rests on is Secure or proven
 * Insecure). Both prove insecurity the same way, with insecure_proof.h (DS
 * at the name and each ancestor, asked in parallel and judged by
 * common/dnssec.c), as the DNS DCV checks do under "require". The asking,
 * classifying and proving is dns_climb.h's, shared with those checks; this
 * file judges what the levels show. */
#include "caa_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_climb.h"
#include "dnssec.h"
#include "netaddr.h"
#include "wire_errors.h"

static const char *const lookup_error = MPIC_ERR_CAA_LOOKUP;
static const char *const permitted_error = MPIC_ERR_CAA_LOOKUP_FAILURE_PERMITTED;

struct mpic_caa_check {
    mpic_caa_check_cb cb;
    void *arg;
    struct mpic_caa_query query;    /* points into the copies below */
    struct mpic_strv issuers;
    char *account_uri;
    char *validation_method;
    struct mpic_dns_climb *climb;   /* NULL for an IP target */
    struct event *not_applicable;   /* IP target: reports from the loop */
    enum mpic_dnssec_mode dnssec;
};

static void check_free(struct mpic_caa_check *c)
{
    if (c == NULL)
        return;
    mpic_dns_climb_free(c->climb);
    if (c->not_applicable != NULL)
        event_free(c->not_applicable);
    mpic_strv_free(&c->issuers);
    free(c->account_uri);
    free(c->validation_method);
    free(c);
}

static void outcome_free(struct mpic_caa_outcome *o)
{
    free(o->found_at);
    mpic_strv_free(&o->records_seen);
}

/* "1,0,x,-": per level, AD set / not set / failed / not answered (cancelled). */
static void summarise_ad(const struct mpic_caa_check *c, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    if (c->climb == NULL) {
        snprintf(buf, len, "n/a");
        return;
    }
    for (size_t i = 0; i < mpic_dns_climb_count(c->climb) && off + 3 < len; i++) {
        const struct mpic_dns_level *lv = mpic_dns_climb_level(c->climb, i);
        char ch = lv->status == MPIC_CAA_LEVEL_ERROR ? 'x'
                  : lv->status == MPIC_CAA_LEVEL_PENDING ? '-'
                  : lv->ad ? '1' : '0';
        off += (size_t)snprintf(buf + off, len - off, "%s%c", i ? "," : "", ch);
    }
}

/* Reports o and ends the check. Pending lookups are cancelled first, so the
 * callback may start new work on the same resolver. */
static void deliver(struct mpic_caa_check *c, struct mpic_caa_outcome *o)
{
    mpic_caa_check_cb cb = c->cb;
    void *arg = c->arg;
    if (c->climb != NULL)
        mpic_dns_climb_stop(c->climb);
    summarise_ad(c, o->ad_summary, sizeof o->ad_summary);
    cb(o, arg);
    outcome_free(o);
    check_free(c);
}

static void outcome_init(struct mpic_caa_outcome *o)
{
    memset(o, 0, sizeof *o);
    o->record_present = -1;
}

static void finish_error(struct mpic_caa_check *c)
{
    struct mpic_caa_outcome o;
    outcome_init(&o);
    o.error_type = lookup_error;
    const char *msg = "CAA lookup failed";
    for (size_t i = 0; i < mpic_dns_climb_count(c->climb); i++) {
        const struct mpic_dns_level *lv = mpic_dns_climb_level(c->climb, i);
        if (lv->status == MPIC_CAA_LEVEL_ERROR) {
            msg = lv->error;
            break;
        }
    }
    snprintf(o.error_message, sizeof o.error_message, "%s", msg);
    deliver(c, &o);
}

/* A failure that allow_lookup_failure turned into an empty level rides along
 * as an error entry, so that the permission can always be explained. */
static void note_permitted(struct mpic_caa_outcome *o, const char *permitted)
{
    if (permitted == NULL)
        return;
    o->error_type = permitted_error;
    snprintf(o->error_message, sizeof o->error_message, "%s", permitted);
}

static void finish_empty(struct mpic_caa_check *c, const char *permitted)
{
    struct mpic_caa_outcome o;
    outcome_init(&o);
    note_permitted(&o, permitted);
    o.completed = true;
    o.passed = true;
    o.record_present = 0;
    o.reason = MPIC_CAA_NO_RECORDS;
    deliver(c, &o);
}

static void finish_records(struct mpic_caa_check *c, size_t level, const char *permitted)
{
    const struct mpic_dns_level *lv = mpic_dns_climb_level(c->climb, level);
    size_t n = ldns_rr_list_rr_count(lv->rrset.rrs);
    struct mpic_caa_outcome o;
    outcome_init(&o);
    note_permitted(&o, permitted);
    struct mpic_caa_record *recs = calloc(n, sizeof *recs);
    o.found_at = strdup(lv->name);
    o.records_seen.v = calloc(n, sizeof *o.records_seen.v);
    if (recs == NULL || o.found_at == NULL || o.records_seen.v == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        mpic_dns_caa_decode(ldns_rr_list_rr(lv->rrset.rrs, i), &recs[i]);   /* checked by vet_records() */
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
    outcome_init(&o);   /* drops a permitted failure's note: this is a failure */
    o.error_type = lookup_error;
    snprintf(o.error_message, sizeof o.error_message, "CAA check for %s: out of memory", lv->name);
    deliver(c, &o);
}

static void finish_failure(struct mpic_caa_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void finish_failure(struct mpic_caa_check *c, const char *fmt, ...)
{
    struct mpic_caa_outcome o;
    outcome_init(&o);
    o.error_type = lookup_error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o.error_message, sizeof o.error_message, fmt, ap);
    va_end(ap);
    deliver(c, &o);
}

static struct mpic_lookup_failure failure_of(const struct mpic_dns_level *lv, bool insecure_proven)
{
    struct mpic_lookup_failure f = {
        .answered = lv->answered, .rcode = lv->rcode, .ede = lv->ede, .tries = lv->tries,
        .insecure_proven = insecure_proven,
    };
    return f;
}

/* The levels decided and every proof has its answers: judge each level the
 * decision rests on, nearest the target first, and report. */
static void on_decided(struct mpic_dns_climb *cl, int sel, const char *proof_error, void *arg)
{
    struct mpic_caa_check *c = arg;
    const char *target = mpic_dns_climb_level(cl, 0)->name;
    if (sel == MPIC_CAA_SELECT_ERROR) {
        finish_error(c);
        return;
    }
    if (proof_error != NULL) {
        finish_failure(c, "CAA check for %s: cannot look up the DS records that would prove the zone Insecure "
                       "(%.200s)", target, proof_error);
        return;
    }
    char permitted[768] = "";   /* cut to the outcome's 512 when reported */
    size_t k = mpic_dns_climb_relevant_end(cl, sel);
    for (size_t i = 0; i <= k; i++) {
        const struct mpic_dns_level *lv = mpic_dns_climb_level(cl, i);
        if (lv->status == MPIC_CAA_LEVEL_ERROR) {
            const char *zone_cut = mpic_dns_climb_cut(cl, lv->name);
            struct mpic_lookup_failure f = failure_of(lv, zone_cut != NULL);
            enum mpic_lf_verdict v = mpic_lookup_failure_verdict(&f);
            if (v != MPIC_LF_PERMITTED) {
                finish_failure(c, "%.300s; allow_lookup_failure not applied: %s", lv->error, mpic_lf_verdict_text(v));
                return;
            }
            if (permitted[0] == '\0')
                snprintf(permitted, sizeof permitted,
                         "%.200s; permitted by allow_lookup_failure and treated as no CAA records at %.80s: "
                         "retried, SERVFAIL without a DNSSEC error, and Insecure (validated delegation without DS at %.80s)",
                         lv->error, lv->name, zone_cut);
            continue;
        }
        char msg[512];
        if (c->dnssec == MPIC_DNSSEC_REQUIRE && mpic_dns_climb_unproven(cl, i, msg, sizeof msg)) {
            finish_failure(c, "%s", msg);
            return;
        }
    }
    if (sel >= 0)
        finish_records(c, (size_t)sel, permitted[0] ? permitted : NULL);
    else
        finish_empty(c, permitted[0] ? permitted : NULL);
}

/* Only a failure that could be permitted needs the proof. */
static bool failure_provable(const struct mpic_dns_level *lv)
{
    struct mpic_lookup_failure f = failure_of(lv, true);
    return mpic_lookup_failure_verdict(&f) == MPIC_LF_PERMITTED;
}

/* Fail closed: a record we cannot read might be the one that forbids us. */
static int vet_records(struct mpic_dns_level *lv, const char *server)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(lv->rrset.rrs); i++) {
        struct mpic_caa_record rec;
        if (mpic_dns_caa_decode(ldns_rr_list_rr(lv->rrset.rrs, i), &rec) < 0) {
            snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: undecodable CAA record from %s",
                     lv->name, server);
            return -1;
        }
    }
    return 0;
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
    c->dnssec = p->dnssec;
    if (copy_params(c, p) < 0) {
        mpic_error_set(err, "CAA check for %s: out of memory", p->target);
        goto fail;
    }

    if (mpic_addr_is_literal(p->target)) {
        /* CAA governs domain names only; an IP address has nothing to look up. */
        struct timeval now = { 0, 0 };
        c->not_applicable = evtimer_new(mpic_resolver_base(r), on_not_applicable, c);
        if (c->not_applicable == NULL || evtimer_add(c->not_applicable, &now) < 0) {
            mpic_error_set(err, "CAA check for %s: cannot schedule", p->target);
            goto fail;
        }
        return c;
    }

    char *names[MPIC_CAA_MAX_LEVELS];
    int n = mpic_caa_climb_names(p->target, names, MPIC_CAA_MAX_LEVELS);
    if (n <= 0) {
        mpic_error_set(err, "CAA check: \"%s\" is not a domain name to climb", p->target);
        goto fail;
    }
    struct mpic_dns_climb_spec spec = {
        .qtype = LDNS_RR_TYPE_CAA,
        .require_dnssec = p->dnssec == MPIC_DNSSEC_REQUIRE,
        .failures_count_empty = p->allow_lookup_failure,
        .proof_wanted = failure_provable,
        .name_tries = true,
        .nxdomain_always_empty = true,
        .vet = vet_records,
        .cb = on_decided,
        .arg = c,
    };
    struct mpic_error qerr = {{0}};
    c->climb = mpic_dns_climb_start(r, &spec, names, (size_t)n, &qerr);
    if (c->climb == NULL) {
        mpic_error_set(err, "CAA check for %s: %s", p->target, qerr.msg);
        goto fail;
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
