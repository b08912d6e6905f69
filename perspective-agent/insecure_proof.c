#include "insecure_proof.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caa.h"
#include "dnsanswer.h"
#include "dnssec.h"
#include "log.h"

/* One DS lookup, shared by every name that has this ancestor. Allocated one
 * by one: the resolver holds a pointer to it until it answers. */
struct ds_lookup {
    struct mpic_insecure_proof *proof;
    char *name;
    struct mpic_dns_query *query;   /* NULL once answered */
    enum mpic_ds_evidence ev;
};

struct mpic_insecure_proof {
    struct mpic_resolver *resolver;
    mpic_insecure_proof_cb cb;
    void *arg;
    struct ds_lookup **ds;
    size_t n_ds, cap_ds, pending;
    struct event *none;             /* nothing to ask: reports from the loop */
};

void mpic_insecure_proof_free(struct mpic_insecure_proof *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_ds; i++) {
        mpic_resolver_cancel(p->ds[i]->query);
        free(p->ds[i]->name);
        free(p->ds[i]);
    }
    free(p->ds);
    if (p->none != NULL)
        event_free(p->none);
    free(p);
}

static struct ds_lookup *ds_find(const struct mpic_insecure_proof *p, const char *name)
{
    for (size_t i = 0; i < p->n_ds; i++)
        if (strcasecmp(p->ds[i]->name, name) == 0)
            return p->ds[i];
    return NULL;
}

static void on_ds_answer(struct mpic_dns_result *res, void *arg)
{
    struct ds_lookup *d = arg;
    struct mpic_insecure_proof *p = d->proof;
    d->query = NULL;   /* the resolver frees it once we return */
    d->ev = res->status == MPIC_DNS_OK ? mpic_dnssec_ds_evidence(res->pkt, d->name) : MPIC_DS_NOTHING;
    char rc[24];
    if (res->status == MPIC_DNS_OK)
        mpic_log(MPIC_LOG_DEBUG, "dns_lookup", "type=DS name=%s rcode=%s ad=%d ede=%d tries=%u server=%s "
                 "evidence=\"%s\"", d->name, mpic_dns_rcode_text((int)ldns_pkt_get_rcode(res->pkt), rc, sizeof rc),
                 ldns_pkt_ad(res->pkt), mpic_dns_ede_code(res->pkt), res->tries, res->server,
                 mpic_ds_evidence_text(d->ev));
    else
        mpic_log(MPIC_LOG_DEBUG, "dns_lookup", "type=DS name=%s error=\"%s\"", d->name, res->error);
    if (--p->pending == 0)
        p->cb(p->arg);   /* may free p */
}

static void on_none(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_insecure_proof *p = arg;
    p->cb(p->arg);
}

/* name without a trailing dot, in buf; -1 when it does not fit. */
static int bare_name(const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.')
        n--;
    if (n >= len)
        return -1;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return 0;
}

/* Asks DS at name and each ancestor not asked yet. -1 when a lookup cannot start. */
static int want(struct mpic_insecure_proof *p, const char *name, struct mpic_error *err)
{
    char bare[300];
    char *names[MPIC_CAA_MAX_LEVELS];
    int n = bare_name(name, bare, sizeof bare) == 0 ? mpic_caa_climb_names(bare, names, MPIC_CAA_MAX_LEVELS) : -1;
    if (n <= 0)
        return mpic_error_set(err, "cannot prove %s Insecure: not a domain name to climb", name);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && ds_find(p, names[i]) == NULL) {
            struct ds_lookup *d = NULL;
            if (p->n_ds == p->cap_ds) {
                size_t cap = p->cap_ds ? 2 * p->cap_ds : 16;
                struct ds_lookup **nds = realloc(p->ds, cap * sizeof *nds);
                if (nds != NULL) {
                    p->ds = nds;
                    p->cap_ds = cap;
                }
            }
            if (p->n_ds < p->cap_ds)
                d = calloc(1, sizeof *d);
            if (d == NULL) {
                rc = mpic_error_set(err, "cannot prove %s Insecure: out of memory", name);
            } else {
                d->proof = p;
                d->name = names[i];
                names[i] = NULL;
                d->ev = MPIC_DS_NOTHING;
                p->ds[p->n_ds++] = d;
                struct mpic_error qerr = {{0}};
                d->query = mpic_resolver_query(p->resolver, d->name, LDNS_RR_TYPE_DS, on_ds_answer, d, &qerr);
                if (d->query == NULL)
                    rc = mpic_error_set(err, "cannot look up DS %s: %s", d->name, qerr.msg);
                else
                    p->pending++;
            }
        }
        free(names[i]);
    }
    return rc;
}

struct mpic_insecure_proof *mpic_insecure_proof_start(struct mpic_resolver *r, const char *const *names, size_t n,
                                                      mpic_insecure_proof_cb cb, void *arg, struct mpic_error *err)
{
    if (r == NULL || cb == NULL || (n > 0 && names == NULL)) {
        mpic_error_set(err, "Insecure proof: missing resolver, names or callback");
        return NULL;
    }
    struct mpic_insecure_proof *p = calloc(1, sizeof *p);
    if (p == NULL) {
        mpic_error_set(err, "Insecure proof: out of memory");
        return NULL;
    }
    p->resolver = r;
    p->cb = cb;
    p->arg = arg;
    for (size_t i = 0; i < n; i++)
        if (want(p, names[i], err) < 0)
            goto fail;
    if (p->pending == 0) {
        struct timeval now = { 0, 0 };
        p->none = evtimer_new(mpic_resolver_base(r), on_none, p);
        if (p->none == NULL || evtimer_add(p->none, &now) < 0) {
            mpic_error_set(err, "Insecure proof: cannot schedule");
            goto fail;
        }
    }
    return p;

fail:
    mpic_insecure_proof_free(p);
    return NULL;
}

const char *mpic_insecure_proof_cut(const struct mpic_insecure_proof *p, const char *name)
{
    char bare[300];
    char *names[MPIC_CAA_MAX_LEVELS];
    enum mpic_ds_evidence ev[MPIC_CAA_MAX_LEVELS];
    const struct ds_lookup *found[MPIC_CAA_MAX_LEVELS];
    if (p == NULL || name == NULL || bare_name(name, bare, sizeof bare) < 0)
        return NULL;
    int n = mpic_caa_climb_names(bare, names, MPIC_CAA_MAX_LEVELS);
    if (n <= 0)
        return NULL;
    for (int i = 0; i < n; i++) {
        found[i] = ds_find(p, names[i]);
        ev[i] = found[i] != NULL ? found[i]->ev : MPIC_DS_NOTHING;
        free(names[i]);
    }
    int at = mpic_dnssec_insecure_at(ev, (size_t)n);
    return at >= 0 && found[at] != NULL ? found[at]->name : NULL;
}
