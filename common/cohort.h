/* Cohort selection: which perspectives corroborate a given target. Pure:
 * deterministic for (secret, lower-cased target), unpredictable without the
 * secret (HMAC-SHA256), RIR-diverse and never holding a too-close pair. */
#ifndef MPIC_COHORT_H
#define MPIC_COHORT_H

#include <stddef.h>

#include "error.h"
#include "perspective.h"

/* Splits the perspectives into as many disjoint cohorts of cohort_size as the
 * rules allow, in a keyed order. out (caller-allocated, n entries) receives
 * the cohorts back to back as indices into p: cohort k is out[k*size ..], and
 * *n_cohorts their number (0 if none can be formed: the catalogue's answer to
 * this size). Cohorts larger than 2 span at least two RIRs; no cohort holds
 * two perspectives that list each other (in either direction) as too close.
 * -1 with err when no answer could be computed (no usable secret, out of
 * memory, HMAC failure): the server's failure, not the request's. */
int mpic_cohorts_build(const struct mpic_perspective *p, size_t n, const unsigned char *secret, size_t secret_len,
                       const char *target, size_t cohort_size, size_t *out, size_t *n_cohorts,
                       struct mpic_error *err);

#endif
