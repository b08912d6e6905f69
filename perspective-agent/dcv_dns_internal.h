/* What dcv_dns.c and dcv_dns_observe.c share: the state of one DNS DCV
 * check and the two steps the lifecycle hands to the observing side (what to
 * ask, and what an answer's records show). Private to the agent's DNS check;
 * the public interface is dcv_check.h. */
#ifndef MPIC_DCV_DNS_INTERNAL_H
#define MPIC_DCV_DNS_INTERNAL_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>

#include "caa.h"
#include "dcv_check.h"
#include "dnsanswer.h"
#include "dns_climb.h"

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

/* Works out qtype and the name(s) to ask. Returns 0, or -1 with a parameter
 * problem in msg (reported through the callback), or -2 when the parameters
 * can never match (an ip-address value that is no address of the record
 * type): a completed check that did not pass, as the reference answers it,
 * with msg naming the value. names: MPIC_CAA_MAX_LEVELS slots. */
int mpic_dcv_dns_plan(struct mpic_dcv_dns *c, const char *target, const struct mpic_target *ti, char **names,
                      size_t *n_names, char *msg, size_t msg_len);

/* Adds rr's presentation to seen and says whether it corroborates. -1 when
 * the record cannot be read (fails the lookup closed) or memory ran out. */
int mpic_dcv_dns_observe(struct mpic_dcv_dns *c, const ldns_rr *rr, struct mpic_strv *seen, bool *match);

#endif
