/* Quorum rules of the Open MPIC API (reference semantics). Pure. */
#ifndef MPIC_QUORUM_H
#define MPIC_QUORUM_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* count-1 when count <= 5, else count-2. */
unsigned mpic_quorum_default(unsigned perspective_count);
/* Smallest acceptable quorum_count for perspective_count (same as the default). */
unsigned mpic_quorum_min(unsigned perspective_count);

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

#endif
