/* The agent's DNS-observed DCV methods: which name and type each method
 * asks for, the lookups through the agent's resolver, and turning what came
 * back into check_passed and the DNS details of the contract. The matching
 * rules themselves are pure and live in common/dcv.c; the per-method
 * questions and the reading of records are in dcv_dns_observe.c, and this
 * file runs the check: start, lookups, deadline, cancel, finish.
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
#include "dcv_dns_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caa.h"
#include "dnsanswer.h"
#include "dnssec.h"
#include "insecure_proof.h"
#include "log.h"
#include "wire.h"

static const char *const lookup_error = MPIC_ERR_DCV_LOOKUP;
static const char *const parameter_error = MPIC_ERR_DCV_PARAMETER;

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
        if (mpic_dcv_dns_observe(c, ldns_rr_list_rr(lv->rrset.rrs, i), &seen, &match) < 0)
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
    if (!c->early_completed) {
        fail_with(c, parameter_error, c->early_msg, mpic_dcv_dns_details_json(c->method, NULL, -1, -1, NULL, NULL));
        return;
    }
    struct mpic_dcv_outcome o = { .completed = true, .passed = false };
    o.errors = mpic_error_list_append(NULL, parameter_error, c->early_msg);
    o.details = mpic_dcv_dns_details_json(c->method, NULL, -1, -1, NULL, NULL);
    deliver(c, &o);
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
    int planned = mpic_dcv_dns_plan(c, target, ti, names, &n_names, c->early_msg, sizeof c->early_msg);
    if (planned < 0) {
        struct timeval now = { 0, 0 };
        c->early_completed = planned == -2;
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