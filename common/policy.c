/* The BR phase table and the method sunsets live here and nowhere else: a
 * new ballot means one new row. Dates are compared in UTC; a phase or a
 * sunset starts at 00:00:00Z of its day. */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cohort.h"

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

/* BR §3.2.2.9, "Phased Implementation Timeline". start is 00:00:00Z of the
 * effective day in seconds since the epoch, written out so that the table is
 * const; test_policy checks each against its date. */
static const struct mpic_br_phase phases[] = {
    { "2025-03-15", 1741996800, 2, false, false },
    { "2025-09-15", 1757894400, 2, true, false },
    { "2026-03-15", 1773532800, 3, true, true },
    { "2026-06-15", 1781481600, 4, true, true },
    { "2026-12-15", 1797292800, 5, true, true },
};
#define N_PHASES (sizeof phases / sizeof phases[0])

/* Methods the BRs forbid from a date (SC-090, SC-091; BR 3.2.2.4, 3.2.2.5). */
static const struct mpic_method_sunset sunsets[] = {
    { "reverse-address-lookup", "3.2.2.5.3", "2027-03-15" },
    { "contact-phone-txt", "3.2.2.4.16", "2027-03-15" },
    { "contact-phone-caa", "3.2.2.4.17", "2027-03-15" },
    { "contact-email-caa", "3.2.2.4.13", "2028-03-15" },
    { "contact-email-txt", "3.2.2.4.14", "2028-03-15" },
};

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
        if (now >= phases[i].start)
            in_force = &phases[i];
    return in_force;
}

const struct mpic_br_phase *mpic_policy_next_phase(time_t now)
{
    for (size_t i = 0; i < N_PHASES; i++)
        if (now < phases[i].start)
            return &phases[i];
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

unsigned mpic_policy_default_count(enum mpic_policy_profile p, time_t now, unsigned configured)
{
    const struct mpic_br_phase *ph = p == MPIC_PROFILE_CABF_BR ? mpic_policy_phase_at(now) : NULL;
    return ph != NULL && ph->min_remote > configured ? ph->min_remote : configured;
}

const struct mpic_method_sunset *mpic_policy_sunset(size_t i)
{
    return i < sizeof sunsets / sizeof sunsets[0] ? &sunsets[i] : NULL;
}

int mpic_policy_check_method(enum mpic_policy_profile p, time_t now, const char *method, struct mpic_error *err)
{
    if (p != MPIC_PROFILE_CABF_BR)
        return 0;
    for (size_t i = 0; i < sizeof sunsets / sizeof sunsets[0]; i++) {
        int y;
        unsigned m, d;
        if (strcmp(method, sunsets[i].method) != 0 || sscanf(sunsets[i].effective, "%d-%u-%u", &y, &m, &d) != 3 ||
            now < days_from_civil(y, m, d))
            continue;
        return mpic_error_set(err, "validation_method %s (BR %s) must not be used since %s", method,
                              sunsets[i].section, sunsets[i].effective);
    }
    return 0;
}

int mpic_policy_check_deployment(enum mpic_policy_profile p, time_t now, unsigned n_perspectives,
                                 unsigned default_count, struct mpic_error *err)
{
    if (p != MPIC_PROFILE_CABF_BR)
        return 0;
    const struct mpic_br_phase *ph = mpic_policy_phase_at(now);
    if (ph != NULL && n_perspectives < ph->min_remote)
        return mpic_error_set(err, "the BR 3.2.2.9 phase of %s requires %u remote perspectives; this deployment"
                              " has %u configured", ph->effective, ph->min_remote, n_perspectives);
    if (ph != NULL && default_count < ph->min_remote) {
        mpic_error_set(err, "default_perspective_count %u is below the %u remote perspectives that BR 3.2.2.9"
                       " requires since %s: requests that do not name perspective_count get %u", default_count,
                       ph->min_remote, ph->effective, ph->min_remote);
        return 1;
    }
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

int mpic_policy_check_next_phase(enum mpic_policy_profile p, time_t now, const struct mpic_perspective *catalogue,
                                 size_t n, struct mpic_error *err)
{
    const struct mpic_br_phase *next = p == MPIC_PROFILE_CABF_BR ? mpic_policy_next_phase(now) : NULL;
    if (next == NULL)
        return 0;
    size_t found = 0;
    if (n >= next->min_remote) {
        /* Whether a cohort exists does not depend on the key, only its members do. */
        static const unsigned char key[] = "catalogue-check";
        size_t *out = calloc(n, sizeof *out);
        if (out == NULL)
            return mpic_error_set(err, "out of memory");
        int rc = mpic_cohorts_build(catalogue, n, key, sizeof key - 1, "catalogue-check.invalid", next->min_remote,
                                    out, &found, err);
        free(out);
        if (rc != 0)
            return -1;
    }
    if (found > 0)
        return 0;
    return mpic_error_set(err, "from %s BR 3.2.2.9 requires %u remote perspectives spanning two RIRs, 500 km apart;"
                          " no such cohort can be formed from the %zu configured perspectives", next->effective,
                          next->min_remote, n);
}
