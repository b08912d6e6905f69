/* DNSSEC decisions on top of a validating resolver (see dnssec.h). The
 * resolver's AD bit tells us an answer was validated; what it does not tell
 * us is whether an authenticated "no DS" sits at a delegation. A signed
 * NODATA for DS at a name that is not a zone cut (www in a signed zone)
 * proves nothing about insecurity, so the NSEC / NSEC3 at the name must show
 * NS without DS (and without SOA, which would make it the child's apex). */
#include "dnssec.h"

#include <stdio.h>

#include "dnsanswer.h"

#include <string.h>

static bool bitmap_is_unsigned_cut(const ldns_rdf *bitmap)
{
    return bitmap != NULL && ldns_nsec_bitmap_covers_type(bitmap, LDNS_RR_TYPE_NS) &&
           !ldns_nsec_bitmap_covers_type(bitmap, LDNS_RR_TYPE_DS) &&
           !ldns_nsec_bitmap_covers_type(bitmap, LDNS_RR_TYPE_SOA);
}

/* The NSEC3 whose hashed owner is qname's hash (RFC 5155 §7.2.4 exact match). */
static bool nsec3_matches(const ldns_rr *rr, const ldns_rdf *qname)
{
    ldns_rdf *hashed = ldns_nsec3_hash_name_frm_nsec3(rr, qname);
    ldns_rdf *first = ldns_dname_label(ldns_rr_owner(rr), 0);
    bool same = hashed != NULL && first != NULL && ldns_dname_compare(hashed, first) == 0;
    ldns_rdf_deep_free(hashed);
    ldns_rdf_deep_free(first);
    return same;
}

enum mpic_ds_evidence mpic_dnssec_ds_evidence(const ldns_pkt *pkt, const char *name)
{
    if (pkt == NULL || name == NULL || !ldns_pkt_ad(pkt))
        return MPIC_DS_NOTHING;
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
    if (rcode == LDNS_RCODE_NXDOMAIN)
        return MPIC_DS_NO_CUT;
    if (rcode != LDNS_RCODE_NOERROR)
        return MPIC_DS_NOTHING;
    ldns_rdf *qname = mpic_dns_dname_absolute(name);
    if (qname == NULL)
        return MPIC_DS_NOTHING;

    enum mpic_ds_evidence ev = MPIC_DS_NO_CUT;
    const ldns_rr_list *answer = ldns_pkt_answer(pkt);
    for (size_t i = 0; answer != NULL && i < ldns_rr_list_rr_count(answer); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS && ldns_dname_compare(ldns_rr_owner(rr), qname) == 0) {
            ev = MPIC_DS_SIGNED;
            goto done;
        }
    }
    const ldns_rr_list *auth = ldns_pkt_authority(pkt);
    for (size_t i = 0; auth != NULL && i < ldns_rr_list_rr_count(auth); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(auth, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if (t == LDNS_RR_TYPE_NSEC && ldns_dname_compare(ldns_rr_owner(rr), qname) == 0) {
            ev = bitmap_is_unsigned_cut(ldns_nsec_get_bitmap(rr)) ? MPIC_DS_UNSIGNED_CUT : MPIC_DS_NO_CUT;
            goto done;
        }
        if (t == LDNS_RR_TYPE_NSEC3 && nsec3_matches(rr, qname)) {
            ev = bitmap_is_unsigned_cut(ldns_nsec3_bitmap(rr)) ? MPIC_DS_UNSIGNED_CUT : MPIC_DS_NO_CUT;
            goto done;
        }
    }
done:
    ldns_rdf_deep_free(qname);
    return ev;
}

const char *mpic_ds_evidence_text(enum mpic_ds_evidence e)
{
    switch (e) {
    case MPIC_DS_SIGNED: return "DS present (validated)";
    case MPIC_DS_UNSIGNED_CUT: return "validated delegation without DS";
    case MPIC_DS_NO_CUT: return "validated denial, not a delegation";
    case MPIC_DS_NOTHING: break;
    }
    return "no validated answer";
}

