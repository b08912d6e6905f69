/* Unit tests for the observing side of the DNS DCV methods
 * (perspective-agent/dcv_dns_observe.c): the question each method asks, and
 * how one answered record reads in records_seen and whether it corroborates.
 * Records are built from presentation text with ldns, as a zone file holds
 * them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "caa.h"
#include "dcv_dns_observe.h"

#define NOW ((time_t)1750000000)   /* 2025-06-15; fixed, never today */
static const char *const HASH = "LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZo";

/* ---- observing one record ---- */

struct seen {
    int rc;
    bool match;
    char shown[512];
    char why[256];
};

static struct seen observe(const struct mpic_dcv_params *p, bool wildcard, const char *rr_text)
{
    ldns_rr *rr = NULL;
    if (ldns_rr_new_frm_str(&rr, rr_text, 300, NULL, NULL) != LDNS_STATUS_OK)
        fail_msg("cannot build the record %s", rr_text);
    struct seen s = { 0 };
    char *shown = NULL;
    s.rc = mpic_dcv_dns_observe(p, wildcard, NOW, rr, &shown, &s.match, s.why, sizeof s.why);
    if (s.rc == 0) {
        assert_non_null(shown);
        snprintf(s.shown, sizeof s.shown, "%s", shown);
    } else {
        assert_null(shown);
    }
    free(shown);
    ldns_rr_free(rr);
    return s;
}

static bool matches(const struct mpic_dcv_params *p, const char *rr_text)
{
    struct seen s = observe(p, false, rr_text);
    assert_int_equal(s.rc, 0);
    return s.match;
}

static void acme_dns01_compares_byte_for_byte(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_ACME_DNS_01, .key_authorization_hash = (char *)HASH };
    char rr[256];
    snprintf(rr, sizeof rr, "_acme-challenge.example.test. TXT \"%s\"", HASH);
    assert_true(matches(&p, rr));
    /* the character-strings of one TXT RR are joined (RFC 8555 §8.4) */
    snprintf(rr, sizeof rr, "_acme-challenge.example.test. TXT \"%.20s\" \"%s\"", HASH, HASH + 20);
    assert_true(matches(&p, rr));
    /* case matters: base64url is case-sensitive */
    snprintf(rr, sizeof rr, "_acme-challenge.example.test. TXT \"%c%s\"", 'l', HASH + 1);
    assert_false(matches(&p, rr));
    /* no substring, no trailing space */
    snprintf(rr, sizeof rr, "_acme-challenge.example.test. TXT \"x%s\"", HASH);
    assert_false(matches(&p, rr));
    snprintf(rr, sizeof rr, "_acme-challenge.example.test. TXT \"%s \"", HASH);
    assert_false(matches(&p, rr));
}

static void records_seen_shows_printable_utf8_as_is(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "x", .require_exact_case = true };
    struct seen s = observe(&p, false, "a.example.test. TXT \"caf\\195\\169 ok\"");
    assert_string_equal(s.shown, "caf\xc3\xa9 ok");
}

static void records_seen_escapes_other_octets_as_ddd(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "abc", .require_exact_case = true };
    /* invalid UTF-8: every octet outside 0x20-0x7e as \DDD, '\' doubled */
    struct seen s = observe(&p, false, "a.example.test. TXT \"a\\255b\\\\c\"");
    assert_string_equal(s.shown, "a\\255b\\\\c");
    /* a control character makes the value non-printable too */
    s = observe(&p, false, "a.example.test. TXT \"tab\\009abc\"");
    assert_string_equal(s.shown, "tab\\009abc");
    assert_true(s.match);   /* the value still matches as a substring */
    /* overlong form, surrogate, C1 control: escaped */
    s = observe(&p, false, "a.example.test. TXT \"\\192\\175\"");
    assert_string_equal(s.shown, "\\192\\175");
    s = observe(&p, false, "a.example.test. TXT \"\\237\\160\\128\"");
    assert_string_equal(s.shown, "\\237\\160\\128");
    s = observe(&p, false, "a.example.test. TXT \"\\194\\133\"");
    assert_string_equal(s.shown, "\\194\\133");
}

static void value_with_nul_is_shown_but_matches_nothing(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "abc",
                                 .require_exact_case = true };
    struct seen s = observe(&p, false, "a.example.test. TXT \"abc\\000\"");
    assert_int_equal(s.rc, 0);
    assert_string_equal(s.shown, "abc\\000");
    assert_false(s.match);
}

