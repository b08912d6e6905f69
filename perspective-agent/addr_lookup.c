/* The agent's A/AAAA lookup for the names it connects to; the policy is in
 * addr_lookup.h. */
#include "addr_lookup.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsanswer.h"
#include "netaddr.h"

enum { V4, V6 };

struct mpic_addr_lookup {
    mpic_addr_lookup_cb cb;
    void *arg;
    char *host;
    struct mpic_dns_query *q[2];    /* A, AAAA; NULL once answered */
    struct mpic_addr_list found[2];
    char error[2][400];             /* why that family's lookup failed, "" when it did not */
};

static int add(struct mpic_addr_list *l, int family, const unsigned char *bytes)
{
    if (l->n >= MPIC_ADDR_LOOKUP_MAX)
        return -1;
    struct mpic_addr *a = &l->a[l->n++];
    memset(a, 0, sizeof *a);
    a->family = family;
    memcpy(a->bytes, bytes, family == AF_INET ? 4 : 16);
    inet_ntop(family, bytes, a->text, sizeof a->text);
    return 0;
}

int mpic_addr_list_add_literal(struct mpic_addr_list *l, const char *ip)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, ip, b) == 1)
        return add(l, AF_INET, b);
    if (inet_pton(AF_INET6, ip, b) == 1)
        return add(l, AF_INET6, b);
    return -1;
}

const struct mpic_addr *mpic_addr_list_refused(const struct mpic_addr_list *l, bool allow_private, const char **why)
{
    for (size_t i = 0; i < l->n && !allow_private; i++) {
        *why = NULL;
        if (mpic_addr_is_reserved(l->a[i].text, why)) {
            if (*why == NULL)
                *why = "reserved";
            return &l->a[i];
        }
    }
    return NULL;
}

socklen_t mpic_addr_sockaddr(const struct mpic_addr *a, unsigned port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        s->sin_port = htons((uint16_t)port);
        memcpy(&s->sin_addr, a->bytes, 4);
        return sizeof *s;
    }
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    memcpy(&s->sin6_addr, a->bytes, 16);
    return sizeof *s;
}

void mpic_addr_lookup_cancel(struct mpic_addr_lookup *l)
{
    if (l == NULL)
        return;
    mpic_resolver_cancel(l->q[V4]);
    mpic_resolver_cancel(l->q[V6]);
    free(l->host);
    free(l);
}

/* Reads one family's answer into l->found[fam], or the reason into l->error[fam]. */
static void read_answer(struct mpic_addr_lookup *l, int fam, const struct mpic_dns_result *res)
{
    ldns_rr_type type = fam == V4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
    const char *tname = mpic_dns_type_name(type);
    char *why = l->error[fam];
    size_t len = sizeof l->error[fam];
    if (res->status != MPIC_DNS_OK) {
        snprintf(why, len, "%s lookup for %s failed: %s", tname, l->host, res->error);
        return;
    }
    int rcode = (int)ldns_pkt_get_rcode(res->pkt);
    if (rcode != LDNS_RCODE_NOERROR) {
        char rc[24];
        snprintf(why, len, "%s lookup for %s failed: %s from %s", tname, l->host,
                 mpic_dns_rcode_text(rcode, rc, sizeof rc), res->server);
        return;
    }
    struct mpic_dns_rrset set = { 0 };
    struct mpic_error err = { { 0 } };
    if (mpic_dns_answer_extract(res->pkt, l->host, type, &set, &err) < 0) {
        snprintf(why, len, "%s lookup for %s failed: %.200s (from %s)", tname, l->host, err.msg, res->server);
        return;
    }
    size_t want = fam == V4 ? 4 : 16;
    for (size_t k = 0; k < ldns_rr_list_rr_count(set.rrs); k++) {
        const ldns_rdf *rd = ldns_rr_rdf(ldns_rr_list_rr(set.rrs, k), 0);
        if (rd != NULL && ldns_rdf_size(rd) == want &&
            add(&l->found[fam], fam == V4 ? AF_INET : AF_INET6, ldns_rdf_data(rd)) < 0)
            break;
    }
    mpic_dns_rrset_free(&set);
}

static void on_answer(struct mpic_addr_lookup *l, int fam, struct mpic_dns_result *res)
{
    l->q[fam] = NULL;   /* the resolver frees it once we return */
    read_answer(l, fam, res);
    if (l->q[V4] != NULL || l->q[V6] != NULL)
        return;
    struct mpic_addr_list all = { .n = 0 };
    for (int f = V4; f <= V6; f++)
        for (size_t i = 0; i < l->found[f].n && all.n < MPIC_ADDR_LOOKUP_MAX; i++)
            all.a[all.n++] = l->found[f].a[i];
    char none[400];
    const char *error = NULL;
    if (all.n == 0) {
        snprintf(none, sizeof none, "%s has no A or AAAA records", l->host);
        error = l->error[V4][0] ? l->error[V4] : l->error[V6][0] ? l->error[V6] : none;
    }
    l->cb(all.n > 0 ? &all : NULL, error, l->arg);
    mpic_addr_lookup_cancel(l);
}

static void on_a(struct mpic_dns_result *res, void *arg)
{
    on_answer(arg, V4, res);
}

static void on_aaaa(struct mpic_dns_result *res, void *arg)
{
    on_answer(arg, V6, res);
}

struct mpic_addr_lookup *mpic_addr_lookup_start(struct mpic_resolver *r, const char *host, mpic_addr_lookup_cb cb,
                                                void *arg, struct mpic_error *err)
{
    struct mpic_addr_lookup *l = calloc(1, sizeof *l);
    if (l == NULL || (l->host = strdup(host)) == NULL) {
        free(l);
        mpic_error_set(err, "lookup of %s: out of memory", host);
        return NULL;
    }
    l->cb = cb;
    l->arg = arg;
    struct mpic_error qerr = { { 0 } };
    l->q[V4] = mpic_resolver_query(r, host, LDNS_RR_TYPE_A, on_a, l, &qerr);
    if (l->q[V4] != NULL)
        l->q[V6] = mpic_resolver_query(r, host, LDNS_RR_TYPE_AAAA, on_aaaa, l, &qerr);
    if (l->q[V4] == NULL || l->q[V6] == NULL) {
        mpic_error_set(err, "%s lookup for %s: %s", l->q[V4] == NULL ? "A" : "AAAA", host, qerr.msg);
        mpic_addr_lookup_cancel(l);
        return NULL;
    }
    return l;
}
