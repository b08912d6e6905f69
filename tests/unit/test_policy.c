/* BR 3.2.2.9 phases pinned on both sides of every boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "perspective.h"
#include "policy.h"

/* 00:00:00Z of y-m-d via timegm, independent of the code under test. */
static time_t utc(int y, int m, int d, int hh, int mm, int ss)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = hh, .tm_min = mm, .tm_sec = ss };
    return timegm(&tm);
}

static void phase_none_before_2025_03_15(void **state)
{
    assert_null(mpic_policy_phase_at(utc(2025, 3, 14, 23, 59, 59)));
    assert_string_equal(mpic_policy_next_phase(utc(2025, 3, 14, 23, 59, 59))->effective, "2025-03-15");
}

static void phase_boundaries_each_side(void **state)
{
    static const struct { int y, m, d; unsigned before, after; } b[] = {
        { 2025, 9, 15, 2, 2 }, { 2026, 3, 15, 2, 3 }, { 2026, 6, 15, 3, 4 }, { 2026, 12, 15, 4, 5 },
    };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        const struct mpic_br_phase *before = mpic_policy_phase_at(utc(b[i].y, b[i].m, b[i].d, 0, 0, 0) - 1);
        const struct mpic_br_phase *after = mpic_policy_phase_at(utc(b[i].y, b[i].m, b[i].d, 0, 0, 0));
        assert_int_equal(before->min_remote, b[i].before);
        assert_int_equal(after->min_remote, b[i].after);
    }
}

static void phase_2026_11_28_needs_four_remotes(void **state)
{
    const struct mpic_br_phase *p = mpic_policy_phase_at(utc(2026, 11, 28, 12, 0, 0));
    assert_string_equal(p->effective, "2026-06-15");
    assert_int_equal(p->min_remote, 4);
    assert_true(p->quorum_enforced);
    assert_true(p->two_rirs);
    assert_int_equal(mpic_policy_phase_at(utc(2026, 12, 15, 0, 0, 0))->min_remote, 5);
}

/* The table's start times are written out as numbers: each must be
 * 00:00:00Z of the date the phase names. */
static void phase_start_is_midnight_utc_of_effective_date(void **state)
{
    size_t seen = 0;
    for (const struct mpic_br_phase *p = mpic_policy_next_phase(0); p != NULL; p = mpic_policy_next_phase(p->start)) {
        int y, m, d;
        assert_int_equal(sscanf(p->effective, "%d-%d-%d", &y, &m, &d), 3);
        assert_int_equal(p->start, utc(y, m, d, 0, 0, 0));
        assert_ptr_equal(mpic_policy_phase_at(p->start), p);
        seen++;
    }
    assert_int_equal(seen, 5);
}

static void phase_monitor_mode_only_first(void **state)
{
    assert_false(mpic_policy_phase_at(utc(2025, 3, 15, 0, 0, 0))->quorum_enforced);
    assert_true(mpic_policy_phase_at(utc(2025, 9, 15, 0, 0, 0))->quorum_enforced);
    assert_false(mpic_policy_phase_at(utc(2026, 3, 14, 0, 0, 0))->two_rirs);
    assert_true(mpic_policy_phase_at(utc(2026, 3, 15, 0, 0, 0))->two_rirs);
}

static void quorum_table_allowed_failures(void **state)
{
    static const unsigned expect[] = { 0, 0, 1, 1, 1, 1, 2, 2, 2, 2 };
    for (unsigned n = 0; n < 10; n++)
        assert_int_equal(mpic_policy_allowed_failures(n), expect[n]);
}

static void request_below_phase_minimum_refused_under_cabf_br(void **state)
{
    struct mpic_error err;
    time_t now = utc(2026, 11, 28, 0, 0, 0);
    assert_int_equal(mpic_policy_check_count(MPIC_PROFILE_CABF_BR, now, 3, &err), -1);
    assert_non_null(strstr(err.msg, "2026-06-15"));
    assert_int_equal(mpic_policy_check_count(MPIC_PROFILE_CABF_BR, now, 4, &err), 0);
    assert_int_equal(mpic_policy_check_count(MPIC_PROFILE_OPEN_MPIC_REFERENCE, now, 2, &err), 0);
    assert_int_equal(mpic_policy_check_count(MPIC_PROFILE_CABF_BR, utc(2026, 12, 15, 0, 0, 0), 4, &err), -1);
}