static void dns_change_txt_substring_or_exact(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "Value-123",
                                 .dns_record_type = MPIC_RR_TXT, .require_exact_case = true };
    assert_true(matches(&p, "a.example.test. TXT \"prefix Value-123 suffix\""));
    p.require_exact_match = true;
    assert_false(matches(&p, "a.example.test. TXT \"prefix Value-123 suffix\""));
    assert_true(matches(&p, "a.example.test. TXT \"Value-123\""));
}

/* Spec 3.9: require_exact_case (default true) decides whether case matters. */
static void dns_change_require_exact_case(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "Value-123",
                                 .dns_record_type = MPIC_RR_TXT, .require_exact_case = true };
    assert_false(matches(&p, "a.example.test. TXT \"value-123\""));
    p.require_exact_case = false;
    assert_true(matches(&p, "a.example.test. TXT \"value-123\""));
    assert_true(matches(&p, "a.example.test. TXT \"xx VALUE-123 xx\""));
    p.require_exact_match = true;
    assert_true(matches(&p, "a.example.test. TXT \"VALUE-123\""));
    assert_false(matches(&p, "a.example.test. TXT \"xx VALUE-123\""));
    /* CAA values follow the same rule (the request parser forces it false for CAA and CNAME) */
    p.require_exact_match = false;
    p.require_exact_case = true;
    assert_false(matches(&p, "a.example.test. CAA 0 issue \"value-123\""));
    p.require_exact_case = false;
    assert_true(matches(&p, "a.example.test. CAA 0 issue \"value-123\""));
}

static void dns_change_cname_relative_or_absolute(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "target.example.net",
                                 .dns_record_type = MPIC_RR_CNAME, .require_exact_match = true };
    struct seen s = observe(&p, false, "a.example.test. CNAME target.example.net.");
    assert_true(s.match);
    assert_string_equal(s.shown, "target.example.net.");   /* shown absolute */
    /* a value written with the final dot is compared with the absolute form */
    p.challenge_value = "target.example.net.";
    assert_true(matches(&p, "a.example.test. CNAME target.example.net."));
    p.challenge_value = "other.example.net";
    assert_false(matches(&p, "a.example.test. CNAME target.example.net."));
}

static void reverse_lookup_ptr_ignores_case_and_final_dot(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_REVERSE_ADDRESS_LOOKUP, .challenge_value = "Host.Example.Test" };
    assert_true(matches(&p, "5.113.0.203.in-addr.arpa. PTR host.example.test."));
    p.challenge_value = "host.example.test.";
    assert_true(matches(&p, "5.113.0.203.in-addr.arpa. PTR HOST.example.test."));
    p.challenge_value = "host.example";
    assert_false(matches(&p, "5.113.0.203.in-addr.arpa. PTR host.example.test."));
}

static void ip_address_compares_addresses_not_text(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_IP_ADDRESS, .challenge_value = "2001:0db8:0:0::0001" };
    struct seen s = observe(&p, false, "a.example.test. AAAA 2001:db8::1");
    assert_true(s.match);
    assert_string_equal(s.shown, "2001:db8::1");
    p.challenge_value = "203.0.113.5";
    assert_true(matches(&p, "a.example.test. A 203.0.113.5"));
    assert_false(matches(&p, "a.example.test. A 203.0.113.50"));
}

/* ---- contacts ---- */

static void contact_email_txt_is_one_valid_address_any_case(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_CONTACT_EMAIL_TXT, .challenge_value = "Admin@Example.Test" };
    assert_true(matches(&p, "_validation-contactemail.example.test. TXT \"admin@example.test\""));
    /* the whole value, not a substring */
    assert_false(matches(&p, "_validation-contactemail.example.test. TXT \"mail admin@example.test\""));
    /* equal text that is no address never matches */
    p.challenge_value = "not an address";
    assert_false(matches(&p, "_validation-contactemail.example.test. TXT \"not an address\""));
}

static void contact_phone_txt_is_one_valid_number(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_CONTACT_PHONE_TXT, .challenge_value = "+1-555-0100" };
    assert_true(matches(&p, "_validation-contactphone.example.test. TXT \"+1-555-0100\""));
    assert_false(matches(&p, "_validation-contactphone.example.test. TXT \"+1-555-0101\""));
    p.challenge_value = "555-0100";   /* not a global number */
    assert_false(matches(&p, "_validation-contactphone.example.test. TXT \"555-0100\""));
}

