/* DNSSEC decisions the agent makes on top of its validating resolver: what a
 * DS answer proves, whether a name is proven Insecure (RFC 4035 §4.3), and
 * whether a CAA lookup failure may count as permission (BR §3.2.2.8).
 * Pure: works on parsed ldns packets and plain facts, does no I/O. */
#ifndef MPIC_DNSSEC_H
#define MPIC_DNSSEC_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>

/* What the answer to "DS name" proves. */
enum mpic_ds_evidence {
    MPIC_DS_NOTHING,     /* failed, not authenticated (AD=0), or any other rcode */
    MPIC_DS_SIGNED,      /* AD=1 and a DS RRset at name: a secure delegation */
    MPIC_DS_UNSIGNED_CUT,/* AD=1, NODATA, and the NSEC / NSEC3 matching name shows NS without
                          * DS and SOA: an authenticated delegation without DS */
    MPIC_DS_NO_CUT,      /* AD=1 denial that is not a delegation: a name inside a signed zone,
                          * an NXDOMAIN, or a denial we cannot tie to a zone cut (opt-out) */
};

/* Reads the answer to a DS query for name (no trailing dot needed). */
enum mpic_ds_evidence mpic_dnssec_ds_evidence(const ldns_pkt *pkt, const char *name);
const char *mpic_ds_evidence_text(enum mpic_ds_evidence e);

/* Given the evidence for a name (index 0) and each of its ancestors up to the
 * TLD (index n-1), returns the index of the delegation that proves the name
 * Insecure, or -1. A DS with AD=1 below that cut contradicts it: -1 then. */
int mpic_dnssec_insecure_at(const enum mpic_ds_evidence *ev, size_t n);

/* The first RFC 8914 Extended DNS Error code in pkt, or -1. */
int mpic_dns_ede_code(const ldns_pkt *pkt);
/* " (EDE 6 DNSSEC Bogus)" for an Extended DNS Error code, "" for -1. */
void mpic_dns_ede_describe(int code, char *buf, size_t len);
/* EDE codes 1-12 report DNSSEC validation failures (RFC 8914 §5.2-5.13). */
bool mpic_ede_is_dnssec(int code);

/* One failed CAA lookup, as the BR §3.2.2.8 carve-out sees it. */
struct mpic_lookup_failure {
    bool answered;         /* the recursive resolver answered (else: timeout, network error) */
    int rcode;             /* when answered */
    int ede;               /* first EDE code, -1 without */
    unsigned tries;        /* queries sent for this level, our own retry included */
    bool insecure_proven;  /* mpic_dnssec_insecure_at() found a cut */
};

enum mpic_lf_verdict {
    MPIC_LF_PERMITTED,
    MPIC_LF_DNSSEC_FAILURE,  /* a validation failure never permits */
    MPIC_LF_NOT_EXTERNAL,    /* our own resolver timed out, refused or errred: inside the CA */
    MPIC_LF_NOT_RETRIED,
    MPIC_LF_NOT_INSECURE,
};

/* Checks the conditions in the order above and returns the first that fails.
 * Only a SERVFAIL from the recursive resolver counts as a failure outside our
 * infrastructure: it reached the authoritative side and could not get an
 * answer there. */
enum mpic_lf_verdict mpic_lookup_failure_verdict(const struct mpic_lookup_failure *f);
/* Why, in a few words, e.g. "the zone is not proven Insecure (no validated proof of no DS)". */
const char *mpic_lf_verdict_text(enum mpic_lf_verdict v);

#endif