static void two_rirs_by_profile(void **state)
{
    time_t now = utc(2026, 11, 28, 0, 0, 0);
    assert_true(mpic_policy_needs_two_rirs(MPIC_PROFILE_CABF_BR, now, 2));
    assert_false(mpic_policy_needs_two_rirs(MPIC_PROFILE_OPEN_MPIC_REFERENCE, now, 2));
    assert_true(mpic_policy_needs_two_rirs(MPIC_PROFILE_OPEN_MPIC_REFERENCE, now, 3));
    assert_false(mpic_policy_needs_two_rirs(MPIC_PROFILE_CABF_BR, utc(2026, 3, 14, 0, 0, 0), 2));
}

static void deployment_refused_or_warned(void **state)
{
    struct mpic_error err;
    time_t now = utc(2026, 11, 28, 0, 0, 0);
    assert_int_equal(mpic_policy_check_deployment(MPIC_PROFILE_CABF_BR, now, 3, 3, &err), -1);
    assert_int_equal(mpic_policy_check_deployment(MPIC_PROFILE_CABF_BR, now, 3, 4, &err), -1);
    /* A default below the phase in force only warns: requests are raised to the minimum. */
    assert_int_equal(mpic_policy_check_deployment(MPIC_PROFILE_CABF_BR, now, 6, 3, &err), 1);
    assert_non_null(strstr(err.msg, "requests that do not name perspective_count get 4"));
    assert_int_equal(mpic_policy_check_deployment(MPIC_PROFILE_CABF_BR, now, 6, 4, &err), 1);
    assert_non_null(strstr(err.msg, "2026-12-15"));
    assert_int_equal(mpic_policy_check_deployment(MPIC_PROFILE_CABF_BR, now, 6, 5, &err), 0);
    /* More than 30 days ahead: no warning yet. */
    assert_int_equal(mpic_policy_check_deployment(MPIC_PROFILE_CABF_BR, utc(2026, 11, 14, 23, 59, 59), 6, 4, &err), 0);
    assert_int_equal(mpic_policy_check_deployment(MPIC_PROFILE_CABF_BR, utc(2026, 11, 15, 0, 0, 0), 6, 4, &err), 1);
    assert_int_equal(mpic_policy_check_deployment(MPIC_PROFILE_OPEN_MPIC_REFERENCE, now, 2, 2, &err), 0);
}

static void default_count_raised_to_phase_minimum_under_cabf_br(void **state)
{
    time_t eve = utc(2026, 12, 14, 23, 59, 59), day = utc(2026, 12, 15, 0, 0, 0);
    assert_int_equal(mpic_policy_default_count(MPIC_PROFILE_CABF_BR, eve, 4), 4);
    assert_int_equal(mpic_policy_default_count(MPIC_PROFILE_CABF_BR, day, 4), 5);
    assert_int_equal(mpic_policy_default_count(MPIC_PROFILE_CABF_BR, day, 6), 6);
    assert_int_equal(mpic_policy_default_count(MPIC_PROFILE_CABF_BR, eve, 2), 4);
    assert_int_equal(mpic_policy_default_count(MPIC_PROFILE_OPEN_MPIC_REFERENCE, day, 2), 2);
    assert_int_equal(mpic_policy_default_count(MPIC_PROFILE_CABF_BR, utc(2025, 1, 1, 0, 0, 0), 2), 2);
}

static void method_sunsets_by_date_under_cabf_br(void **state)
{
    static const struct { const char *method, *section; int y, m, d; } s[] = {
        { "reverse-address-lookup", "3.2.2.5.3", 2027, 3, 15 },
        { "contact-phone-txt", "3.2.2.4.16", 2027, 3, 15 },
        { "contact-phone-caa", "3.2.2.4.17", 2027, 3, 15 },
        { "contact-email-caa", "3.2.2.4.13", 2028, 3, 15 },
        { "contact-email-txt", "3.2.2.4.14", 2028, 3, 15 },
    };
    struct mpic_error err;
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        time_t at = utc(s[i].y, s[i].m, s[i].d, 0, 0, 0);
        assert_int_equal(mpic_policy_check_method(MPIC_PROFILE_CABF_BR, at - 1, s[i].method, &err), 0);
        assert_int_equal(mpic_policy_check_method(MPIC_PROFILE_CABF_BR, at, s[i].method, &err), -1);
        assert_non_null(strstr(err.msg, s[i].method));
        assert_non_null(strstr(err.msg, s[i].section));
        char date[16];
        snprintf(date, sizeof date, "%04d-%02d-%02d", s[i].y, s[i].m, s[i].d);
        assert_non_null(strstr(err.msg, date));
        assert_int_equal(mpic_policy_check_method(MPIC_PROFILE_OPEN_MPIC_REFERENCE, at, s[i].method, &err), 0);
    }
    time_t late = utc(2030, 1, 1, 0, 0, 0);
    assert_int_equal(mpic_policy_check_method(MPIC_PROFILE_CABF_BR, late, "acme-dns-01", &err), 0);
    assert_int_equal(mpic_policy_check_method(MPIC_PROFILE_CABF_BR, late, "dns-change", &err), 0);
}