static void contact_caa_needs_its_tag(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_CONTACT_EMAIL_CAA, .challenge_value = "admin@example.test" };
    struct seen s = observe(&p, false, "example.test. CAA 0 contactemail \"admin@example.test\"");
    assert_true(s.match);
    assert_string_equal(s.shown, "0 contactemail \"admin@example.test\"");
    assert_true(matches(&p, "example.test. CAA 0 ContactEmail \"ADMIN@example.test\""));
    assert_false(matches(&p, "example.test. CAA 0 contactphone \"admin@example.test\""));
    assert_false(matches(&p, "example.test. CAA 0 issue \"admin@example.test\""));
    p.method = MPIC_DCV_CONTACT_PHONE_CAA;
    p.challenge_value = "+1 555 0100";
    assert_true(matches(&p, "example.test. CAA 0 contactphone \"+1 555 0100\""));
    assert_false(matches(&p, "example.test. CAA 0 contactemail \"+1 555 0100\""));
}

/* ---- dns-persistent ---- */

static void persistent_matches_and_says_why_not(void **state)
{
    char *issuers[] = { "ca.example.net" };
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_PERSISTENT,
                                 .issuer_domain_names = { issuers, 1 },
                                 .expected_account_uri = "https://ca.example.net/acct/123" };
    const char *ok = "_validation-persist.example.test. TXT "
                     "\"ca.example.net; accounturi=https://ca.example.net/acct/123\"";
    struct seen s = observe(&p, false, ok);
    assert_true(s.match);
    assert_string_equal(s.why, "");
    /* a wildcard target needs policy=wildcard */
    s = observe(&p, true, ok);
    assert_false(s.match);
    assert_string_not_equal(s.why, "");
    /* another CA's record: no match, and why names the issuer */
    s = observe(&p, false, "_validation-persist.example.test. TXT \"other.example; accounturi=x\"");
    assert_false(s.match);
    assert_non_null(strstr(s.why, "issuer"));
    /* persistUntil is judged against the clock given, not today */
    s = observe(&p, false, "_validation-persist.example.test. TXT "
                           "\"ca.example.net; accounturi=https://ca.example.net/acct/123; persistUntil=1750000001\"");
    assert_true(s.match);
    s = observe(&p, false, "_validation-persist.example.test. TXT "
                           "\"ca.example.net; accounturi=https://ca.example.net/acct/123; persistUntil=1749999999\"");
    assert_false(s.match);
}

static void unexpected_record_type_is_unreadable(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "x" };
    assert_int_equal(observe(&p, false, "a.example.test. MX 10 mail.example.test.").rc, -1);
}

/* ---- the question of each method ---- */

struct question {
    int rc;
    ldns_rr_type qtype;
    size_t n;
    char name[300];
    char msg[600];
};

static struct question plan(const struct mpic_dcv_params *p, const char *target)
{
    struct mpic_target ti;
    struct mpic_error err;
    assert_int_equal(mpic_target_parse(target, &ti, &err), 0);
    struct question q = { 0 };
    char *names[MPIC_CAA_MAX_LEVELS];
    q.rc = mpic_dcv_dns_plan(p, target, &ti, &q.qtype, names, &q.n, q.msg, sizeof q.msg);
    if (q.rc == 0) {
        assert_true(q.n >= 1);
        snprintf(q.name, sizeof q.name, "%s", names[0]);
        for (size_t i = 0; i < q.n; i++)
            free(names[i]);
    } else {
        assert_int_equal(q.n, 0);
    }
    return q;
}

static void asks(const struct mpic_dcv_params *p, const char *target, ldns_rr_type qtype, const char *name)
{
    struct question q = plan(p, target);
    if (q.rc != 0)
        fail_msg("%s for %s: %s", mpic_dcv_method_name(p->method), target, q.msg);
    assert_int_equal(q.qtype, qtype);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.name, name);
}

static void refused(const struct mpic_dcv_params *p, const char *target, int rc, const char *part)
{
    struct question q = plan(p, target);
    assert_int_equal(q.rc, rc);
    if (strstr(q.msg, part) == NULL)
        fail_msg("\"%s\" lacks \"%s\"", q.msg, part);
}

