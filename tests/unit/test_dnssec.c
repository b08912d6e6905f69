/* common/dnssec.c: what a DS answer proves, when a name is proven Insecure
 * (RFC 4035 §4.3), and when a CAA lookup failure may permit (BR §3.2.2.8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec.h"

/* A response with the given rcode and AD bit; authority records follow, each
 * in presentation format, and an "ANSWER " prefix puts one in the answer section. */
static ldns_pkt *ds_reply(ldns_pkt_rcode rcode, bool ad, const char *const *rrs, size_t n)
{
    ldns_pkt *pkt = ldns_pkt_new();
    assert_non_null(pkt);
    ldns_pkt_set_qr(pkt, true);
    ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
    ldns_pkt_set_ad(pkt, ad);
    for (size_t i = 0; i < n; i++) {
        ldns_pkt_section sec = LDNS_SECTION_AUTHORITY;
        const char *text = rrs[i];
        if (strncmp(text, "ANSWER ", 7) == 0) {
            sec = LDNS_SECTION_ANSWER;
            text += 7;
        }
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, text, 60, NULL, NULL), LDNS_STATUS_OK);
        assert_true(ldns_pkt_push_rr(pkt, sec, rr));
    }
    return pkt;
}

#define REPLY(rcode, ad, ...) ds_reply(rcode, ad, (const char *const[]){__VA_ARGS__}, \
                                       sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static enum mpic_ds_evidence evidence(ldns_pkt *pkt, const char *name)
{
    enum mpic_ds_evidence e = mpic_dnssec_ds_evidence(pkt, name);
    ldns_pkt_free(pkt);
    return e;
}

/* What unbound sends for DS insecure.example.test in the lab. */
#define UNSIGNED_CUT_NSEC "insecure.example.test. 60 IN NSEC mixedcase.example.test. NS RRSIG NSEC"

static void ds_nodata_with_nsec_showing_ns_without_ds_is_an_unsigned_cut(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true, UNSIGNED_CUT_NSEC), "insecure.example.test"),
                     MPIC_DS_UNSIGNED_CUT);
}

static void ds_denial_without_ad_proves_nothing(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, false, UNSIGNED_CUT_NSEC), "insecure.example.test"),
                     MPIC_DS_NOTHING);
}

static void ds_evidence_accepts_trailing_dot_and_any_case(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true, UNSIGNED_CUT_NSEC), "InSecure.Example.TEST."),
                     MPIC_DS_UNSIGNED_CUT);
}

/* www in a signed zone: the denial is validated but www is no delegation. */
static void ds_denial_at_a_name_inside_a_signed_zone_is_not_a_cut(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true,
                                    "www.example.test. 60 IN NSEC example.test. A RRSIG NSEC"),
                              "www.example.test"),
                     MPIC_DS_NO_CUT);
}

/* NS and SOA together: the child's apex answered, not the parent's side of the cut. */
static void ds_denial_from_a_child_apex_is_not_a_cut(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true,
                                    "sub.example.test. 60 IN NSEC a.sub.example.test. NS SOA RRSIG NSEC DNSKEY"),
                              "sub.example.test"),
                     MPIC_DS_NO_CUT);
}

static void ds_denial_by_an_nsec_of_another_name_is_not_a_cut(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true, UNSIGNED_CUT_NSEC), "other.example.test"),
                     MPIC_DS_NO_CUT);
}

static void ds_denial_without_any_nsec_is_not_a_cut(void **state)
{
    assert_int_equal(evidence(ds_reply(LDNS_RCODE_NOERROR, true, NULL, 0), "insecure.example.test"),
                     MPIC_DS_NO_CUT);
}

static void ds_nxdomain_is_not_a_cut(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NXDOMAIN, true, UNSIGNED_CUT_NSEC), "insecure.example.test"),
                     MPIC_DS_NO_CUT);
}

static void ds_servfail_proves_nothing_even_with_ad(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_SERVFAIL, true, UNSIGNED_CUT_NSEC), "insecure.example.test"),
                     MPIC_DS_NOTHING);
}

static void ds_rrset_with_ad_is_a_signed_delegation(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true,
                                    "ANSWER example.test. 60 IN DS 47262 13 2 "
                                    "0B1C2D3E4F5061728394A5B6C7D8E9F00112233445566778899AABBCCDDEEFF0"),
                              "example.test"),
                     MPIC_DS_SIGNED);
}

/* RFC 5155 appendix A parameters (SHA-1, 12 iterations, salt aabbccdd);
 * 4g6p9u5gvfshp30pqecj98b3maqbn1ck is the hash of c.example (ldns-nsec3-hash). */
static void ds_denial_by_matching_nsec3_showing_ns_without_ds_is_an_unsigned_cut(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true,
                                    "4g6p9u5gvfshp30pqecj98b3maqbn1ck.example. 60 IN NSEC3 1 0 12 aabbccdd "
                                    "4g6p9u5gvfshp30pqecj98b3maqbn1cl NS"),
                              "c.example"),
                     MPIC_DS_UNSIGNED_CUT);
}

