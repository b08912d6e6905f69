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
 * common/dnssec.c), as the DNS DCV checks do under "require". */
#include "caa_check.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsanswer.h"
#include "dnssec.h"
#include "insecure_proof.h"
#include "log.h"
#include "wire_errors.h"

/* A DNS name has at most 127 labels. */
#define MAX_LEVELS 128

static const char *const lookup_error = MPIC_ERR_CAA_LOOKUP;
static const char *const permitted_error = MPIC_ERR_CAA_LOOKUP_FAILURE_PERMITTED;

struct level {
    struct mpic_caa_check *check;
    char *name;                     /* query name, lower case, no trailing dot */
    struct mpic_dns_query *query;   /* NULL once answered or cancelled */
    struct mpic_dns_rrset rrset;    /* records, or the CNAME chain of an empty answer */
    char error[400];                /* why the level is MPIC_CAA_LEVEL_ERROR */
    bool answered;                  /* a response arrived (any rcode) */
    bool ad;
    int rcode;
    int ede;                        /* first EDE code, -1 without */
    unsigned tries;                 /* queries sent for this level, over our own retry too */
    bool retried;                   /* we asked once more ourselves */
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
    struct mpic_resolver *resolver;
    bool allow_lookup_failure;
    enum mpic_dnssec_mode dnssec;
    int decided;                    /* longer path: relevant level or MPIC_CAA_SELECT_EMPTY */
    struct mpic_insecure_proof *proof;   /* once the decision needs one */
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
    mpic_insecure_proof_free(c->proof);
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

/* "1,0,x,-": per level, AD set / not set / failed / not answered (cancelled). */
static void summarise_ad(const struct mpic_caa_check *c, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    if (c->n_levels == 0) {
        snprintf(buf, len, "n/a");
        return;
    }
    for (size_t i = 0; i < c->n_levels && off + 3 < len; i++) {
        const struct level *lv = &c->levels[i];
        char ch = c->status[i] == MPIC_CAA_LEVEL_ERROR ? 'x'
                  : c->status[i] == MPIC_CAA_LEVEL_PENDING ? '-'
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
    for (size_t i = 0; i < c->n_levels; i++) {
        mpic_resolver_cancel(c->levels[i].query);
        c->levels[i].query = NULL;
    }
    mpic_insecure_proof_free(c->proof);
    c->proof = NULL;
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

/* Maps one answer to the level's status, keeping the records or the reason. */
static enum mpic_caa_level classify(struct level *lv, struct mpic_dns_result *res)
{
    if (res->status != MPIC_DNS_OK) {
        snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: %s", lv->name, res->error);
        return MPIC_CAA_LEVEL_ERROR;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(res->pkt);
    struct mpic_error err = {{0}};
    if (rcode == LDNS_RCODE_NXDOMAIN) {
        /* Only for the CNAME chain ("require" proves each name in it). */
        if (mpic_dns_answer_extract(res->pkt, lv->name, LDNS_RR_TYPE_CAA, &lv->rrset, &err) < 0)
            mpic_dns_rrset_free(&lv->rrset);
        return MPIC_CAA_LEVEL_EMPTY;
    }
    if (rcode != LDNS_RCODE_NOERROR) {
        const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
        char ede[128];
        mpic_dns_ede_describe(lv->ede, ede, sizeof ede);
        if (t != NULL)
            snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: %s%s from %s after %u %s",
                     lv->name, t->name, ede, res->server, lv->tries, lv->tries == 1 ? "try" : "tries");
        else
            snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: rcode %d%s from %s after %u %s",
                     lv->name, (int)rcode, ede, res->server, lv->tries, lv->tries == 1 ? "try" : "tries");
        return MPIC_CAA_LEVEL_ERROR;
    }
    if (mpic_dns_answer_extract(res->pkt, lv->name, LDNS_RR_TYPE_CAA, &lv->rrset, &err) < 0) {
        snprintf(lv->error, sizeof lv->error, "CAA lookup for %s failed: %.300s (from %s)", lv->name,
                 err.msg, res->server);
        return MPIC_CAA_LEVEL_ERROR;
    }
    size_t n = ldns_rr_list_rr_count(lv->rrset.rrs);
    if (n == 0)
        return MPIC_CAA_LEVEL_EMPTY;   /* the rrset keeps the CNAME chain */
    /* Fail closed: a record we cannot read might be the one that forbids us. */
    for (size_t i = 0; i < n; i++) {
        struct mpic_caa_record rec;
        if (mpic_dns_caa_decode(ldns_rr_list_rr(lv->rrset.rrs, i), &rec) < 0) {
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
    struct level *lv = &c->levels[level];
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
        mpic_dns_caa_decode(ldns_rr_list_rr(lv->rrset.rrs, i), &recs[i]);   /* checked in classify() */
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

static const char *rcode_name(int rcode)
{
    const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);
    return t != NULL ? t->name : "?";
}

static size_t relevant_end(const struct mpic_caa_check *c)
{
    return c->decided >= 0 ? (size_t)c->decided : c->n_levels - 1;
}

static struct mpic_lookup_failure failure_of(const struct level *lv, bool insecure_proven)
{
    struct mpic_lookup_failure f = {
        .answered = lv->answered, .rcode = lv->rcode, .ede = lv->ede, .tries = lv->tries,
        .insecure_proven = insecure_proven,
    };
    return f;
}

/* The levels decided and every proof has its answers: judge each level the
 * decision rests on, nearest the target first, and report. */
static void conclude(struct mpic_caa_check *c)
{
    char permitted[768] = "";   /* cut to the outcome's 512 when reported */
    size_t k = relevant_end(c);
    for (size_t i = 0; i <= k; i++) {
        struct level *lv = &c->levels[i];
        if (c->status[i] == MPIC_CAA_LEVEL_ERROR) {
            const char *cut = mpic_insecure_proof_cut(c->proof, lv->name);
            struct mpic_lookup_failure f = failure_of(lv, cut != NULL);
            enum mpic_lf_verdict v = mpic_lookup_failure_verdict(&f);
            if (v != MPIC_LF_PERMITTED) {
                finish_failure(c, "%.300s; allow_lookup_failure not applied: %s", lv->error, mpic_lf_verdict_text(v));
                return;
            }
            if (permitted[0] == '\0')
                snprintf(permitted, sizeof permitted,
                         "%.200s; permitted by allow_lookup_failure and treated as no CAA records at %.80s: "
                         "retried, SERVFAIL without a DNSSEC error, and Insecure (validated delegation without DS at %.80s)",
                         lv->error, lv->name, cut);
            continue;
        }
        if (c->dnssec != MPIC_DNSSEC_REQUIRE || lv->ad)
            continue;
        /* Not authenticated: each name the answer passed through must be proven Insecure. */
        if (mpic_insecure_proof_cut(c->proof, lv->name) == NULL) {
            finish_failure(c, "CAA answer for %s was not validated by DNSSEC (AD=0) and %s is not proven Insecure "
                           "(dnssec: require)", lv->name, lv->name);
            return;
        }
        for (size_t j = 0; j < lv->rrset.cname_chain.n; j++) {
            char name[300];
            snprintf(name, sizeof name, "%s", lv->rrset.cname_chain.v[j]);
            size_t len = strlen(name);
            if (len > 1 && name[len - 1] == '.')
                name[len - 1] = '\0';
            if (mpic_insecure_proof_cut(c->proof, name) == NULL) {
                finish_failure(c, "CAA answer for %s was not validated by DNSSEC (AD=0) and its alias target %s "
                               "is not proven Insecure (dnssec: require)", lv->name, name);
                return;
            }
        }
    }
    if (c->decided >= 0)
        finish_records(c, (size_t)c->decided, permitted[0] ? permitted : NULL);
    else
        finish_empty(c, permitted[0] ? permitted : NULL);
}

static void on_proof_done(void *arg)
{
    conclude(arg);
}

/* The longer path: the levels have decided (a failed level counting as empty
 * for now under allow_lookup_failure); start the proofs the decision needs. */
static void start_proofs(struct mpic_caa_check *c, int sel)
{
    c->decided = sel;
    size_t k = relevant_end(c);
    for (size_t i = k + 1; i < c->n_levels; i++) {   /* above the relevant level: not needed */
        mpic_resolver_cancel(c->levels[i].query);
        c->levels[i].query = NULL;
    }
    size_t cap = 0, n = 0;
    for (size_t i = 0; i <= k; i++)
        cap += 1 + c->levels[i].rrset.cname_chain.n;
    const char **names = calloc(cap, sizeof *names);
    if (names == NULL) {
        finish_failure(c, "CAA check for %s: out of memory", c->levels[0].name);
        return;
    }
    for (size_t i = 0; i <= k; i++) {
        struct level *lv = &c->levels[i];
        if (c->status[i] == MPIC_CAA_LEVEL_ERROR) {
            /* Only a failure that could be permitted needs the proof. */
            struct mpic_lookup_failure f = failure_of(lv, true);
            if (mpic_lookup_failure_verdict(&f) == MPIC_LF_PERMITTED)
                names[n++] = lv->name;
        } else if (c->dnssec == MPIC_DNSSEC_REQUIRE && !lv->ad) {
            names[n++] = lv->name;
            for (size_t j = 0; j < lv->rrset.cname_chain.n; j++)
                names[n++] = lv->rrset.cname_chain.v[j];
        }
    }
    if (n == 0) {
        free(names);
        conclude(c);
        return;
    }
    struct mpic_error err = {{0}};
    c->proof = mpic_insecure_proof_start(c->resolver, names, n, on_proof_done, c, &err);
    free(names);
    if (c->proof == NULL)
        finish_failure(c, "CAA check for %s: cannot look up the DS records that would prove the zone Insecure "
                       "(%.200s)", c->levels[0].name, err.msg);
}

static void decide(struct mpic_caa_check *c)
{
    if (!c->allow_lookup_failure && c->dnssec != MPIC_DNSSEC_REQUIRE) {
        int sel = mpic_caa_select_level(c->status, c->n_levels);
        if (sel == MPIC_CAA_SELECT_PENDING)
            return;
        if (sel == MPIC_CAA_SELECT_ERROR)
            finish_error(c);
        else if (sel == MPIC_CAA_SELECT_EMPTY)
            finish_empty(c, NULL);
        else
            finish_records(c, (size_t)sel, NULL);
        return;
    }
    enum mpic_caa_level tentative[MAX_LEVELS];
    for (size_t i = 0; i < c->n_levels; i++)
        tentative[i] = c->allow_lookup_failure && c->status[i] == MPIC_CAA_LEVEL_ERROR ? MPIC_CAA_LEVEL_EMPTY
                                                                                     : c->status[i];
    int sel = mpic_caa_select_level(tentative, c->n_levels);
    if (sel == MPIC_CAA_SELECT_PENDING)
        return;
    if (sel == MPIC_CAA_SELECT_ERROR)
        finish_error(c);
    else
        start_proofs(c, sel);
}

static void on_answer(struct mpic_dns_result *res, void *arg)
{
    struct level *lv = arg;
    struct mpic_caa_check *c = lv->check;
    size_t i = (size_t)(lv - c->levels);

    lv->query = NULL;   /* the resolver frees it once we return */
    mpic_dns_rrset_free(&lv->rrset);   /* an earlier try's, after our own retry */
    lv->tries += res->tries;
    lv->answered = res->status == MPIC_DNS_OK;
    lv->ad = lv->answered && ldns_pkt_ad(res->pkt);
    lv->rcode = lv->answered ? (int)ldns_pkt_get_rcode(res->pkt) : -1;
    lv->ede = lv->answered ? mpic_dns_ede_code(res->pkt) : -1;
    enum mpic_caa_level st = classify(lv, res);
    mpic_log(MPIC_LOG_DEBUG, "dns_lookup", "type=CAA name=%s rcode=%s ad=%d ede=%d status=%d tcp=%d tries=%u server=%s",
             lv->name, lv->answered ? rcode_name(lv->rcode) : "none", lv->ad, lv->ede, (int)st, res->via_tcp,
             res->tries, res->server);

    /* BR 3.2.2.8 wants the failed lookup retried at least once; the resolver
     * only retries timeouts, so a quick SERVFAIL is asked once more here.
     * A DNSSEC failure never permits: no point asking again. */
    if (st == MPIC_CAA_LEVEL_ERROR && c->allow_lookup_failure && !lv->retried && lv->tries < 2 &&
        !(lv->answered && mpic_ede_is_dnssec(lv->ede))) {
        struct mpic_error err = {{0}};
        lv->retried = true;
        lv->query = mpic_resolver_query(c->resolver, lv->name, LDNS_RR_TYPE_CAA, on_answer, lv, &err);
        if (lv->query != NULL) {
            mpic_log(MPIC_LOG_DEBUG, "caa_retry", "name=%s after=\"%s\"", lv->name, lv->error);
            return;
        }
    }
    c->status[i] = st;
    decide(c);
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
    c->resolver = r;
    c->allow_lookup_failure = p->allow_lookup_failure;
    c->dnssec = p->dnssec;
    c->decided = MPIC_CAA_SELECT_PENDING;
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
        c->levels[i].ede = -1;
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
