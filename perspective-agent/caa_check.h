/* The agent's CAA check: queries every level of the climb in parallel through
 * the resolver, selects the relevant RRset (common/caa.c) and decides. */
#ifndef MPIC_CAA_CHECK_H
#define MPIC_CAA_CHECK_H

#include <stdbool.h>

#include "caa.h"
#include "config.h"
#include "resolver.h"

struct mpic_caa_check_params {
    const char *target;              /* as requested: may start with "*.", may be an IP */
    enum mpic_cert_type cert_type;
    const char *const *issuer_domains;
    size_t n_issuer_domains;
    const char *account_uri;         /* may be NULL */
    const char *validation_method;   /* may be NULL */
    bool flag1_is_critical;
    /* BR 3.2.2.8 carve-out requested: a retried SERVFAIL on a zone proven
     * Insecure, without a DNSSEC error, counts as an empty level. */
    bool allow_lookup_failure;
    enum mpic_dnssec_mode dnssec;    /* agent.dns.dnssec */
};

struct mpic_caa_outcome {
    bool completed;
    bool passed;
    const char *error_type;       /* NULL or e.g. "mpic_error:caa_checker:lookup" (static string); with
                                   * passed, "mpic_error:caa_checker:lookup_failure_permitted" */
    char error_message[512];      /* when error_type != NULL */
    int record_present;           /* -1 = null (not determined), 0, 1 */
    char *found_at;               /* owned; NULL when no records */
    struct mpic_strv records_seen;/* owned presentation strings; v == NULL means null */
    enum mpic_caa_reason reason;  /* for logs */
    char ad_summary[96];          /* for logs: per level of the climb, 1 = AD, 0 = not AD, x = failed, - = not asked to the end */
};

/* cb receives the outcome (valid only during the call) exactly once, from
 * the event loop, unless cancelled. */
typedef void (*mpic_caa_check_cb)(const struct mpic_caa_outcome *o, void *arg);

struct mpic_caa_check;
struct mpic_caa_check *mpic_caa_check_start(struct mpic_resolver *r, const struct mpic_caa_check_params *p,
                                            mpic_caa_check_cb cb, void *arg, struct mpic_error *err);
void mpic_caa_check_cancel(struct mpic_caa_check *c);

#endif
