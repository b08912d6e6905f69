/* The string list of common/: ownership on push, emptiness after free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strv.h"

static void strv_push_keeps_order_and_free_empties(void **state)
{
    (void)state;
    struct mpic_strv sv = { NULL, 0 };
    assert_int_equal(mpic_strv_push(&sv, strdup("a.example")), 0);
    assert_int_equal(mpic_strv_push(&sv, strdup("b.example")), 0);
    assert_int_equal(sv.n, 2);
    assert_string_equal(sv.v[0], "a.example");
    assert_string_equal(sv.v[1], "b.example");
    mpic_strv_free(&sv);
    assert_null(sv.v);
    assert_int_equal(sv.n, 0);
    mpic_strv_free(&sv);   /* an empty list frees as a no-op */
}

static void strv_contains_compares_whole_strings(void **state)
{
    (void)state;
    char *v[] = { "us-east-1", NULL, "eu-west-1" };
    struct mpic_strv sv = { v, 3 };
    assert_true(mpic_strv_contains(&sv, "eu-west-1"));
    assert_false(mpic_strv_contains(&sv, "us-east"));
    assert_false(mpic_strv_contains(&sv, "US-EAST-1"));
    struct mpic_strv empty = { NULL, 0 };
    assert_false(mpic_strv_contains(&empty, "us-east-1"));
}

static void strv_wipe_frees_like_free(void **state)
{
    (void)state;
    struct mpic_strv sv = { NULL, 0 };
    assert_int_equal(mpic_strv_push(&sv, strdup("secret-key")), 0);
    mpic_strv_wipe(&sv);
    assert_null(sv.v);
    assert_int_equal(sv.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strv_push_keeps_order_and_free_empties),
        cmocka_unit_test(strv_contains_compares_whole_strings),
        cmocka_unit_test(strv_wipe_frees_like_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