static void plan_names_and_types_per_method(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_ACME_DNS_01, .key_authorization_hash = (char *)HASH };
    asks(&p, "Example.Test", LDNS_RR_TYPE_TXT, "_acme-challenge.example.test");   /* asked in lower case */
    asks(&p, "*.example.test", LDNS_RR_TYPE_TXT, "_acme-challenge.example.test");

    p = (struct mpic_dcv_params){ .method = MPIC_DCV_DNS_ACCOUNT_01, .key_authorization_hash = (char *)HASH,
                                  .account_uri = "https://ca.example/acct/1" };
    char label[32], want[300];
    mpic_dcv_account_label(p.account_uri, label, sizeof label);
    snprintf(want, sizeof want, "%s._acme-challenge.example.test", label);
    asks(&p, "example.test", LDNS_RR_TYPE_TXT, want);

    p = (struct mpic_dcv_params){ .method = MPIC_DCV_CONTACT_EMAIL_TXT, .challenge_value = "a@example.test" };
    asks(&p, "example.test", LDNS_RR_TYPE_TXT, "_validation-contactemail.example.test");
    p.method = MPIC_DCV_CONTACT_PHONE_TXT;
    asks(&p, "example.test", LDNS_RR_TYPE_TXT, "_validation-contactphone.example.test");

    p = (struct mpic_dcv_params){ .method = MPIC_DCV_REVERSE_ADDRESS_LOOKUP, .challenge_value = "h.example.test" };
    asks(&p, "203.0.113.5", LDNS_RR_TYPE_PTR, "5.113.0.203.in-addr.arpa");

    char *issuers[] = { "ca.example.net" };
    p = (struct mpic_dcv_params){ .method = MPIC_DCV_DNS_PERSISTENT, .issuer_domain_names = { issuers, 1 },
                                  .expected_account_uri = "https://ca.example.net/a" };
    asks(&p, "*.example.test", LDNS_RR_TYPE_TXT, "_validation-persist.example.test");
    asks(&p, "203.0.113.5", LDNS_RR_TYPE_TXT, "_ip-validation-persist.5.113.0.203.in-addr.arpa");
}

static void plan_dns_change_prefix_and_record_type(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "v",
                                 .dns_record_type = MPIC_RR_TXT };
    asks(&p, "example.test", LDNS_RR_TYPE_TXT, "example.test");
    p.dns_name_prefix = "";   /* the reference's "no prefix" */
    asks(&p, "example.test", LDNS_RR_TYPE_TXT, "example.test");
    p.dns_name_prefix = "_Check";
    asks(&p, "example.test", LDNS_RR_TYPE_TXT, "_check.example.test");
    p.dns_record_type = MPIC_RR_CNAME;
    asks(&p, "example.test", LDNS_RR_TYPE_CNAME, "_check.example.test");
    p.dns_record_type = MPIC_RR_CAA;
    asks(&p, "example.test", LDNS_RR_TYPE_CAA, "_check.example.test");
    p.dns_record_type = MPIC_RR_A;
    refused(&p, "example.test", -1, "needs dns_record_type CNAME, TXT or CAA, not A");
}

static void plan_query_name_must_be_a_domain_name(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "v",
                                 .dns_record_type = MPIC_RR_TXT, .dns_name_prefix = "bad prefix" };
    refused(&p, "example.test", -1, "is not a valid domain name");
    p.dns_name_prefix = "a..b";
    refused(&p, "example.test", -1, "is not a valid domain name");
    char label[70];
    memset(label, 'a', 64);
    label[64] = '\0';
    p.dns_name_prefix = label;   /* a label of 64 octets */
    refused(&p, "example.test", -1, "is not a valid domain name");
    label[63] = '\0';
    asks(&p, "example.test", LDNS_RR_TYPE_TXT, strcat(strcpy((char[100]){ 0 }, label), ".example.test"));
    char longp[260];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    for (size_t i = 50; i < sizeof longp - 1; i += 51)
        longp[i] = '.';
    p.dns_name_prefix = longp;   /* over 253 octets in all */
    refused(&p, "example.test", -1, "is not a valid domain name");
}

static void plan_wildcard_only_for_the_methods_that_allow_it(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_CONTACT_EMAIL_TXT, .challenge_value = "a@example.test" };
    refused(&p, "*.example.test", -1, "cannot validate the wildcard target *.example.test");
    p = (struct mpic_dcv_params){ .method = MPIC_DCV_DNS_CHANGE, .challenge_value = "v",
                                  .dns_record_type = MPIC_RR_TXT };
    asks(&p, "*.example.test", LDNS_RR_TYPE_TXT, "example.test");
}

