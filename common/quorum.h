/* Quorum rules of the Open MPIC API (reference semantics). Pure. */
#ifndef MPIC_QUORUM_H
#define MPIC_QUORUM_H

#include <stdbool.h>
#include <stddef.h>

#include "perspective.h"

/* count-1 when count <= 5, else count-2: the quorum_count used when the client
 * names none, and also the smallest one a client may ask for. */
unsigned mpic_quorum_default(unsigned perspective_count);

struct mpic_perspective_outcome {
    bool completed;
    bool passed;
    enum mpic_rir rir;
};

struct mpic_quorum_result {
    bool is_valid;        /* passed >= quorum and, when required, passing span >= 2 RIRs */
    bool mpic_completed;  /* incomplete perspectives <= count - quorum */
    unsigned passed;
    unsigned completed;
    unsigned passing_rirs;
};

/* require_two_rirs comes from mpic_policy_needs_two_rirs(). */
struct mpic_quorum_result mpic_quorum_evaluate(const struct mpic_perspective_outcome *o, size_t n,
                                               unsigned quorum, bool require_two_rirs);

/* The primary network perspective (BR 3.2.2.9) runs the same check beside
 * every cohort; the cohort corroborates it and never counts it. */
enum mpic_primary_state {
    MPIC_PRIMARY_NONE,          /* no primary configured */
    MPIC_PRIMARY_PASSED,
    MPIC_PRIMARY_NOT_PASSED,    /* completed, did not pass */
    MPIC_PRIMARY_INCOMPLETE,    /* did not complete (lost, timed out, lookup failed) */
};

struct mpic_primary_verdict {
    bool is_valid;                  /* the quorum's verdict, overruled by a required primary that did not pass */
    enum mpic_primary_state state;  /* the reason, and the primary's result for the audit record */
};

/* primary: the primary's outcome, NULL when none is configured. With
 * require_primary, a valid quorum over a primary that did not pass is invalid;
 * without it the primary is reported only. */
struct mpic_primary_verdict mpic_quorum_primary_rule(const struct mpic_quorum_result *q,
                                                     const struct mpic_perspective_outcome *primary,
                                                     bool require_primary);

#endif
