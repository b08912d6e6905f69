/* Quorum rules: the BR table (1 loss for 2..5, 2 for 6+), is_valid,
 * mpic_completed, the two-RIR rule for cohorts larger than two, and the
 * require-primary rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "quorum.h"

/* Required corroborations from requirements.md A.2, written out rather than
 * computed so that a wrong formula cannot agree with itself. */
static const unsigned required[] = { 0, 1, 1, 2, 3, 4, 4, 5, 6 };

static void quorum_default_follows_br_table(void **state)
{
    (void)state;
    for (unsigned n = 2; n <= 8; n++) {
        assert_int_equal(mpic_quorum_default(n), required[n]);
    }
    assert_int_equal(mpic_quorum_default(20), 18);
}

static void quorum_below_two_perspectives_allows_no_loss(void **state)
{
    (void)state;
    assert_int_equal(mpic_quorum_default(1), 1);
    assert_int_equal(mpic_quorum_default(0), 0);
}

/* n = 2..8, every count of completed and of passes among them. Passing
 * perspectives alternate ARIN / RIPE NCC so the RIR rule holds once two pass. */
static void quorum_table_every_split(void **state)
{
    (void)state;
    for (unsigned n = 2; n <= 8; n++) {
        unsigned q = required[n];
        for (unsigned completed = 0; completed <= n; completed++) {
            for (unsigned passed = 0; passed <= completed; passed++) {
                struct mpic_perspective_outcome o[8];
                for (unsigned i = 0; i < n; i++) {
                    o[i].completed = i < completed;
                    o[i].passed = i < passed;
                    o[i].rir = i % 2 ? MPIC_RIR_RIPE_NCC : MPIC_RIR_ARIN;
                }
                struct mpic_quorum_result r = mpic_quorum_evaluate(o, n, q, (n) > 2);
                bool want_valid = passed >= q && passed > 0;
                bool want_completed = n - completed <= n - q;
                if (r.is_valid != want_valid || r.mpic_completed != want_completed)
                    fail_msg("n=%u completed=%u passed=%u: is_valid=%d mpic_completed=%d", n,
                             completed, passed, r.is_valid, r.mpic_completed);
                assert_int_equal(r.passed, passed);
                assert_int_equal(r.completed, completed);
                assert_int_equal(r.passing_rirs, passed >= 2 ? 2 : passed);
            }
        }
    }
}

static void quorum_four_arin_passes_invalid(void **state)
{
    (void)state;
    struct mpic_perspective_outcome o[4];
    for (int i = 0; i < 4; i++)
        o[i] = (struct mpic_perspective_outcome){ .completed = true, .passed = true, .rir = MPIC_RIR_ARIN };
    struct mpic_quorum_result r = mpic_quorum_evaluate(o, 4, 3, (4) > 2);
    assert_false(r.is_valid);
    assert_true(r.mpic_completed);
    assert_int_equal(r.passed, 4);
    assert_int_equal(r.passing_rirs, 1);
}

static void quorum_three_arin_one_ripe_valid(void **state)
{
    (void)state;
    struct mpic_perspective_outcome o[4];
    for (int i = 0; i < 4; i++)
        o[i] = (struct mpic_perspective_outcome){ .completed = true, .passed = true, .rir = MPIC_RIR_ARIN };
    o[3].rir = MPIC_RIR_RIPE_NCC;
    struct mpic_quorum_result r = mpic_quorum_evaluate(o, 4, 3, (4) > 2);
    assert_true(r.is_valid);
    assert_int_equal(r.passing_rirs, 2);
}

/* The second RIR must come from a passing perspective, not a failing one. */
static void quorum_failing_other_rir_does_not_count(void **state)
{
    (void)state;
    struct mpic_perspective_outcome o[4];
    for (int i = 0; i < 4; i++)
        o[i] = (struct mpic_perspective_outcome){ .completed = true, .passed = true, .rir = MPIC_RIR_ARIN };
    o[3].rir = MPIC_RIR_RIPE_NCC;
    o[3].passed = false;
    struct mpic_quorum_result r = mpic_quorum_evaluate(o, 4, 3, (4) > 2);
    assert_false(r.is_valid);
    assert_int_equal(r.passed, 3);
    assert_int_equal(r.passing_rirs, 1);
}

static void quorum_two_perspectives_one_rir_valid(void **state)
{
    (void)state;
    struct mpic_perspective_outcome o[2] = {
        { .completed = true, .passed = true, .rir = MPIC_RIR_ARIN },
        { .completed = true, .passed = true, .rir = MPIC_RIR_ARIN },
    };
    struct mpic_quorum_result r = mpic_quorum_evaluate(o, 2, 1, (2) > 2);
    assert_true(r.is_valid);
    assert_true(r.mpic_completed);
    o[1].passed = false;
    r = mpic_quorum_evaluate(o, 2, 1, (2) > 2);
    assert_true(r.is_valid);
}

static void quorum_pass_without_completion_not_counted(void **state)
{
    (void)state;
    struct mpic_perspective_outcome o[3] = {
        { .completed = true, .passed = true, .rir = MPIC_RIR_ARIN },
        { .completed = false, .passed = true, .rir = MPIC_RIR_RIPE_NCC },
        { .completed = false, .passed = true, .rir = MPIC_RIR_APNIC },
    };
    struct mpic_quorum_result r = mpic_quorum_evaluate(o, 3, 2, (3) > 2);
    assert_int_equal(r.passed, 1);
    assert_int_equal(r.completed, 1);
    assert_int_equal(r.passing_rirs, 1);
    assert_false(r.is_valid);
    assert_false(r.mpic_completed);
}

