/* Quorum rules of the Open MPIC API, which match the BR §3.2.2.9 table:
 * up to five perspectives may lose one, six or more may lose two. Cohorts of
 * more than two must also have their *passing* perspectives span two RIRs;
 * whether a cohort of two is exempt (open-mpic-core) or not (BR since
 * 2026-03-15) is the policy's call, passed in as require_two_rirs.
 *
 * Fewer than two perspectives is outside the API (perspective_count >= 2),
 * but callers may still ask: one perspective must then pass itself (nothing
 * to lose, as in Boulder's maxAllowedFailures), and zero gives quorum 0,
 * which mpic_quorum_evaluate never treats as valid: a result with no passing
 * perspective corroborates nothing. */
#include "quorum.h"

unsigned mpic_quorum_default(unsigned perspective_count)
{
    if (perspective_count < 2)
        return perspective_count;
    return perspective_count <= 5 ? perspective_count - 1 : perspective_count - 2;
}

struct mpic_quorum_result mpic_quorum_evaluate(const struct mpic_perspective_outcome *o, size_t n,
                                               unsigned quorum, bool require_two_rirs)
{
    struct mpic_quorum_result r = { 0 };
    unsigned rir_seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!o[i].completed)
            continue;
        r.completed++;
        /* passed without completed is a contradiction from a caller; we do
         * not let it corroborate. */
        if (!o[i].passed)
            continue;
        r.passed++;
        /* An RIR outside the enum adds no region: fail closed. */
        if ((unsigned)o[i].rir < MPIC_RIR_COUNT && !(rir_seen & (1u << o[i].rir))) {
            rir_seen |= 1u << o[i].rir;
            r.passing_rirs++;
        }
    }
    r.is_valid = r.passed >= quorum && r.passed > 0 && (!require_two_rirs || r.passing_rirs >= 2);
    /* "incomplete <= n - quorum" rearranged so that quorum > n cannot wrap. */
    r.mpic_completed = r.completed >= quorum;
    return r;
}

struct mpic_primary_verdict mpic_quorum_primary_rule(const struct mpic_quorum_result *q,
                                                     const struct mpic_perspective_outcome *primary,
                                                     bool require_primary)
{
    struct mpic_primary_verdict v = { q->is_valid, MPIC_PRIMARY_NONE };
    if (primary == NULL)
        return v;
    v.state = !primary->completed ? MPIC_PRIMARY_INCOMPLETE
              : primary->passed   ? MPIC_PRIMARY_PASSED
                                  : MPIC_PRIMARY_NOT_PASSED;
    if (require_primary && v.state != MPIC_PRIMARY_PASSED)
        v.is_valid = false;
    return v;
}
