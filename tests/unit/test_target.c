/* Targets: what counts as a DNS name we may validate (no .onion, RFC 7686),
 * and IDN U-labels turned into the A-labels the checks use (IDNA2008 with
 * UTS #46 non-transitional mapping, as browsers do). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "target.h"

static void expect_name(const char *sent, const char *checked)
{
    struct mpic_target t;
    struct mpic_error err;
    if (mpic_target_parse(sent, &t, &err) != 0)
        fail_msg("%s rejected: %s", sent, err.msg);
    assert_int_equal(t.kind, MPIC_TARGET_DNS);
    assert_string_equal(t.name, checked);
}

static void expect_rejected(const char *sent, const char *why)
{
    struct mpic_target t;
    struct mpic_error err;
    if (mpic_target_parse(sent, &t, &err) == 0)
        fail_msg("%s accepted as %s", sent, t.name);
    if (strstr(err.msg, why) == NULL)
        fail_msg("%s: \"%s\" does not say \"%s\"", sent, err.msg, why);
}

static void onion_names_refused(void **state)
{
    expect_rejected("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", "RFC 7686");
    expect_rejected("www.example.onion", "RFC 7686");
    expect_rejected("*.example.onion", "RFC 7686");
    expect_rejected("example.ONION", "RFC 7686");
    expect_name("onion.example.com", "onion.example.com");
    expect_name("example.onion.example", "example.onion.example");
}

static void ascii_names_checked_as_sent(void **state)
{
    expect_name("Example.COM", "Example.COM");
    expect_name("*.example.com", "*.example.com");
    expect_name("xn--bcher-kva.example.test", "xn--bcher-kva.example.test");
}

static void u_labels_become_a_labels(void **state)
{
    expect_name("bücher.example.test", "xn--bcher-kva.example.test");
    expect_name("BÜCHER.Example.test", "xn--bcher-kva.example.test");   /* UTS #46 maps case */
    expect_name("*.bücher.example.test", "*.xn--bcher-kva.example.test");
    expect_name("faß.de", "xn--fa-hia.de");                             /* non-transitional: ß stays */
    expect_name("例え.テスト", "xn--r8jz45g.xn--zckzah");
    expect_name("bücher\xe3\x80\x82" "example.test", "xn--bcher-kva.example.test"); /* ideographic full stop */
}

static void invalid_u_labels_refused(void **state)
{
    expect_rejected("b\xc3.example.test", "not a valid internationalised");          /* truncated UTF-8 */
    expect_rejected("\xcc\x81" "abc.example.test", "not a valid internationalised"); /* leading combining mark */
    expect_rejected("a\xe2\x80\x8d" "b.example.test", "not a valid internationalised"); /* ZWJ out of context */
    expect_rejected("bücher.onion", "RFC 7686");
    expect_rejected("ü", "single-label");
    expect_rejected("１２７.０.０.１", "all digits");   /* fullwidth digits map to a dotted quad */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(onion_names_refused),
        cmocka_unit_test(ascii_names_checked_as_sent),
        cmocka_unit_test(u_labels_become_a_labels),
        cmocka_unit_test(invalid_u_labels_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
