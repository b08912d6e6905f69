/* Reading answers: which records of a response answer (qname, qtype) once the
 * CNAME chain that a recursive resolver puts in the answer section is
 * followed. Pure: works on a parsed ldns_pkt, does no I/O. */
#ifndef MPIC_DNSANSWER_H
#define MPIC_DNSANSWER_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>

#include "caa.h"
#include "error.h"
#include "strv.h"

#define MPIC_DNS_MAX_CNAME_CHAIN 16

struct mpic_dns_rrset {
    ldns_rr_list *rrs;          /* clones of the matching records (owned); empty when none */
    char *final_name;           /* owner name at the end of the chain, no trailing dot (owned) */
    struct mpic_strv cname_chain; /* CNAME targets followed, absolute with trailing dot (owned) */
};

/* Follows CNAMEs from qname (no trailing dot needed; compared case-insensitively)
 * through the answer section and collects the qtype records owned by the final
 * name. A chain longer than MPIC_DNS_MAX_CNAME_CHAIN or a loop is an error.
 * A chain that ends without qtype records yields an empty set (not an error). */
int mpic_dns_answer_extract(const ldns_pkt *pkt, const char *qname, ldns_rr_type qtype,
                            struct mpic_dns_rrset *out, struct mpic_error *err);
void mpic_dns_rrset_free(struct mpic_dns_rrset *s);

/* Absolute dname for a name given with or without its trailing dot; NULL
 * when it is not a name. The caller frees it. */
ldns_rdf *mpic_dns_dname_absolute(const char *name);

/* Presentation text of a domain-name rdata, with or without its trailing
 * dot (malloc'd); NULL when d is not a dname or memory ran out. */
char *mpic_dns_dname_text(const ldns_rdf *d, bool trailing_dot);

/* "NXDOMAIN", "SERVFAIL", ... or "rcode N" (written into buf) for a code
 * ldns has no name for. For messages and logs. */
const char *mpic_dns_rcode_text(int rcode, char *buf, size_t len);

/* "A", "AAAA", "CNAME", "TXT", "CAA", "PTR", "DS", else "DNS": the type a
 * message names. */
const char *mpic_dns_type_name(ldns_rr_type t);

/* One CAA RR as ldns decodes it: flags (int8), tag (length-prefixed), value
 * (the rest, absent when empty). The record points into rr. -1 when the
 * RDATA does not have that shape. */
int mpic_dns_caa_decode(const ldns_rr *rr, struct mpic_caa_record *out);

#endif