static void ds_denial_by_nsec3_of_another_hash_is_not_a_cut(void **state)
{
    /* 35mthgpgcu1qg68fab165klnsnk3dpvl is a.example's hash, not c.example's. */
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true,
                                    "35mthgpgcu1qg68fab165klnsnk3dpvl.example. 60 IN NSEC3 1 1 12 aabbccdd "
                                    "b4um86eghhds6nea196smvmlo4ors995 NS"),
                              "c.example"),
                     MPIC_DS_NO_CUT);
}

static void ds_denial_by_nsec3_with_ds_bit_is_not_a_cut(void **state)
{
    assert_int_equal(evidence(REPLY(LDNS_RCODE_NOERROR, true,
                                    "35mthgpgcu1qg68fab165klnsnk3dpvl.example. 60 IN NSEC3 1 1 12 aabbccdd "
                                    "b4um86eghhds6nea196smvmlo4ors995 NS DS RRSIG"),
                              "a.example"),
                     MPIC_DS_NO_CUT);
}

static void insecure_at_finds_the_unsigned_cut_above_the_name(void **state)
{
    /* broken.insecure.example.test, insecure.example.test, example.test, test */
    enum mpic_ds_evidence ev[] = { MPIC_DS_NOTHING, MPIC_DS_UNSIGNED_CUT, MPIC_DS_NOTHING, MPIC_DS_NOTHING };
    assert_int_equal(mpic_dnssec_insecure_at(ev, 4), 1);
}

static void insecure_at_accepts_the_name_itself_as_the_cut(void **state)
{
    enum mpic_ds_evidence ev[] = { MPIC_DS_UNSIGNED_CUT, MPIC_DS_SIGNED, MPIC_DS_NOTHING };
    assert_int_equal(mpic_dnssec_insecure_at(ev, 3), 0);
}

static void insecure_at_needs_a_cut_not_just_validated_denials(void **state)
{
    /* cname.example.test: the denial is signed, but no level is a delegation. */
    enum mpic_ds_evidence ev[] = { MPIC_DS_NO_CUT, MPIC_DS_NO_CUT, MPIC_DS_NOTHING };
    assert_int_equal(mpic_dnssec_insecure_at(ev, 3), -1);
}

static void insecure_at_without_validated_answers_is_indeterminate(void **state)
{
    enum mpic_ds_evidence ev[] = { MPIC_DS_NOTHING, MPIC_DS_NOTHING };
    assert_int_equal(mpic_dnssec_insecure_at(ev, 2), -1);
    assert_int_equal(mpic_dnssec_insecure_at(ev, 0), -1);
    assert_int_equal(mpic_dnssec_insecure_at(NULL, 2), -1);
}

static void insecure_at_rejects_a_signed_ds_below_the_cut(void **state)
{
    enum mpic_ds_evidence ev[] = { MPIC_DS_SIGNED, MPIC_DS_UNSIGNED_CUT, MPIC_DS_NOTHING };
    assert_int_equal(mpic_dnssec_insecure_at(ev, 3), -1);
}

static ldns_pkt *with_ede(uint16_t code)
{
    ldns_pkt *pkt = ds_reply(LDNS_RCODE_SERVFAIL, false, NULL, 0);
    uint8_t data[2] = { (uint8_t)(code >> 8), (uint8_t)code };
    ldns_edns_option_list *list = ldns_edns_option_list_new();
    ldns_edns_option *o = ldns_edns_new_from_data(LDNS_EDNS_EDE, sizeof data, data);
    assert_non_null(list);
    assert_non_null(o);
    assert_true(ldns_edns_option_list_push(list, o));
    ldns_pkt_set_edns_option_list(pkt, list);
    return pkt;
}

static void ede_code_reads_the_first_extended_error(void **state)
{
    ldns_pkt *pkt = with_ede(7);
    assert_int_equal(mpic_dns_ede_code(pkt), 7);
    ldns_pkt_free(pkt);
    pkt = with_ede(22);
    assert_int_equal(mpic_dns_ede_code(pkt), 22);
    ldns_pkt_free(pkt);
}

static void ede_code_is_minus_one_without_extended_error(void **state)
{
    ldns_pkt *pkt = ds_reply(LDNS_RCODE_SERVFAIL, false, NULL, 0);
    assert_int_equal(mpic_dns_ede_code(pkt), -1);
    ldns_pkt_free(pkt);
    assert_int_equal(mpic_dns_ede_code(NULL), -1);
}

static void ede_codes_1_to_12_are_dnssec_failures(void **state)
{
    for (int code = 1; code <= 12; code++)
        assert_true(mpic_ede_is_dnssec(code));
    assert_false(mpic_ede_is_dnssec(-1));
    assert_false(mpic_ede_is_dnssec(0));    /* Other */
    assert_false(mpic_ede_is_dnssec(13));   /* Cached Error */
    assert_false(mpic_ede_is_dnssec(22));   /* No Reachable Authority */
    assert_false(mpic_ede_is_dnssec(23));   /* Network Error */
}

