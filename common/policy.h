/* Compliance policy: the CA/Browser Forum BR §3.2.2.9 phase-in and the
 * validation methods the BRs retire, as pure functions of an injected "now". Profiles: "cabf-br" (default) enforces the
 * phase in force; "open-mpic-reference" keeps the reference semantics for
 * interoperability tests. */
#ifndef MPIC_POLICY_H
#define MPIC_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "error.h"

struct mpic_perspective;

enum mpic_policy_profile { MPIC_PROFILE_CABF_BR, MPIC_PROFILE_OPEN_MPIC_REFERENCE };

const char *mpic_policy_profile_name(enum mpic_policy_profile p);
int mpic_policy_profile_parse(const char *s, enum mpic_policy_profile *out);

struct mpic_br_phase {
    const char *effective;     /* "2026-06-15", as the BR writes it */
    time_t start;              /* 00:00:00 UTC of that day */
    unsigned min_remote;       /* minimum distinct remote perspectives */
    bool quorum_enforced;      /* false: monitor mode (the CA may still issue) */
    bool two_rirs;             /* corroborating remotes must span >= 2 RIRs */
};

/* The phase in force at now, or NULL before the first one (2025-03-15). */
const struct mpic_br_phase *mpic_policy_phase_at(time_t now);
/* The next phase after now, or NULL when none is scheduled. */
const struct mpic_br_phase *mpic_policy_next_phase(time_t now);

/* BR quorum table: 1 non-corroboration allowed for 2..5 remotes, 2 for 6+. */
unsigned mpic_policy_allowed_failures(unsigned remotes);

/* Whether a request for `count` remote perspectives may run under the
 * profile at `now`: -1 with a message naming the phase when it may not. */
int mpic_policy_check_count(enum mpic_policy_profile p, time_t now, unsigned count, struct mpic_error *err);

/* The perspective_count of a request that names none: the configured default,
 * raised under cabf-br to the minimum of the phase in force, so that a phase
 * date passes without an outage. */
unsigned mpic_policy_default_count(enum mpic_policy_profile p, time_t now, unsigned configured);

/* A validation method the BRs forbid from a date on. */
struct mpic_method_sunset {
    const char *method;        /* validation_method as on the wire */
    const char *section;       /* "3.2.2.5.3" */
    const char *effective;     /* "2027-03-15": MUST NOT from 00:00:00Z of that day */
};

/* The i-th row of the sunset table, NULL past its end. */
const struct mpic_method_sunset *mpic_policy_sunset(size_t i);

/* Whether validation_method (its wire name) may still be used under the
 * profile at now: -1 with a message naming the BR section and the date when
 * the BRs forbid it (cabf-br only). */
int mpic_policy_check_method(enum mpic_policy_profile p, time_t now, const char *method, struct mpic_error *err);

/* Whether the passing perspectives must span two RIRs for a cohort of n. */
bool mpic_policy_needs_two_rirs(enum mpic_policy_profile p, time_t now, unsigned n);

/* Start-up: -1 when the catalogue is smaller than the phase in force asks; 1
 * with a warning in err when the default count is below it (requests are
 * raised, see mpic_policy_default_count) or when a stricter phase starts
 * within 30 days and the deployment will not meet it; else 0. */
int mpic_policy_check_deployment(enum mpic_policy_profile p, time_t now, unsigned n_perspectives,
                                 unsigned default_count, struct mpic_error *err);

/* -t: -1 with a message when a stricter phase is scheduled and no cohort of
 * its minimum (two RIRs, no too-close pair: cohort.h) can be formed from the
 * catalogue; 0 otherwise, and always under open-mpic-reference. */
int mpic_policy_check_next_phase(enum mpic_policy_profile p, time_t now, const struct mpic_perspective *catalogue,
                                 size_t n, struct mpic_error *err);

#endif
