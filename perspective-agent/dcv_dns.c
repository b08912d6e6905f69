/* The agent's DNS-observed DCV methods: which name and type each method
 * asks for, the lookups through the agent's resolver, and turning what came
 * back into check_passed and the DNS details of the contract. The matching
 * rules themselves are pure and live in common/dcv.c; the per-method
 * questions and the reading of records (pure too) are in dcv_dns_observe.c, and this
 * file runs the check: start, lookups, deadline, cancel, finish.
 *
 * Every method is one lookup except contact-*-caa, which climbs the tree
 * like the CAA check (RFC 8659 §3), with the same engine (dns_climb.h): all
 * levels are asked at once and the relevant RRset is chosen by
 * mpic_caa_select_level. Fail closed: any lookup
 * that gets no usable answer (timeout, SERVFAIL, REFUSED, a broken CNAME
 * chain) leaves the check incomplete with mpic_error:dcv_checker:lookup;
 * NXDOMAIN and NODATA are answers, so the check completes and fails.
 *
 * Under agent.dns.dnssec "require" every answer the result rests on (the
 * lookup that decided and, for the climb, the empty levels below it) must be
 * Secure (AD=1) or, with each alias target it passed through, proven
 * Insecure (insecure_proof.h); otherwise the check fails like a lookup. */
#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caa.h"
#include "clock.h"
#include "dcv_check.h"
#include "dcv_dns_observe.h"
#include "dns_climb.h"
#include "dnsanswer.h"
#include "dnssec.h"
#include "log.h"

struct mpic_dcv_dns {
    mpic_dcv_cb cb;
    void *arg;
    const struct mpic_dcv_params *p;   /* the caller's; valid until cb or cancel */
    enum mpic_dcv_method method;
    bool wildcard;
    ldns_rr_type qtype;
    char *label;                       /* what the messages name: the target as sent */
    struct mpic_dns_climb *climb;      /* the lookup(s): one name, or every level for contact-*-caa */
    unsigned timeout_ms;
    enum mpic_dnssec_mode dnssec;
    struct event *deadline;            /* the check's budget */
    struct event *early;               /* a parameter error, reported from the loop */
    char early_msg[512];
    bool early_completed;              /* the check is decided without a lookup: completed, not passed */
};
#include "wire.h"

static const char *const lookup_error = MPIC_ERR_DCV_LOOKUP;
static const char *const parameter_error = MPIC_ERR_DCV_PARAMETER;

