/* Reading an answer section the way RFC 1034 §4.3.2 builds it: a recursive
 * resolver puts the CNAME chain it followed in front of the records of the
 * final name, so the records that answer (qname, qtype) are the ones owned by
 * the end of that chain, not every record of qtype in the section. Records of
 * other owners (stray or injected data) are never taken. */
#include "dnsanswer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Absolute dname for a name given with or without its trailing dot. */
ldns_rdf *mpic_dns_dname_absolute(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return NULL;
    if (name[len - 1] == '.')
        return ldns_dname_new_frm_str(name);
    char *dotted = malloc(len + 2);
    if (dotted == NULL)
        return NULL;
    memcpy(dotted, name, len);
    dotted[len] = '.';
    dotted[len + 1] = '\0';
    ldns_rdf *d = ldns_dname_new_frm_str(dotted);
    free(dotted);
    return d;
}

static bool same_name(const ldns_rdf *a, const ldns_rdf *b)
{
    return ldns_dname_compare(a, b) == 0;
}

/* The CNAME owned by name in the answer section, or NULL. */
static const ldns_rr *find_cname(const ldns_rr_list *answer, const ldns_rdf *name)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && ldns_rr_rd_count(rr) == 1 &&
            ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME &&
            same_name(ldns_rr_owner(rr), name))
            return rr;
    }
    return NULL;
}

char *mpic_dns_dname_text(const ldns_rdf *d, bool trailing_dot)
{
    if (d == NULL || ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME)
        return NULL;
    char *s = ldns_rdf2str(d);
    if (s == NULL)
        return NULL;
    size_t len = strlen(s);
    if (trailing_dot && (len == 0 || s[len - 1] != '.')) {
        char *t = realloc(s, len + 2);
        if (t == NULL) {
            free(s);
            return NULL;
        }
        s = t;
        s[len] = '.';
        s[len + 1] = '\0';
    } else if (!trailing_dot && len > 1 && s[len - 1] == '.') {
        s[len - 1] = '\0';
    }
    return s;
}

int mpic_dns_answer_extract(const ldns_pkt *pkt, const char *qname, ldns_rr_type qtype,
                            struct mpic_dns_rrset *out, struct mpic_error *err)
{
    memset(out, 0, sizeof *out);
    ldns_rdf *visited[MPIC_DNS_MAX_CNAME_CHAIN + 1];
    size_t n_visited = 0;

    if (pkt == NULL || qname == NULL)
        return mpic_error_set(err, "answer for %s: no packet", qname ? qname : "(null)");
    ldns_rdf *start = mpic_dns_dname_absolute(qname);
    if (start == NULL)
        return mpic_error_set(err, "answer for %s: not a valid domain name", qname);
    visited[n_visited++] = start;
    out->rrs = ldns_rr_list_new();
    if (out->rrs == NULL) {
        mpic_error_set(err, "answer for %s: out of memory", qname);
        goto fail;
    }

    const ldns_rr_list *answer = ldns_pkt_answer(pkt);
    const ldns_rdf *cur = start;
    /* Asking for CNAME itself means the CNAME is the answer, not an alias. */
    while (qtype != LDNS_RR_TYPE_CNAME && answer != NULL) {
        const ldns_rr *cname = find_cname(answer, cur);
        if (cname == NULL)
            break;
        const ldns_rdf *target = ldns_rr_rdf(cname, 0);
        for (size_t i = 0; i < n_visited; i++) {
            if (same_name(visited[i], target)) {
                char *t = mpic_dns_dname_text(target, true);
                mpic_error_set(err, "answer for %s: CNAME loop at %s", qname, t ? t : "?");
                free(t);
                goto fail;
            }
        }
        if (n_visited > MPIC_DNS_MAX_CNAME_CHAIN) {
            mpic_error_set(err, "answer for %s: CNAME chain longer than %d", qname,
                           MPIC_DNS_MAX_CNAME_CHAIN);
            goto fail;
        }
        char *t = mpic_dns_dname_text(target, true);
        if (t == NULL || mpic_strv_push(&out->cname_chain, t) < 0) {
            free(t);
            mpic_error_set(err, "answer for %s: out of memory", qname);
            goto fail;
        }
        visited[n_visited] = ldns_rdf_clone(target);
        if (visited[n_visited] == NULL) {
            mpic_error_set(err, "answer for %s: out of memory", qname);
            goto fail;
        }
        cur = visited[n_visited++];
    }

    for (size_t i = 0; answer != NULL && i < ldns_rr_list_rr_count(answer); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) != qtype || !same_name(ldns_rr_owner(rr), cur))
            continue;
        ldns_rr *c = ldns_rr_clone(rr);
        if (c == NULL || !ldns_rr_list_push_rr(out->rrs, c)) {
            ldns_rr_free(c);
            mpic_error_set(err, "answer for %s: out of memory", qname);
            goto fail;
        }
    }
    out->final_name = mpic_dns_dname_text(cur, false);
    if (out->final_name == NULL) {
        mpic_error_set(err, "answer for %s: out of memory", qname);
        goto fail;
    }
    for (size_t i = 0; i < n_visited; i++)
        ldns_rdf_deep_free(visited[i]);
    return 0;

fail:
    for (size_t i = 0; i < n_visited; i++)
        ldns_rdf_deep_free(visited[i]);
    mpic_dns_rrset_free(out);
    return -1;
}

void mpic_dns_rrset_free(struct mpic_dns_rrset *s)
{
    if (s == NULL)
        return;
    ldns_rr_list_deep_free(s->rrs);
    free(s->final_name);
    mpic_strv_free(&s->cname_chain);
    memset(s, 0, sizeof *s);
}

int mpic_dns_caa_decode(const ldns_rr *rr, struct mpic_caa_record *out)
{
    size_t n = ldns_rr_rd_count(rr);
    if (n != 2 && n != 3)
        return -1;
    const ldns_rdf *flags = ldns_rr_rdf(rr, 0);
    const ldns_rdf *tag = ldns_rr_rdf(rr, 1);
    if (ldns_rdf_size(flags) != 1 || ldns_rdf_size(tag) < 1 || ldns_rdf_data(tag)[0] != ldns_rdf_size(tag) - 1)
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

const char *mpic_dns_rcode_text(int rcode, char *buf, size_t len)
{
    const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, rcode);
    if (t != NULL)
        return t->name;
    snprintf(buf, len, "rcode %d", rcode);
    return buf;
}

const char *mpic_dns_type_name(ldns_rr_type t)
{
    switch (t) {
    case LDNS_RR_TYPE_A: return "A";
    case LDNS_RR_TYPE_AAAA: return "AAAA";
    case LDNS_RR_TYPE_CNAME: return "CNAME";
    case LDNS_RR_TYPE_TXT: return "TXT";
    case LDNS_RR_TYPE_CAA: return "CAA";
    case LDNS_RR_TYPE_PTR: return "PTR";
    case LDNS_RR_TYPE_DS: return "DS";
    default: return "DNS";
    }
}
