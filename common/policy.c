/* The BR phase table lives here and nowhere else: a new ballot means one new
 * row. Dates are compared in UTC; a phase starts at 00:00:00Z of its day. */
#include "policy.h"

#include <string.h>
#include <strings.h>

#define DAY (24 * 60 * 60)
#define WARN_DAYS 30


static time_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return ((time_t)era * 146097 + (time_t)doe - 719468) * DAY;
}

struct phase_row {
    const char *effective;
    int y;
    unsigned m, d, min_remote;
    bool quorum_enforced, two_rirs;
};

/* BR §3.2.2.9, "Phased Implementation Timeline". */
static const struct phase_row rows[] = {
    { "2025-03-15", 2025, 3, 15, 2, false, false },
    { "2025-09-15", 2025, 9, 15, 2, true, false },
    { "2026-03-15", 2026, 3, 15, 3, true, true },
    { "2026-06-15", 2026, 6, 15, 4, true, true },
    { "2026-12-15", 2026, 12, 15, 5, true, true },
};
#define N_PHASES (sizeof rows / sizeof rows[0])

static struct mpic_br_phase phases[N_PHASES];

static const struct mpic_br_phase *phase(size_t i)
{
    /* Filled on first use; the values never change, so concurrent fills agree. */
    if (phases[i].effective == NULL) {
        phases[i].start = days_from_civil(rows[i].y, rows[i].m, rows[i].d);
        phases[i].min_remote = rows[i].min_remote;
        phases[i].quorum_enforced = rows[i].quorum_enforced;
        phases[i].two_rirs = rows[i].two_rirs;
        phases[i].effective = rows[i].effective;
    }
    return &phases[i];
}

const char *mpic_policy_profile_name(enum mpic_policy_profile p)
{
    return p == MPIC_PROFILE_OPEN_MPIC_REFERENCE ? "open-mpic-reference" : "cabf-br";
}

int mpic_policy_profile_parse(const char *s, enum mpic_policy_profile *out)
{
    if (strcmp(s, "cabf-br") == 0)
        *out = MPIC_PROFILE_CABF_BR;
    else if (strcmp(s, "open-mpic-reference") == 0)
        *out = MPIC_PROFILE_OPEN_MPIC_REFERENCE;
    else
        return -1;
    return 0;
}

const struct mpic_br_phase *mpic_policy_phase_at(time_t now)
{
    const struct mpic_br_phase *in_force = NULL;
    for (size_t i = 0; i < N_PHASES; i++)
        if (now >= phase(i)->start)
            in_force = phase(i);
    return in_force;
}

const struct mpic_br_phase *mpic_policy_next_phase(time_t now)
{
    for (size_t i = 0; i < N_PHASES; i++)
        if (now < phase(i)->start)
            return phase(i);
    return NULL;
}

unsigned mpic_policy_allowed_failures(unsigned remotes)
{
    return remotes < 2 ? 0 : remotes < 6 ? 1 : 2;
}

int mpic_policy_check_count(enum mpic_policy_profile p, time_t now, unsigned count, struct mpic_error *err)
{
    const struct mpic_br_phase *ph = mpic_policy_phase_at(now);
    if (p != MPIC_PROFILE_CABF_BR || ph == NULL || count >= ph->min_remote)
        return 0;
    return mpic_error_set(err, "perspective_count %u is below the %u remote perspectives that BR 3.2.2.9 requires"
                          " since %s", count, ph->min_remote, ph->effective);
}

bool mpic_policy_needs_two_rirs(enum mpic_policy_profile p, time_t now, unsigned n)
{
    if (p == MPIC_PROFILE_OPEN_MPIC_REFERENCE)
        return n > 2;
    const struct mpic_br_phase *ph = mpic_policy_phase_at(now);
    return (ph != NULL && ph->two_rirs) || n > 2;
}

int mpic_policy_check_deployment(enum mpic_policy_profile p, time_t now, unsigned n_perspectives,
                                 unsigned default_count, struct mpic_error *err)
{
    if (p != MPIC_PROFILE_CABF_BR)
        return 0;
    const struct mpic_br_phase *ph = mpic_policy_phase_at(now);
    if (ph != NULL && (n_perspectives < ph->min_remote || default_count < ph->min_remote))
        return mpic_error_set(err, "the BR 3.2.2.9 phase of %s requires %u remote perspectives; this deployment"
                              " has %u configured and a default perspective_count of %u",
                              ph->effective, ph->min_remote, n_perspectives, default_count);
    const struct mpic_br_phase *next = mpic_policy_next_phase(now);
    if (next != NULL && next->start - now <= (time_t)WARN_DAYS * DAY &&
        (n_perspectives < next->min_remote || default_count < next->min_remote)) {
        mpic_error_set(err, "from %s BR 3.2.2.9 requires %u remote perspectives; this deployment has %u configured"
                       " and a default perspective_count of %u", next->effective, next->min_remote,
                       n_perspectives, default_count);
        return 1;
    }
    return 0;
}
