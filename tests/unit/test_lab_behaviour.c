/* Lab behaviour rules: which rule a target selects, and how a rule reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lab_behaviour.h"

static void glob_is_case_insensitive_and_ignores_trailing_dot(void **state)
{
    assert_true(mpic_lab_pattern_match("*.conformance.test", "Fail-1.Conformance.TEST."));
    assert_true(mpic_lab_pattern_match("PASS.conformance.test.", "pass.conformance.test"));
    assert_false(mpic_lab_pattern_match("*.conformance.test", "conformance.test"));
    assert_false(mpic_lab_pattern_match("pass.conformance.test", "xpass.conformance.test"));
}

static void star_crosses_labels_and_classes_work(void **state)
{
    assert_true(mpic_lab_pattern_match("*.test", "a.b.c.test"));
    assert_true(mpic_lab_pattern_match("fail-[13]of6.*", "fail-3of6.conformance.test"));
    assert_false(mpic_lab_pattern_match("fail-[13]of6.*", "fail-2of6.conformance.test"));
    assert_true(mpic_lab_pattern_match("192.0.*", "192.0.7.1"));
}

static void overlong_target_never_matches(void **state)
{
    char name[300];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_false(mpic_lab_pattern_match("*", name));
}

static void first_matching_rule_wins(void **state)
{
    struct mpic_lab_behaviour v[] = {
        { .match = "slow.x.test", .action = MPIC_LAB_DELAY, .delay_ms = 10 },
        { .match = "*.x.test", .action = MPIC_LAB_CLOSE },
        { .match = "slow.x.test", .action = MPIC_LAB_MALFORMED },
    };
    struct mpic_lab_behaviours r = { v, 3 };
    assert_ptr_equal(mpic_lab_behaviour_find(&r, "slow.x.test"), &v[0]);
    assert_ptr_equal(mpic_lab_behaviour_find(&r, "other.x.test"), &v[1]);
    assert_null(mpic_lab_behaviour_find(&r, "x.test"));
    assert_null(mpic_lab_behaviour_find(&r, NULL));
    struct mpic_lab_behaviours none = { NULL, 0 };
    assert_null(mpic_lab_behaviour_find(&none, "slow.x.test"));
}

static void action_names_round_trip(void **state)
{
    static const char *const names[] = { "delay", "transport-error", "close", "malformed", "result" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        enum mpic_lab_action a;
        assert_int_equal(mpic_lab_action_parse(names[i], &a), 0);
        assert_string_equal(mpic_lab_action_name(a), names[i]);
    }
    enum mpic_lab_action a;
    assert_int_equal(mpic_lab_action_parse("Delay", &a), -1);
    assert_int_equal(mpic_lab_action_parse("", &a), -1);
}

static void describe_names_what_the_agent_will_do(void **state)
{
    char out[256];
    struct mpic_lab_behaviour r = { .match = "*.x.test", .action = MPIC_LAB_RESULT, .passed = false,
                                    .completed = true, .error = "scripted", .delay_ms = 0 };
    mpic_lab_behaviour_describe(&r, out, sizeof out);
    assert_string_equal(out, "*.x.test: result passed=false completed=true error=\"scripted\" after 0 ms");
    struct mpic_lab_behaviour t = { .match = "t.x.test", .action = MPIC_LAB_TRANSPORT_ERROR, .status = 503,
                                    .delay_ms = 20 };
    mpic_lab_behaviour_describe(&t, out, sizeof out);
    assert_string_equal(out, "t.x.test: transport-error HTTP 503 after 20 ms");
    struct mpic_lab_behaviour d = { .match = "d", .action = MPIC_LAB_DELAY, .delay_ms = 2500 };
    mpic_lab_behaviour_describe(&d, out, sizeof out);
    assert_string_equal(out, "d: delay after 2500 ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glob_is_case_insensitive_and_ignores_trailing_dot),
        cmocka_unit_test(star_crosses_labels_and_classes_work),
        cmocka_unit_test(overlong_target_never_matches),
        cmocka_unit_test(first_matching_rule_wins),
        cmocka_unit_test(action_names_round_trip),
        cmocka_unit_test(describe_names_what_the_agent_will_do),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
