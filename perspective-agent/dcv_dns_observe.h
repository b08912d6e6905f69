/* The observing side of the agent's DNS DCV methods, as pure rules: which
 * name(s) and record type each method asks for, and how one answered record
 * becomes its records_seen text and a match or not. No resolver, clock or
 * log: dcv_dns.c runs the lookups and hands the answers here, and unit tests
 * (tests/unit/test_agent_dns_observe.c) hand it records they build. */
#ifndef MPIC_DCV_DNS_OBSERVE_H
#define MPIC_DCV_DNS_OBSERVE_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dcv.h"
#include "target.h"

/* The question(s) of p's method for target (ti: its parse). Returns 0 with
 * *qtype and names[0..*n_names) (malloc'd, lower case; names has
 * MPIC_CAA_MAX_LEVELS slots: every level for contact-*-caa, else one), or
 * -1 with a parameter problem in msg, or -2 when the parameters can never
 * match (an ip-address value that is no address of the record type): a
 * completed check that did not pass, as the reference answers it, with msg
 * naming the value. */
int mpic_dcv_dns_plan(const struct mpic_dcv_params *p, const char *target, const struct mpic_target *ti,
                      ldns_rr_type *qtype, char **names, size_t *n_names, char *msg, size_t msg_len);

/* One answered record of a check with parameters p (wildcard: the target
 * is a wildcard; now: for dns-persistent's persistUntil). *shown: its
 * records_seen text (malloc'd); *match: whether it corroborates. A
 * dns-persistent record that does not is usually another CA's: why says
 * what it lacks (else why is ""). -1 when the record cannot be read (the
 * lookup then fails closed) or memory ran out. */
int mpic_dcv_dns_observe(const struct mpic_dcv_params *p, bool wildcard, time_t now, const ldns_rr *rr,
                         char **shown, bool *match, char *why, size_t why_len);

#endif