static void check_free(struct mpic_dcv_dns *c)
{
    if (c == NULL)
        return;
    mpic_dns_climb_free(c->climb);
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
    if (c->climb != NULL)
        mpic_dns_climb_stop(c->climb);
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

/* What the details show of a level's answer: -1 without one. */
static int ad_of(const struct mpic_dns_level *lv)
{
    return lv->answered ? lv->ad : -1;
}

/* The answer of level lv decided the check: evaluate its records. */
static void finish_answer(struct mpic_dcv_dns *c, const struct mpic_dns_level *lv)
{
    struct mpic_strv seen = { calloc(1, sizeof(char *)), 0 };   /* [] rather than null when empty */
    bool passed = false;
    size_t n = lv->rrset.rrs != NULL ? ldns_rr_list_rr_count(lv->rrset.rrs) : 0;
    if (seen.v == NULL)
        goto broken;
    for (size_t i = 0; i < n; i++) {
        bool match = false;
        char *shown = NULL, why[256];
        if (mpic_dcv_dns_observe(c->p, c->wildcard, mpic_clock_now(), ldns_rr_list_rr(lv->rrset.rrs, i), &shown,
                                 &match, why, sizeof why) < 0)
            goto broken;
        if (mpic_strv_push(&seen, shown) < 0) {
            free(shown);
            goto broken;
        }
        if (!match && why[0] != '\0') {   /* other CAs' records are expected here: a note, not a failure */
            char q[300];
            mpic_log(MPIC_LOG_DEBUG, "dcv_persist_skip", "target=%s why=%s", c->label,
                     mpic_log_quote(why, q, sizeof q));
        }
        passed = passed || match;
    }
    struct mpic_dcv_outcome o = { .completed = true, .passed = passed };
    o.details = mpic_dcv_dns_details_json(c->method, &seen, lv->rcode, ad_of(lv), lv->name,
                                          lv->rrset.cname_chain.n > 0 ? &lv->rrset.cname_chain : NULL);
    mpic_log(MPIC_LOG_DEBUG, "dcv_dns", "method=%s target=%s found_at=%s records=%zu passed=%d",
             mpic_dcv_method_name(c->method), c->label, lv->name, n, passed);
    mpic_strv_free(&seen);
    deliver(c, &o);
    return;

broken: {
        char msg[600];
        snprintf(msg, sizeof msg, "%s lookup for %s failed: unreadable record in the answer (or out of memory)",
                 mpic_dns_type_name(c->qtype), lv->name);
        mpic_strv_free(&seen);
        fail_with(c, lookup_error, msg,
                  mpic_dcv_dns_details_json(c->method, NULL, lv->rcode, ad_of(lv), NULL, NULL));
    }
}

/* ---- the lookups' outcome ---- */

static void finish_error(struct mpic_dcv_dns *c, const struct mpic_dns_level *lv, const char *msg)
{
    fail_with(c, lookup_error, msg, mpic_dcv_dns_details_json(c->method, NULL, lv->rcode, ad_of(lv), NULL, NULL));
}

/* The lookups decided: with no relevant RRset anywhere the target's own
 * (empty) answer is reported. Under "require" every answer the result rests
 * on must be Secure or proven Insecure. */
static void on_decided(struct mpic_dns_climb *cl, int sel, const char *proof_error, void *arg)
{
    struct mpic_dcv_dns *c = arg;
    if (sel == MPIC_CAA_SELECT_ERROR) {
        for (size_t k = 0; k < mpic_dns_climb_count(cl); k++) {
            const struct mpic_dns_level *lv = mpic_dns_climb_level(cl, k);
            if (lv->status == MPIC_CAA_LEVEL_ERROR) {
                finish_error(c, lv, lv->error);
                return;
            }
        }
    }
    const struct mpic_dns_level *report = mpic_dns_climb_level(cl, sel >= 0 ? (size_t)sel : 0);
    char msg[600];
    if (proof_error != NULL) {
        snprintf(msg, sizeof msg, "%s answer for %s: cannot look up the DS records that would prove it Insecure "
                 "(%.300s)", mpic_dns_type_name(c->qtype), report->name, proof_error);
        finish_error(c, report, msg);
        return;
    }
    size_t k = mpic_dns_climb_relevant_end(cl, sel);
    for (size_t i = 0; i <= k && c->dnssec == MPIC_DNSSEC_REQUIRE; i++) {
        if (mpic_dns_climb_unproven(cl, i, msg, sizeof msg)) {
            finish_error(c, mpic_dns_climb_level(cl, i), msg);
            return;
        }
    }
    finish_answer(c, report);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dcv_dns *c = arg;
    char msg[600];
    const char *name = c->climb != NULL ? mpic_dns_climb_level(c->climb, 0)->name : c->label;
    snprintf(msg, sizeof msg, "%s lookup for %s failed: no answer within the check's %u ms", mpic_dns_type_name(c->qtype),
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
    c->dnssec = ctx->dnssec;

    char *names[MPIC_CAA_MAX_LEVELS];
    size_t n_names = 0;
    int planned = mpic_dcv_dns_plan(p, target, ti, &c->qtype, names, &n_names, c->early_msg, sizeof c->early_msg);
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
    if (c->timeout_ms > 0) {
        struct timeval tv = { (time_t)(c->timeout_ms / 1000), (suseconds_t)(c->timeout_ms % 1000) * 1000 };
        c->deadline = evtimer_new(ctx->base, on_deadline, c);
        if (c->deadline == NULL || evtimer_add(c->deadline, &tv) < 0) {
            mpic_error_set(err, "DNS DCV check for %s: cannot schedule its deadline", target);
            goto fail;
        }
    }
    struct mpic_dns_climb_spec spec = {
        .qtype = c->qtype,
        .require_dnssec = c->dnssec == MPIC_DNSSEC_REQUIRE,
        .cb = on_decided,
        .arg = c,
    };
    struct mpic_error qerr = {{0}};
    c->climb = mpic_dns_climb_start(ctx->resolver, &spec, names, n_names, &qerr);
    if (c->climb == NULL) {
        mpic_error_set(err, "DNS DCV check for %s: %s", target, qerr.msg);
        goto fail;
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