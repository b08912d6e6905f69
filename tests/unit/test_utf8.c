/* Unit tests for the UTF-8 sequence check (common/utf8.c, RFC 3629 §4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "utf8.h"

static size_t len_of(const char *s, size_t n)
{
    return mpic_utf8_seq_len((const uint8_t *)s, n);
}

static void utf8_well_formed_sequences_have_their_length(void **state)
{
    assert_int_equal(len_of("a", 1), 1);
    assert_int_equal(len_of("\xc3\xa9", 2), 2);           /* U+00E9 */
    assert_int_equal(len_of("\xe2\x82\xac", 3), 3);       /* U+20AC */
    assert_int_equal(len_of("\xf0\x9f\x98\x80", 4), 4);   /* U+1F600 */
    assert_int_equal(len_of("\xf4\x8f\xbf\xbf", 4), 4);   /* U+10FFFF, the last */
}

static void utf8_overlong_surrogate_and_beyond_refused(void **state)
{
    assert_int_equal(len_of("\xc0\xaf", 2), 0);           /* overlong '/' */
    assert_int_equal(len_of("\xe0\x80\xaf", 3), 0);
    assert_int_equal(len_of("\xf0\x80\x80\xaf", 4), 0);
    assert_int_equal(len_of("\xed\xa0\x80", 3), 0);       /* U+D800 */
    assert_int_equal(len_of("\xf4\x90\x80\x80", 4), 0);   /* U+110000 */
    assert_int_equal(len_of("\xf5\x80\x80\x80", 4), 0);
    assert_int_equal(len_of("\x80", 1), 0);               /* a lone continuation */
}

static void utf8_sequence_cut_short_refused(void **state)
{
    assert_int_equal(len_of("\xe2\x82\xac", 2), 0);       /* the octets available end inside it */
    assert_int_equal(len_of("\xe2\x82", 3), 0);           /* NUL where a continuation belongs */
    assert_int_equal(len_of("", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_well_formed_sequences_have_their_length),
        cmocka_unit_test(utf8_overlong_surrogate_and_beyond_refused),
        cmocka_unit_test(utf8_sequence_cut_short_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
