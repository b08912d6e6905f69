/* mpic_dns_answer_extract: which records of an answer section answer the
 * question once the resolver's CNAME chain is followed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dnsanswer.h"

/* An answer packet holding the given records (presentation format). */
static ldns_pkt *answer_pkt(const char *const *rrs, size_t n)
{
    ldns_pkt *pkt = ldns_pkt_new();
    assert_non_null(pkt);
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, rrs[i], 60, NULL, NULL), LDNS_STATUS_OK);
        assert_true(ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr));
    }
    return pkt;
}

#define PKT(...) answer_pkt((const char *const[]){__VA_ARGS__}, \
                            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* The value of the n-th collected CAA record, e.g. "ca.example". */
static void assert_caa_value(const struct mpic_dns_rrset *s, size_t i, const char *value)
{
    const ldns_rr *rr = ldns_rr_list_rr(s->rrs, i);
    assert_non_null(rr);
    assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_CAA);
    const ldns_rdf *v = ldns_rr_rdf(rr, 2);
    assert_int_equal(ldns_rdf_size(v), strlen(value));
    assert_memory_equal(ldns_rdf_data(v), value, strlen(value));
}

static void direct_answer_taken_without_chain(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("example.test. 60 IN CAA 0 issue \"ca.example\"",
                        "example.test. 60 IN CAA 0 iodef \"mailto:x@example.test\"");
    struct mpic_dns_rrset s;
    struct mpic_error err = {{0}};
    assert_int_equal(mpic_dns_answer_extract(pkt, "example.test", LDNS_RR_TYPE_CAA, &s, &err), 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 2);
    assert_caa_value(&s, 0, "ca.example");
    assert_string_equal(s.final_name, "example.test");
    assert_int_equal(s.cname_chain.n, 0);
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void qname_with_trailing_dot_accepted(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("example.test. 60 IN CAA 0 issue \"ca.example\"");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "example.test.", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 1);
    assert_string_equal(s.final_name, "example.test");
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void single_cname_followed_to_target_records(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("www.example.test. 60 IN CNAME target.other.test.",
                        "target.other.test. 60 IN CAA 0 issue \"other-ca.example\"");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "www.example.test", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 1);
    assert_caa_value(&s, 0, "other-ca.example");
    assert_string_equal(s.final_name, "target.other.test");
    assert_int_equal(s.cname_chain.n, 1);
    assert_string_equal(s.cname_chain.v[0], "target.other.test.");
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void chain_of_three_cnames_followed_in_order(void **state)
{
    (void)state;
    /* Deliberately out of order: the chain is followed by name, not by position. */
    ldns_pkt *pkt = PKT("c.test. 60 IN CNAME d.test.",
                        "d.test. 60 IN CAA 0 issue \"d-ca.example\"",
                        "a.test. 60 IN CNAME b.test.",
                        "b.test. 60 IN CNAME c.test.");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "a.test", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 1);
    assert_caa_value(&s, 0, "d-ca.example");
    assert_string_equal(s.final_name, "d.test");
    assert_int_equal(s.cname_chain.n, 3);
    assert_string_equal(s.cname_chain.v[0], "b.test.");
    assert_string_equal(s.cname_chain.v[1], "c.test.");
    assert_string_equal(s.cname_chain.v[2], "d.test.");
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void dangling_cname_yields_empty_set(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("www.example.test. 60 IN CNAME gone.example.test.");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "www.example.test", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    assert_non_null(s.rrs);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 0);
    assert_string_equal(s.final_name, "gone.example.test");
    assert_int_equal(s.cname_chain.n, 1);
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void empty_answer_yields_empty_set(void **state)
{
    (void)state;
    ldns_pkt *pkt = ldns_pkt_new();
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "example.test", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 0);
    assert_string_equal(s.final_name, "example.test");
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void cname_loop_is_error(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("a.test. 60 IN CNAME b.test.",
                        "b.test. 60 IN CNAME a.test.",
                        "a.test. 60 IN CAA 0 issue \"ca.example\"");
    struct mpic_dns_rrset s;
    struct mpic_error err = {{0}};
    assert_int_equal(mpic_dns_answer_extract(pkt, "a.test", LDNS_RR_TYPE_CAA, &s, &err), -1);
    assert_non_null(strstr(err.msg, "a.test"));
    assert_non_null(strstr(err.msg, "loop"));
    assert_null(s.rrs);
    assert_null(s.final_name);
    ldns_pkt_free(pkt);
}

static void cname_to_itself_is_error(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("a.test. 60 IN CNAME A.TEST.");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "a.test", LDNS_RR_TYPE_CAA, &s, NULL), -1);
    ldns_pkt_free(pkt);
}