/* A retried SERVFAIL without DNSSEC error on a proven-Insecure zone. */
static struct mpic_lookup_failure permitted_failure(void)
{
    struct mpic_lookup_failure f = {
        .answered = true, .rcode = LDNS_RCODE_SERVFAIL, .ede = -1, .tries = 2, .insecure_proven = true,
    };
    return f;
}

static void lookup_failure_permitted_when_all_three_conditions_hold(void **state)
{
    struct mpic_lookup_failure f = permitted_failure();
    assert_int_equal(mpic_lookup_failure_verdict(&f), MPIC_LF_PERMITTED);
    f.ede = 22;   /* No Reachable Authority: still outside us, still not DNSSEC */
    assert_int_equal(mpic_lookup_failure_verdict(&f), MPIC_LF_PERMITTED);
}

static void lookup_failure_with_dnssec_error_never_permits(void **state)
{
    for (int code = 1; code <= 12; code++) {
        struct mpic_lookup_failure f = permitted_failure();
        f.ede = code;
        assert_int_equal(mpic_lookup_failure_verdict(&f), MPIC_LF_DNSSEC_FAILURE);
    }
}

static void lookup_failure_not_retried_is_not_permitted(void **state)
{
    struct mpic_lookup_failure f = permitted_failure();
    f.tries = 1;
    assert_int_equal(mpic_lookup_failure_verdict(&f), MPIC_LF_NOT_RETRIED);
}

static void lookup_failure_on_unproven_zone_is_not_permitted(void **state)
{
    struct mpic_lookup_failure f = permitted_failure();
    f.insecure_proven = false;
    assert_int_equal(mpic_lookup_failure_verdict(&f), MPIC_LF_NOT_INSECURE);
    assert_non_null(strstr(mpic_lf_verdict_text(MPIC_LF_NOT_INSECURE), "not proven Insecure"));
}

static void lookup_failure_of_our_own_resolver_is_not_permitted(void **state)
{
    struct mpic_lookup_failure f = permitted_failure();
    f.answered = false;   /* our resolver timed out or could not be reached */
    assert_int_equal(mpic_lookup_failure_verdict(&f), MPIC_LF_NOT_EXTERNAL);
    f = permitted_failure();
    f.rcode = LDNS_RCODE_REFUSED;   /* our resolver's policy */
    assert_int_equal(mpic_lookup_failure_verdict(&f), MPIC_LF_NOT_EXTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ds_nodata_with_nsec_showing_ns_without_ds_is_an_unsigned_cut),
        cmocka_unit_test(ds_denial_without_ad_proves_nothing),
        cmocka_unit_test(ds_evidence_accepts_trailing_dot_and_any_case),
        cmocka_unit_test(ds_denial_at_a_name_inside_a_signed_zone_is_not_a_cut),
        cmocka_unit_test(ds_denial_from_a_child_apex_is_not_a_cut),
        cmocka_unit_test(ds_denial_by_an_nsec_of_another_name_is_not_a_cut),
        cmocka_unit_test(ds_denial_without_any_nsec_is_not_a_cut),
        cmocka_unit_test(ds_nxdomain_is_not_a_cut),
        cmocka_unit_test(ds_servfail_proves_nothing_even_with_ad),
        cmocka_unit_test(ds_rrset_with_ad_is_a_signed_delegation),
        cmocka_unit_test(ds_denial_by_matching_nsec3_showing_ns_without_ds_is_an_unsigned_cut),
        cmocka_unit_test(ds_denial_by_nsec3_of_another_hash_is_not_a_cut),
        cmocka_unit_test(ds_denial_by_nsec3_with_ds_bit_is_not_a_cut),
        cmocka_unit_test(insecure_at_finds_the_unsigned_cut_above_the_name),
        cmocka_unit_test(insecure_at_accepts_the_name_itself_as_the_cut),
        cmocka_unit_test(insecure_at_needs_a_cut_not_just_validated_denials),
        cmocka_unit_test(insecure_at_without_validated_answers_is_indeterminate),
        cmocka_unit_test(insecure_at_rejects_a_signed_ds_below_the_cut),
        cmocka_unit_test(ede_code_reads_the_first_extended_error),
        cmocka_unit_test(ede_code_is_minus_one_without_extended_error),
        cmocka_unit_test(ede_codes_1_to_12_are_dnssec_failures),
        cmocka_unit_test(lookup_failure_permitted_when_all_three_conditions_hold),
        cmocka_unit_test(lookup_failure_with_dnssec_error_never_permits),
        cmocka_unit_test(lookup_failure_not_retried_is_not_permitted),
        cmocka_unit_test(lookup_failure_on_unproven_zone_is_not_permitted),
        cmocka_unit_test(lookup_failure_of_our_own_resolver_is_not_permitted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