int mpic_dnssec_insecure_at(const enum mpic_ds_evidence *ev, size_t n)
{
    for (size_t i = 0; ev != NULL && i < n; i++) {
        if (ev[i] != MPIC_DS_UNSIGNED_CUT)
            continue;
        /* A validated DS below an unsigned cut cannot exist: do not trust either. */
        for (size_t j = 0; j < i; j++)
            if (ev[j] == MPIC_DS_SIGNED)
                return -1;
        return (int)i;
    }
    return -1;
}

int mpic_dns_ede_code(const ldns_pkt *pkt)
{
    ldns_edns_option_list *opts = pkt ? ldns_pkt_edns_get_option_list((ldns_pkt *)pkt) : NULL;
    for (size_t i = 0; opts != NULL && i < ldns_edns_option_list_get_count(opts); i++) {
        const ldns_edns_option *o = ldns_edns_option_list_get_option(opts, i);
        if (ldns_edns_get_code(o) != LDNS_EDNS_EDE || ldns_edns_get_size(o) < 2)
            continue;
        const uint8_t *d = ldns_edns_get_data(o);
        return (int)((unsigned)d[0] << 8 | d[1]);
    }
    return -1;
}

bool mpic_ede_is_dnssec(int code)
{
    return code >= 1 && code <= 12;
}

enum mpic_lf_verdict mpic_lookup_failure_verdict(const struct mpic_lookup_failure *f)
{
    if (f->answered && mpic_ede_is_dnssec(f->ede))
        return MPIC_LF_DNSSEC_FAILURE;
    if (!f->answered || f->rcode != LDNS_RCODE_SERVFAIL)
        return MPIC_LF_NOT_EXTERNAL;
    if (f->tries < 2)
        return MPIC_LF_NOT_RETRIED;
    if (!f->insecure_proven)
        return MPIC_LF_NOT_INSECURE;
    return MPIC_LF_PERMITTED;
}

const char *mpic_lf_verdict_text(enum mpic_lf_verdict v)
{
    switch (v) {
    case MPIC_LF_PERMITTED:
        return "the lookup was retried, the failure is outside our infrastructure (SERVFAIL from the "
               "recursive resolver, no DNSSEC error) and the zone is proven Insecure";
    case MPIC_LF_DNSSEC_FAILURE:
        return "the failure is a DNSSEC validation failure, which never permits";
    case MPIC_LF_NOT_EXTERNAL:
        return "the failure is not a SERVFAIL from the recursive resolver (a timeout, refusal or "
               "local resolver error is not shown to be outside our infrastructure)";
    case MPIC_LF_NOT_RETRIED:
        return "the lookup was not retried";
    case MPIC_LF_NOT_INSECURE:
        return "the zone is not proven Insecure (no validated proof of no DS)";
    }
    return "unknown";
}

/* RFC 8914 names, so that a bogus zone reads as such in an error message. */
static const char *ede_name(unsigned code)
{
    static const char *const names[] = {
        "Other Error", "Unsupported DNSKEY Algorithm", "Unsupported DS Digest Type",
        "Stale Answer", "Forged Answer", "DNSSEC Indeterminate", "DNSSEC Bogus",
        "Signature Expired", "Signature Not Yet Valid", "DNSKEY Missing", "RRSIGs Missing",
        "No Zone Key Bit Set", "NSEC Missing", "Cached Error", "Not Ready", "Blocked",
        "Censored", "Filtered", "Prohibited", "Stale NXDOMAIN Answer", "Not Authoritative",
        "Not Supported", "No Reachable Authority", "Network Error", "Invalid Data",
    };
    return code < sizeof names / sizeof names[0] ? names[code] : "unknown";
}

void mpic_dns_ede_describe(int code, char *buf, size_t len)
{
    buf[0] = '\0';
    if (code >= 0)
        snprintf(buf, len, " (EDE %d %s)", code, ede_name((unsigned)code));
}