static void chain_of_max_length_accepted_one_more_rejected(void **state)
{
    (void)state;
    /* n0 -> n1 -> ... -> nK, CAA at nK. */
    for (int k = MPIC_DNS_MAX_CNAME_CHAIN; k <= MPIC_DNS_MAX_CNAME_CHAIN + 1; k++) {
        ldns_pkt *pkt = ldns_pkt_new();
        char buf[128];
        for (int i = 0; i < k; i++) {
            snprintf(buf, sizeof buf, "n%d.test. 60 IN CNAME n%d.test.", i, i + 1);
            ldns_rr *rr = NULL;
            assert_int_equal(ldns_rr_new_frm_str(&rr, buf, 60, NULL, NULL), LDNS_STATUS_OK);
            ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
        }
        snprintf(buf, sizeof buf, "n%d.test. 60 IN CAA 0 issue \"ca.example\"", k);
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, buf, 60, NULL, NULL), LDNS_STATUS_OK);
        ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);

        struct mpic_dns_rrset s;
        struct mpic_error err = {{0}};
        int rc = mpic_dns_answer_extract(pkt, "n0.test", LDNS_RR_TYPE_CAA, &s, &err);
        if (k == MPIC_DNS_MAX_CNAME_CHAIN) {
            assert_int_equal(rc, 0);
            assert_int_equal(s.cname_chain.n, MPIC_DNS_MAX_CNAME_CHAIN);
            assert_int_equal(ldns_rr_list_rr_count(s.rrs), 1);
            mpic_dns_rrset_free(&s);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err.msg, "longer than"));
        }
        ldns_pkt_free(pkt);
    }
}

static void records_of_other_owners_ignored(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("evil.test. 60 IN CAA 0 issue \"evil-ca.example\"",
                        "www.example.test. 60 IN CNAME target.test.",
                        "www.example.test. 60 IN CAA 0 issue \"not-at-chain-end.example\"",
                        "target.test. 60 IN CAA 0 issue \"good-ca.example\"",
                        "sub.target.test. 60 IN CAA 0 issue \"child.example\"",
                        "target.test. 60 IN TXT \"other type\"");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "www.example.test", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 1);
    assert_caa_value(&s, 0, "good-ca.example");
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void unrelated_cname_not_followed(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("other.test. 60 IN CNAME example.test.",
                        "example.test. 60 IN CAA 0 issue \"ca.example\"");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "example.test", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    assert_int_equal(s.cname_chain.n, 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 1);
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void owner_names_compared_case_insensitively(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("WWW.Example.TEST. 60 IN CNAME Target.Test.",
                        "tArGeT.tEsT. 60 IN CAA 0 issue \"ca.example\"");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "www.example.test", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 1);
    assert_int_equal(s.cname_chain.n, 1);
    assert_string_equal(s.cname_chain.v[0], "Target.Test.");
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void cname_query_returns_cname_itself(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("www.example.test. 60 IN CNAME target.test.",
                        "target.test. 60 IN CNAME further.test.");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "www.example.test", LDNS_RR_TYPE_CNAME, &s, NULL), 0);
    assert_int_equal(ldns_rr_list_rr_count(s.rrs), 1);
    assert_int_equal(s.cname_chain.n, 0);
    mpic_dns_rrset_free(&s);
    ldns_pkt_free(pkt);
}

static void records_are_clones_owned_by_the_set(void **state)
{
    (void)state;
    ldns_pkt *pkt = PKT("example.test. 60 IN CAA 0 issue \"ca.example\"");
    struct mpic_dns_rrset s;
    assert_int_equal(mpic_dns_answer_extract(pkt, "example.test", LDNS_RR_TYPE_CAA, &s, NULL), 0);
    ldns_pkt_free(pkt);     /* the set must survive its packet */
    assert_caa_value(&s, 0, "ca.example");
    mpic_dns_rrset_free(&s);
    mpic_dns_rrset_free(&s); /* freeing twice is harmless */
}

static void invalid_qname_is_error(void **state)
{
    (void)state;
    ldns_pkt *pkt = ldns_pkt_new();
    struct mpic_dns_rrset s;
    struct mpic_error err = {{0}};
    assert_int_equal(mpic_dns_answer_extract(pkt, "", LDNS_RR_TYPE_CAA, &s, &err), -1);
    assert_int_equal(mpic_dns_answer_extract(pkt, "a..b", LDNS_RR_TYPE_CAA, &s, &err), -1);
    assert_non_null(strstr(err.msg, "a..b"));
    ldns_pkt_free(pkt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(direct_answer_taken_without_chain),
        cmocka_unit_test(qname_with_trailing_dot_accepted),
        cmocka_unit_test(single_cname_followed_to_target_records),
        cmocka_unit_test(chain_of_three_cnames_followed_in_order),
        cmocka_unit_test(dangling_cname_yields_empty_set),
        cmocka_unit_test(empty_answer_yields_empty_set),
        cmocka_unit_test(cname_loop_is_error),
        cmocka_unit_test(cname_to_itself_is_error),
        cmocka_unit_test(chain_of_max_length_accepted_one_more_rejected),
        cmocka_unit_test(records_of_other_owners_ignored),
        cmocka_unit_test(unrelated_cname_not_followed),
        cmocka_unit_test(owner_names_compared_case_insensitively),
        cmocka_unit_test(cname_query_returns_cname_itself),
        cmocka_unit_test(records_are_clones_owned_by_the_set),
        cmocka_unit_test(invalid_qname_is_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
