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
#include "dcv_dns_observe.h"

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

#endif
