/* The one engine behind the CAA check and the DNS DCV methods (dns_climb.h).
 * Asking every level at once keeps a slow parent zone from delaying a target
 * whose own answer already decides; a failed lookup below the first
 * non-empty level still decides as a failure (fail closed: it may have hidden
 * records). Once decided, the levels above the relevant one are cancelled and
 * only then, if the decision needs it, the Insecure proof is started, so that
 * its DS lookups cover exactly the names the user will judge. */
#include "dns_climb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnssec.h"
#include "insecure_proof.h"
#include "log.h"

struct lookup {
    struct mpic_dns_climb *climb;
    struct mpic_dns_query *query;   /* NULL once answered or cancelled */
    struct mpic_dns_level lv;
};

struct mpic_dns_climb {
    struct mpic_dns_climb_spec spec;
    struct mpic_resolver *resolver;
    size_t n;
    struct lookup *lookups;
    int sel;                        /* the decision, once made */
    struct mpic_insecure_proof *proof;
};

void mpic_dns_climb_stop(struct mpic_dns_climb *cl)
{
    for (size_t i = 0; i < cl->n; i++) {
        mpic_resolver_cancel(cl->lookups[i].query);
        cl->lookups[i].query = NULL;
    }
    mpic_insecure_proof_free(cl->proof);
    cl->proof = NULL;
}

void mpic_dns_climb_free(struct mpic_dns_climb *cl)
{
    if (cl == NULL)
        return;
    mpic_dns_climb_stop(cl);
    for (size_t i = 0; i < cl->n; i++) {
        mpic_dns_rrset_free(&cl->lookups[i].lv.rrset);
        free(cl->lookups[i].lv.name);
    }
    free(cl->lookups);
    free(cl);
}

size_t mpic_dns_climb_count(const struct mpic_dns_climb *cl)
{
    return cl->n;
}

struct mpic_dns_level *mpic_dns_climb_level(struct mpic_dns_climb *cl, size_t i)
{
    return &cl->lookups[i].lv;
}

size_t mpic_dns_climb_relevant_end(const struct mpic_dns_climb *cl, int sel)
{
    return sel >= 0 ? (size_t)sel : cl->n - 1;
}

const char *mpic_dns_climb_cut(const struct mpic_dns_climb *cl, const char *name)
{
    return mpic_insecure_proof_cut(cl->proof, name);
}

bool mpic_dns_climb_unproven(const struct mpic_dns_climb *cl, size_t i, char *msg, size_t len)
{
    const struct mpic_dns_level *lv = &cl->lookups[i].lv;
    const char *missing = NULL;
    char alias[300];
    if (lv->ad)
        return false;
    if (mpic_insecure_proof_cut(cl->proof, lv->name) == NULL) {
        missing = lv->name;
    } else {
        for (size_t j = 0; j < lv->rrset.cname_chain.n && missing == NULL; j++) {
            if (mpic_insecure_proof_cut(cl->proof, lv->rrset.cname_chain.v[j]) != NULL)
                continue;
            snprintf(alias, sizeof alias, "%s", lv->rrset.cname_chain.v[j]);
            size_t n = strlen(alias);
            if (n > 1 && alias[n - 1] == '.')
                alias[n - 1] = '\0';
            missing = alias;
        }
    }
    if (missing == NULL)
        return false;
    snprintf(msg, len, "%s answer for %s was not validated by DNSSEC (AD=0) and %s%s is not proven Insecure "
             "(dnssec: require)", mpic_dns_type_name(cl->spec.qtype), lv->name,
             missing == lv->name ? "" : "its alias target ", missing);
    return true;
}