static void plan_ip_targets_only_for_reverse_lookup_and_persistent(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_ACME_DNS_01, .key_authorization_hash = (char *)HASH };
    refused(&p, "203.0.113.5", -1, "needs a domain name target, not the IP address 203.0.113.5");
    p = (struct mpic_dcv_params){ .method = MPIC_DCV_REVERSE_ADDRESS_LOOKUP, .challenge_value = "h.example.test" };
    refused(&p, "example.test", -1, "needs an IP address target, not example.test");
    asks(&p, "2001:db8::1", LDNS_RR_TYPE_PTR,
         "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

static void plan_missing_parameters_named(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_ACME_DNS_01 };
    refused(&p, "example.test", -1, "acme-dns-01 needs key_authorization_hash");
    p = (struct mpic_dcv_params){ .method = MPIC_DCV_DNS_ACCOUNT_01, .key_authorization_hash = (char *)HASH };
    refused(&p, "example.test", -1, "needs account_uri");
    p = (struct mpic_dcv_params){ .method = MPIC_DCV_DNS_PERSISTENT };
    refused(&p, "example.test", -1, "needs issuer_domain_names");
    char *issuers[] = { "ca.example.net" };
    p.issuer_domain_names = (struct mpic_strv){ issuers, 1 };
    refused(&p, "example.test", -1, "needs expected_account_uri");
    p = (struct mpic_dcv_params){ .method = MPIC_DCV_DNS_CHANGE, .dns_record_type = MPIC_RR_TXT };
    refused(&p, "example.test", -1, "dns-change needs challenge_value");
}

static void plan_ip_address_value_of_the_other_family_never_matches(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_IP_ADDRESS, .challenge_value = "203.0.113.5" };
    asks(&p, "example.test", LDNS_RR_TYPE_A, "example.test");        /* the family decides */
    p.challenge_value = "2001:db8::5";
    asks(&p, "example.test", LDNS_RR_TYPE_AAAA, "example.test");
    p.dns_record_type = MPIC_RR_A;   /* a completed check that fails, as the reference answers */
    refused(&p, "example.test", -2, "is not an IPv4 address, so no A record can hold it");
    p.challenge_value = "not-an-ip";
    refused(&p, "example.test", -2, "is not an IP address");
    p.challenge_value = "203.0.113.5";
    p.dns_record_type = MPIC_RR_TXT;
    refused(&p, "example.test", -1, "needs dns_record_type A or AAAA, not TXT");
}

static void plan_contact_caa_climbs_every_level(void **state)
{
    struct mpic_dcv_params p = { .method = MPIC_DCV_CONTACT_PHONE_CAA, .challenge_value = "+1 555 0100" };
    struct question q = plan(&p, "a.b.example.test");
    assert_int_equal(q.rc, 0);
    assert_int_equal(q.qtype, LDNS_RR_TYPE_CAA);
    assert_int_equal(q.n, 4);   /* a.b.example.test, b.example.test, example.test, test */
    assert_string_equal(q.name, "a.b.example.test");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acme_dns01_compares_byte_for_byte),
        cmocka_unit_test(records_seen_shows_printable_utf8_as_is),
        cmocka_unit_test(records_seen_escapes_other_octets_as_ddd),
        cmocka_unit_test(value_with_nul_is_shown_but_matches_nothing),
        cmocka_unit_test(dns_change_txt_substring_or_exact),
        cmocka_unit_test(dns_change_require_exact_case),
        cmocka_unit_test(dns_change_cname_relative_or_absolute),
        cmocka_unit_test(reverse_lookup_ptr_ignores_case_and_final_dot),
        cmocka_unit_test(ip_address_compares_addresses_not_text),
        cmocka_unit_test(contact_email_txt_is_one_valid_address_any_case),
        cmocka_unit_test(contact_phone_txt_is_one_valid_number),
        cmocka_unit_test(contact_caa_needs_its_tag),
        cmocka_unit_test(persistent_matches_and_says_why_not),
        cmocka_unit_test(unexpected_record_type_is_unreadable),
        cmocka_unit_test(plan_names_and_types_per_method),
        cmocka_unit_test(plan_dns_change_prefix_and_record_type),
        cmocka_unit_test(plan_query_name_must_be_a_domain_name),
        cmocka_unit_test(plan_wildcard_only_for_the_methods_that_allow_it),
        cmocka_unit_test(plan_ip_targets_only_for_reverse_lookup_and_persistent),
        cmocka_unit_test(plan_missing_parameters_named),
        cmocka_unit_test(plan_ip_address_value_of_the_other_family_never_matches),
        cmocka_unit_test(plan_contact_caa_climbs_every_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