#define MAXP 8

/* A catalogue of perspectives with RIRs; pairs are made too close both ways. */
struct catalogue {
    struct mpic_perspective p[MAXP];
    char *close[MAXP][MAXP];
    size_t n;
};

static void add(struct catalogue *c, const char *code, enum mpic_rir rir)
{
    struct mpic_perspective *p = &c->p[c->n];
    memset(p, 0, sizeof *p);
    p->code = (char *)code;
    p->rir = rir;
    p->too_close.v = c->close[c->n++];
}

static void too_close(struct catalogue *c, size_t a, size_t b)
{
    c->close[a][c->p[a].too_close.n++] = c->p[b].code;
    c->close[b][c->p[b].too_close.n++] = c->p[a].code;
}

static void catalogue_must_field_the_next_phase(void **state)
{
    struct mpic_error err;
    time_t before = utc(2026, 12, 6, 0, 0, 0), after = utc(2026, 12, 15, 0, 0, 0);
    struct catalogue c = { 0 };
    add(&c, "a1", MPIC_RIR_ARIN);
    add(&c, "r1", MPIC_RIR_RIPE_NCC);
    add(&c, "p1", MPIC_RIR_APNIC);
    add(&c, "a2", MPIC_RIR_ARIN);
    /* Four perspectives cannot field the five of 2026-12-15. */
    assert_int_equal(mpic_policy_check_next_phase(MPIC_PROFILE_CABF_BR, before, c.p, c.n, &err), -1);
    assert_non_null(strstr(err.msg, "2026-12-15"));
    assert_non_null(strstr(err.msg, "5 remote perspectives"));
    assert_int_equal(mpic_policy_check_next_phase(MPIC_PROFILE_OPEN_MPIC_REFERENCE, before, c.p, c.n, &err), 0);
    /* A fifth that is too close to another (under 500 km) still leaves no cohort of five. */
    add(&c, "a3", MPIC_RIR_ARIN);
    too_close(&c, 3, 4);
    assert_int_equal(mpic_policy_check_next_phase(MPIC_PROFILE_CABF_BR, before, c.p, c.n, &err), -1);
    /* A sixth, distinct one does. */
    add(&c, "l1", MPIC_RIR_LACNIC);
    assert_int_equal(mpic_policy_check_next_phase(MPIC_PROFILE_CABF_BR, before, c.p, c.n, &err), 0);
    /* Five of one RIR span no two RIRs. */
    struct catalogue one = { 0 };
    static const char *const codes[] = { "x1", "x2", "x3", "x4", "x5" };
    for (size_t i = 0; i < 5; i++)
        add(&one, codes[i], MPIC_RIR_RIPE_NCC);
    assert_int_equal(mpic_policy_check_next_phase(MPIC_PROFILE_CABF_BR, before, one.p, one.n, &err), -1);
    /* No phase after the last one is scheduled. */
    assert_int_equal(mpic_policy_check_next_phase(MPIC_PROFILE_CABF_BR, after, c.p, 2, &err), 0);
}

static void profile_names_round_trip(void **state)
{
    enum mpic_policy_profile p;
    assert_int_equal(mpic_policy_profile_parse("cabf-br", &p), 0);
    assert_int_equal(p, MPIC_PROFILE_CABF_BR);
    assert_int_equal(mpic_policy_profile_parse("open-mpic-reference", &p), 0);
    assert_string_equal(mpic_policy_profile_name(p), "open-mpic-reference");
    assert_int_equal(mpic_policy_profile_parse("CABF-BR", &p), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(phase_none_before_2025_03_15),
        cmocka_unit_test(phase_boundaries_each_side),
        cmocka_unit_test(phase_2026_11_28_needs_four_remotes),
        cmocka_unit_test(phase_start_is_midnight_utc_of_effective_date),
        cmocka_unit_test(phase_monitor_mode_only_first),
        cmocka_unit_test(quorum_table_allowed_failures),
        cmocka_unit_test(request_below_phase_minimum_refused_under_cabf_br),
        cmocka_unit_test(two_rirs_by_profile),
        cmocka_unit_test(deployment_refused_or_warned),
        cmocka_unit_test(default_count_raised_to_phase_minimum_under_cabf_br),
        cmocka_unit_test(method_sunsets_by_date_under_cabf_br),
        cmocka_unit_test(catalogue_must_field_the_next_phase),
        cmocka_unit_test(profile_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