/* Maps one answer to the level's status, keeping the records or the reason. */
static enum mpic_caa_level classify(const struct mpic_dns_climb *cl, struct mpic_dns_level *lv,
                                    const struct mpic_dns_result *res)
{
    const char *t = mpic_dns_type_name(cl->spec.qtype);
    if (res->status != MPIC_DNS_OK) {
        snprintf(lv->error, sizeof lv->error, "%s lookup for %s failed: %s", t, lv->name, res->error);
        return MPIC_CAA_LEVEL_ERROR;
    }
    struct mpic_error err = {{0}};
    if (lv->rcode == LDNS_RCODE_NXDOMAIN && cl->spec.nxdomain_always_empty) {
        if (mpic_dns_answer_extract(res->pkt, lv->name, cl->spec.qtype, &lv->rrset, &err) < 0)
            mpic_dns_rrset_free(&lv->rrset);
        return MPIC_CAA_LEVEL_EMPTY;
    }
    if (lv->rcode != LDNS_RCODE_NOERROR && lv->rcode != LDNS_RCODE_NXDOMAIN) {
        char rc[24], ede[128], tries[32] = "";
        mpic_dns_ede_describe(lv->ede, ede, sizeof ede);
        if (cl->spec.name_tries)
            snprintf(tries, sizeof tries, " after %u %s", lv->tries, lv->tries == 1 ? "try" : "tries");
        snprintf(lv->error, sizeof lv->error, "%s lookup for %s failed: %s%s from %s%s", t, lv->name,
                 mpic_dns_rcode_text(lv->rcode, rc, sizeof rc), ede, res->server, tries);
        return MPIC_CAA_LEVEL_ERROR;
    }
    /* NXDOMAIN may still carry the CNAME chain that led to the missing name. */
    if (mpic_dns_answer_extract(res->pkt, lv->name, cl->spec.qtype, &lv->rrset, &err) < 0) {
        snprintf(lv->error, sizeof lv->error, "%s lookup for %s failed: %.300s (from %s)", t, lv->name, err.msg,
                 res->server);
        return MPIC_CAA_LEVEL_ERROR;
    }
    if (ldns_rr_list_rr_count(lv->rrset.rrs) == 0)
        return MPIC_CAA_LEVEL_EMPTY;   /* the rrset keeps the CNAME chain */
    if (cl->spec.vet != NULL && cl->spec.vet(lv, res->server) < 0) {
        mpic_dns_rrset_free(&lv->rrset);
        return MPIC_CAA_LEVEL_ERROR;
    }
    return MPIC_CAA_LEVEL_RECORDS;
}

static void on_proof_done(void *arg)
{
    struct mpic_dns_climb *cl = arg;
    cl->spec.cb(cl, cl->sel, NULL, cl->spec.arg);
}

/* The levels decided: start the proof the decision needs, or report. */
static void decided(struct mpic_dns_climb *cl, int sel)
{
    cl->sel = sel;
    if (sel == MPIC_CAA_SELECT_ERROR) {
        cl->spec.cb(cl, sel, NULL, cl->spec.arg);
        return;
    }
    size_t k = mpic_dns_climb_relevant_end(cl, sel);
    for (size_t i = k + 1; i < cl->n; i++) {   /* above the relevant level: not needed */
        mpic_resolver_cancel(cl->lookups[i].query);
        cl->lookups[i].query = NULL;
    }
    size_t cap = 0, n = 0;
    for (size_t i = 0; i <= k; i++)
        cap += 1 + cl->lookups[i].lv.rrset.cname_chain.n;
    const char **names = calloc(cap, sizeof *names);
    if (names == NULL) {
        cl->spec.cb(cl, sel, "out of memory", cl->spec.arg);
        return;
    }
    for (size_t i = 0; i <= k; i++) {
        const struct mpic_dns_level *lv = &cl->lookups[i].lv;
        if (lv->status == MPIC_CAA_LEVEL_ERROR) {
            if (cl->spec.proof_wanted != NULL && cl->spec.proof_wanted(lv))
                names[n++] = lv->name;
        } else if (cl->spec.require_dnssec && !lv->ad) {
            names[n++] = lv->name;
            for (size_t j = 0; j < lv->rrset.cname_chain.n; j++)
                names[n++] = lv->rrset.cname_chain.v[j];
        }
    }
    struct mpic_error err = {{0}};
    if (n > 0)
        cl->proof = mpic_insecure_proof_start(cl->resolver, names, n, on_proof_done, cl, &err);
    free(names);
    if (n == 0)
        cl->spec.cb(cl, sel, NULL, cl->spec.arg);
    else if (cl->proof == NULL)
        cl->spec.cb(cl, sel, err.msg, cl->spec.arg);
}