static void quorum_above_count_never_met(void **state)
{
    (void)state;
    struct mpic_perspective_outcome o[3] = {
        { .completed = true, .passed = true, .rir = MPIC_RIR_ARIN },
        { .completed = true, .passed = true, .rir = MPIC_RIR_RIPE_NCC },
        { .completed = true, .passed = true, .rir = MPIC_RIR_APNIC },
    };
    struct mpic_quorum_result r = mpic_quorum_evaluate(o, 3, 4, (3) > 2);
    assert_false(r.is_valid);
    assert_false(r.mpic_completed);
}

static void quorum_no_perspectives_never_valid(void **state)
{
    (void)state;
    struct mpic_quorum_result r = mpic_quorum_evaluate(NULL, 0, mpic_quorum_default(0), (0) > 2);
    assert_false(r.is_valid);
    assert_int_equal(r.passed, 0);
    struct mpic_perspective_outcome failed = { .completed = true, .passed = false,
                                               .rir = MPIC_RIR_ARIN };
    r = mpic_quorum_evaluate(&failed, 1, 0, (1) > 2);
    assert_false(r.is_valid);
}

static void br_two_rirs_applies_to_cohort_of_two(void **state)
{
    const struct mpic_perspective_outcome o[] = { { true, true, MPIC_RIR_ARIN }, { true, true, MPIC_RIR_ARIN } };
    assert_false(mpic_quorum_evaluate(o, 2, 1, true).is_valid);
    assert_true(mpic_quorum_evaluate(o, 2, 1, false).is_valid);
}

static const struct mpic_quorum_result quorum_met = { .is_valid = true, .mpic_completed = true, .passed = 3,
                                                       .completed = 3, .passing_rirs = 2 };
static const struct mpic_quorum_result quorum_missed = { .is_valid = false, .mpic_completed = true, .passed = 1,
                                                         .completed = 3, .passing_rirs = 1 };
static const struct mpic_perspective_outcome primary_passed = { true, true, MPIC_RIR_ARIN };
static const struct mpic_perspective_outcome primary_failed = { true, false, MPIC_RIR_ARIN };
static const struct mpic_perspective_outcome primary_lost = { false, false, MPIC_RIR_ARIN };

static void primary_absent_leaves_quorum_verdict(void **state)
{
    (void)state;
    struct mpic_primary_verdict v = mpic_quorum_primary_rule(&quorum_met, NULL, true);
    assert_true(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_NONE);
    v = mpic_quorum_primary_rule(&quorum_missed, NULL, true);
    assert_false(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_NONE);
}

static void required_primary_failing_invalidates_quorum(void **state)
{
    (void)state;
    struct mpic_primary_verdict v = mpic_quorum_primary_rule(&quorum_met, &primary_failed, true);
    assert_false(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_NOT_PASSED);
}

static void required_primary_incomplete_invalidates_quorum(void **state)
{
    (void)state;
    struct mpic_primary_verdict v = mpic_quorum_primary_rule(&quorum_met, &primary_lost, true);
    assert_false(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_INCOMPLETE);
}

/* A pass without completion is a contradiction: it does not satisfy the rule. */
static void required_primary_pass_without_completion_invalidates(void **state)
{
    (void)state;
    const struct mpic_perspective_outcome odd = { false, true, MPIC_RIR_ARIN };
    struct mpic_primary_verdict v = mpic_quorum_primary_rule(&quorum_met, &odd, true);
    assert_false(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_INCOMPLETE);
}

static void required_primary_passing_keeps_quorum_verdict(void **state)
{
    (void)state;
    struct mpic_primary_verdict v = mpic_quorum_primary_rule(&quorum_met, &primary_passed, true);
    assert_true(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_PASSED);
    /* The primary corroborates nothing itself: it cannot rescue a missed quorum. */
    v = mpic_quorum_primary_rule(&quorum_missed, &primary_passed, true);
    assert_false(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_PASSED);
}

static void unrequired_primary_is_reported_only(void **state)
{
    (void)state;
    struct mpic_primary_verdict v = mpic_quorum_primary_rule(&quorum_met, &primary_failed, false);
    assert_true(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_NOT_PASSED);
    v = mpic_quorum_primary_rule(&quorum_met, &primary_lost, false);
    assert_true(v.is_valid);
    assert_int_equal(v.state, MPIC_PRIMARY_INCOMPLETE);
    v = mpic_quorum_primary_rule(&quorum_missed, &primary_passed, false);
    assert_false(v.is_valid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(br_two_rirs_applies_to_cohort_of_two),
        cmocka_unit_test(quorum_default_follows_br_table),
        cmocka_unit_test(quorum_below_two_perspectives_allows_no_loss),
        cmocka_unit_test(quorum_table_every_split),
        cmocka_unit_test(quorum_four_arin_passes_invalid),
        cmocka_unit_test(quorum_three_arin_one_ripe_valid),
        cmocka_unit_test(quorum_failing_other_rir_does_not_count),
        cmocka_unit_test(quorum_two_perspectives_one_rir_valid),
        cmocka_unit_test(quorum_pass_without_completion_not_counted),
        cmocka_unit_test(quorum_above_count_never_met),
        cmocka_unit_test(quorum_no_perspectives_never_valid),
        cmocka_unit_test(primary_absent_leaves_quorum_verdict),
        cmocka_unit_test(required_primary_failing_invalidates_quorum),
        cmocka_unit_test(required_primary_incomplete_invalidates_quorum),
        cmocka_unit_test(required_primary_pass_without_completion_invalidates),
        cmocka_unit_test(required_primary_passing_keeps_quorum_verdict),
        cmocka_unit_test(unrequired_primary_is_reported_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