static void on_answer(struct mpic_dns_result *res, void *arg)
{
    struct lookup *lk = arg;
    struct mpic_dns_climb *cl = lk->climb;
    struct mpic_dns_level *lv = &lk->lv;

    lk->query = NULL;   /* the resolver frees it once we return */
    mpic_dns_rrset_free(&lv->rrset);   /* an earlier try's, after our own retry */
    lv->tries += res->tries;
    lv->answered = res->status == MPIC_DNS_OK;
    lv->ad = lv->answered && ldns_pkt_ad(res->pkt);
    lv->rcode = lv->answered ? (int)ldns_pkt_get_rcode(res->pkt) : -1;
    lv->ede = lv->answered ? mpic_dns_ede_code(res->pkt) : -1;
    enum mpic_caa_level st = classify(cl, lv, res);
    char rc[24];
    mpic_log(MPIC_LOG_DEBUG, "dns_lookup", "type=%s name=%s rcode=%s ad=%d ede=%d status=%d tcp=%d tries=%u "
             "server=%s", mpic_dns_type_name(cl->spec.qtype), lv->name,
             lv->answered ? mpic_dns_rcode_text(lv->rcode, rc, sizeof rc) : "none", lv->ad, lv->ede, (int)st,
             res->via_tcp, res->tries, res->server);

    /* BR 3.2.2.8 wants the failed lookup retried at least once; the resolver
     * only retries timeouts, so a quick SERVFAIL is asked once more here.
     * A DNSSEC failure never permits: no point asking again. */
    if (st == MPIC_CAA_LEVEL_ERROR && cl->spec.failures_count_empty && !lv->retried && lv->tries < 2 &&
        !(lv->answered && mpic_ede_is_dnssec(lv->ede))) {
        struct mpic_error err = {{0}};
        lv->retried = true;
        lk->query = mpic_resolver_query(cl->resolver, lv->name, cl->spec.qtype, on_answer, lk, &err);
        if (lk->query != NULL) {
            mpic_log(MPIC_LOG_DEBUG, "dns_retry", "name=%s after=\"%s\"", lv->name, lv->error);
            return;
        }
    }
    lv->status = st;

    enum mpic_caa_level tentative[MPIC_CAA_MAX_LEVELS];
    for (size_t i = 0; i < cl->n; i++) {
        enum mpic_caa_level s = cl->lookups[i].lv.status;
        tentative[i] = cl->spec.failures_count_empty && s == MPIC_CAA_LEVEL_ERROR ? MPIC_CAA_LEVEL_EMPTY : s;
    }
    int sel = mpic_caa_select_level(tentative, cl->n);
    if (sel != MPIC_CAA_SELECT_PENDING)
        decided(cl, sel);
}

struct mpic_dns_climb *mpic_dns_climb_start(struct mpic_resolver *r, const struct mpic_dns_climb_spec *spec,
                                            char **names, size_t n, struct mpic_error *err)
{
    struct mpic_dns_climb *cl = calloc(1, sizeof *cl);
    struct lookup *lookups = calloc(n > 0 ? n : 1, sizeof *lookups);
    if (cl == NULL || lookups == NULL || n == 0 || n > MPIC_CAA_MAX_LEVELS) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(cl);
        free(lookups);
        mpic_error_set(err, n == 0 || n > MPIC_CAA_MAX_LEVELS ? "no name to ask" : "out of memory");
        return NULL;
    }
    *cl = (struct mpic_dns_climb){ .spec = *spec, .resolver = r, .n = n, .lookups = lookups,
                                   .sel = MPIC_CAA_SELECT_PENDING };
    for (size_t i = 0; i < n; i++) {
        lookups[i].climb = cl;
        lookups[i].lv.name = names[i];
        lookups[i].lv.rcode = -1;
        lookups[i].lv.ede = -1;
        lookups[i].lv.status = MPIC_CAA_LEVEL_PENDING;
    }
    for (size_t i = 0; i < n; i++) {
        lookups[i].query = mpic_resolver_query(r, names[i], spec->qtype, on_answer, &lookups[i], err);
        if (lookups[i].query == NULL) {
            mpic_dns_climb_free(cl);
            return NULL;
        }
    }
    return cl;
}
