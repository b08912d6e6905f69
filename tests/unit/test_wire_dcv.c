/* DCV on the wire: parameters per method (every problem listed, defaults
 * filled in), the response with dcv_check_parameters, agent details. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "wire.h"
#include "wire_internal.h"

static const struct mpic_request_limits limits = { 6, 4, 3 };

static int parse(const char *target, const char *params, struct mpic_request *r, json_t **issues)
{
    char body[4096];
    struct mpic_orchestration o;
    snprintf(body, sizeof body, "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"%s\",\"dcv_check_parameters\":%s}",
             target, params);
    *issues = json_array();
    return mpic_request_parse(body, strlen(body), &limits, r, &o, *issues);
}

static bool has_issue(json_t *issues, const char *type)
{
    size_t i;
    json_t *e;
    json_array_foreach(issues, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "issue_type")), type) == 0)
            return true;
    }
    return false;
}

static void expect(const char *target, const char *params, const char *issue_type)
{
    struct mpic_request r;
    json_t *issues;
    int rc = parse(target, params, &r, &issues);
    if (issue_type == NULL ? rc != 0 : (rc != -1 || !has_issue(issues, issue_type))) {
        char *d = json_dumps(issues, 0);
        print_error("%s %s: expected %s, got rc=%d %s\n", target, params, issue_type ? issue_type : "success", rc, d);
        free(d);
        fail();
    }
    mpic_request_free(&r);
    json_decref(issues);
}

static void dcv_of_a_reverse_zone_name_refused(void **state)
{
    (void)state;
    const char *hash = "{\"validation_method\":\"acme-dns-01\",\"key_authorization_hash\":\"x\"}";
    expect("5.113.0.203.in-addr.arpa", hash, "invalid-domain");
    expect("8.7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.IP6.ARPA", hash, "invalid-domain");
    expect("in-addr.arpa", hash, "invalid-domain");
    expect("*.113.0.203.in-addr.arpa", hash, "invalid-domain");
    expect("notin-addr.arpa", hash, NULL);
    expect("in-addr.arpa.example.com", hash, NULL);
}

static void dcv_every_method_accepted_with_its_required_parameters(void **state)
{
    expect("example.com", "{\"validation_method\":\"acme-http-01\",\"token\":\"abc_-1\",\"key_authorization\":\"abc.xyz\"}", NULL);
    expect("example.com", "{\"validation_method\":\"acme-dns-01\",\"key_authorization_hash\":\"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0\"}", NULL);
    expect("*.example.com", "{\"validation_method\":\"acme-dns-01\",\"key_authorization_hash\":\"x\"}", NULL);
    expect("example.com", "{\"validation_method\":\"acme-tls-alpn-01\",\"key_authorization_hash\":"
           "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}", NULL);
    expect("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"f/token.txt\","
           "\"challenge_value\":\"v\",\"url_scheme\":\"https\",\"match_regex\":\"^v\",\"http_headers\":{\"X-A\":\"1\"}}", NULL);
    expect("example.com", "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"CAA\"}", NULL);
    expect("example.com", "{\"validation_method\":\"contact-email-txt\",\"challenge_value\":\"a@example.com\"}", NULL);
    expect("example.com", "{\"validation_method\":\"contact-phone-caa\",\"challenge_value\":\"+1 555 0100\"}", NULL);
    expect("example.com", "{\"validation_method\":\"ip-address\",\"challenge_value\":\"2001:db8::1\",\"dns_record_type\":\"AAAA\"}", NULL);
    expect("127.0.0.2", "{\"validation_method\":\"reverse-address-lookup\",\"challenge_value\":\"host.example.com\"}", NULL);
    expect("*.example.com", "{\"validation_method\":\"dns-persistent\",\"issuer_domain_names\":[\"CA.example\"],"
           "\"expected_account_uri\":\"https://ca.example/acct/1\"}", NULL);
    expect("example.com", "{\"validation_method\":\"dns-account-01\",\"key_authorization_hash\":\"h\","
           "\"account_uri\":\"https://example.com/acme/acct/ExampleAccount\"}", NULL);
}

static void dcv_rejections_name_each_problem(void **state)
{
    expect("example.com", "{}", "missing-field");
    expect("example.com", "[]", "invalid-dcv-parameter");
    expect("example.com", "{\"validation_method\":\"acme-http-02\"}", "unknown-validation-method");
    expect("example.com", "{\"validation_method\":\"acme-http-01\",\"token\":\"t\"}", "missing-field");
    expect("example.com", "{\"validation_method\":\"acme-http-01\",\"token\":\"../x\",\"key_authorization\":\"k\"}",
           "invalid-dcv-parameter");
    expect("example.com", "{\"validation_method\":\"dns-change\",\"challenge_value\":\"\",\"dns_record_type\":\"TXT\"}",
           "empty-challenge-value");
    expect("example.com", "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"MX\"}",
           "invalid-dcv-parameter");
    expect("example.com", "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\"}", "missing-field");
    expect("example.com", "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"TXT\","
           "\"require_exact_match\":\"yes\"}", "invalid-dcv-parameter");
    expect("example.com", "{\"validation_method\":\"acme-tls-alpn-01\",\"key_authorization_hash\":\"xyz\"}",
           "invalid-dcv-parameter");
    expect("*.example.com", "{\"validation_method\":\"acme-http-01\",\"token\":\"t\",\"key_authorization\":\"k\"}",
           "invalid-domain");
    expect("example.com", "{\"validation_method\":\"reverse-address-lookup\",\"challenge_value\":\"h.example\"}",
           "invalid-domain");
    expect("127.0.0.2", "{\"validation_method\":\"acme-dns-01\",\"key_authorization_hash\":\"x\"}", "invalid-domain");
    expect("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"p\",\"challenge_value\":\"v\","
           "\"url_scheme\":\"ftp\"}", "invalid-dcv-parameter");
    expect("example.com", "{\"validation_method\":\"dns-persistent\",\"issuer_domain_names\":[],"
           "\"expected_account_uri\":\"u\"}", "invalid-dcv-parameter");
}

/* Request forms of the reference's public suites that it accepts (upstream forms). */
static void dcv_reference_suite_forms_accepted(void **state)
{
    struct mpic_request r;
    json_t *issues;
    /* An empty dns_name_prefix means the record at the target itself. */
    assert_int_equal(parse("example.com", "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\","
                           "\"dns_record_type\":\"TXT\",\"dns_name_prefix\":\"\"}", &r, &issues), 0);
    assert_null(r.dcv.dns_name_prefix);
    mpic_request_free(&r);
    json_decref(issues);
    expect("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"/\",\"challenge_value\":\"t\"}",
           NULL);
    expect("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"/a/b.txt\","
           "\"challenge_value\":\"t\"}", NULL);
    expect("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"/../b.txt\","
           "\"challenge_value\":\"t\"}", "invalid-dcv-parameter");
    /* An ip-address value that no record of the type can hold is a failed check at the agents, not a 400. */
    expect("example.com", "{\"validation_method\":\"ip-address\",\"challenge_value\":\"1.2.3.4\",\"dns_record_type\":\"AAAA\"}",
           NULL);
    expect("example.com", "{\"validation_method\":\"ip-address\",\"challenge_value\":\"2001:4860:4860:0:0:0:0:0:8889\","
           "\"dns_record_type\":\"AAAA\"}", NULL);
    expect("example.com", "{\"validation_method\":\"ip-address\",\"challenge_value\":\"1.2.3\",\"dns_record_type\":\"A\"}",
           NULL);
    /* What pydantic's model_dump() writes: every optional key, null when unset. */
    expect("example.com", "{\"validation_method\":\"website-change\",\"require_exact_case\":true,"
           "\"challenge_value\":\"t\",\"http_token_path\":\"p\",\"url_scheme\":\"http\",\"http_headers\":null,"
           "\"match_regex\":null}", NULL);
    expect("example.com", "{\"validation_method\":\"acme-dns-01\",\"require_exact_case\":true,"
           "\"key_authorization_hash\":\"h\",\"dns_record_type\":\"TXT\",\"dns_name_prefix\":\"_acme-challenge\"}", NULL);
}

/* Spec 3.9: require_exact_case defaults to true; dns-change compares CNAME and CAA values without case. */
static void dcv_require_exact_case_rules(void **state)
{
    static const struct { const char *params; bool want; } cases[] = {
        { "{\"validation_method\":\"website-change\",\"http_token_path\":\"p\",\"challenge_value\":\"v\"}", true },
        { "{\"validation_method\":\"website-change\",\"http_token_path\":\"p\",\"challenge_value\":\"v\","
          "\"require_exact_case\":false}", false },
        { "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"TXT\"}", true },
        { "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"TXT\","
          "\"require_exact_case\":false}", false },
        { "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"CNAME\","
          "\"require_exact_case\":true}", false },
        { "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"CAA\"}", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mpic_request r;
        json_t *issues;
        assert_int_equal(parse("example.com", cases[i].params, &r, &issues), 0);
        assert_int_equal(r.dcv.require_exact_case, cases[i].want);
        json_t *echo = mpic_wire_dcv_params_json(&r.dcv);
        assert_int_equal(json_is_true(json_object_get(echo, "require_exact_case")), cases[i].want);
        json_decref(echo);
        mpic_request_free(&r);
        json_decref(issues);
    }
    expect("example.com", "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"TXT\","
           "\"require_exact_case\":\"no\"}", "invalid-dcv-parameter");
}

static void dcv_match_regex_that_cannot_compile_is_400(void **state)
{
    expect("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"p\",\"challenge_value\":\"v\","
           "\"match_regex\":\"(unclosed\"}", "invalid-dcv-parameter");
    expect("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"p\",\"challenge_value\":\"v\","
           "\"match_regex\":\"a{2,1}\"}", "invalid-dcv-parameter");
    expect("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"p\",\"challenge_value\":\"v\","
           "\"match_regex\":\"^(v|w)[0-9]*$\"}", NULL);
}

static void dcv_all_problems_listed_at_once(void **state)
{
    struct mpic_request r;
    json_t *issues;
    assert_int_equal(parse("*.example.com", "{\"validation_method\":\"website-change\",\"challenge_value\":\"\","
                           "\"url_scheme\":\"gopher\"}", &r, &issues), -1);
    assert_true(has_issue(issues, "missing-field"));          /* http_token_path */
    assert_true(has_issue(issues, "empty-challenge-value"));
    assert_true(has_issue(issues, "invalid-dcv-parameter"));  /* url_scheme */
    assert_true(has_issue(issues, "invalid-domain"));         /* wildcard */
    mpic_request_free(&r);
    json_decref(issues);
}

static void dcv_response_matches_golden_bytes(void **state)
{
    struct mpic_request r;
    json_t *issues;
    assert_int_equal(parse("example.com", "{\"validation_method\":\"dns-change\",\"challenge_value\":\"token-123\","
                           "\"dns_record_type\":\"TXT\",\"dns_name_prefix\":\"_pki\"}", &r, &issues), 0);
    struct mpic_strv seen = { (char *[]){ "token-123" }, 1 };
    json_t *cr = mpic_check_response_json(true, true, NULL, 1736247778402104091LL, MPIC_CHECK_DCV,
                                          mpic_dcv_dns_details_json(MPIC_DCV_DNS_CHANGE, &seen, 0, 1,
                                                                    "_pki.example.com", NULL));
    json_t *ps = json_array();
    json_array_append_new(ps, mpic_perspective_json("us-east-1", cr));
    struct mpic_response_fields f = { .mpic_completed = true, .request = &r, .actual = { 4, 3, 1, 0 },
                                      .is_valid = true, .perspectives = ps };
    json_t *resp = mpic_response_json(&f);
    char *text = mpic_json_dump(resp);
    assert_string_equal(text, read_golden("dcv_response.json"));
    free(text);
    json_decref(resp);
    mpic_request_free(&r);
    json_decref(issues);
}

static void dcv_agent_request_round_trip(void **state)
{
    struct mpic_request r, back;
    json_t *issues;
    struct mpic_error err;
    assert_int_equal(parse("example.com", "{\"validation_method\":\"website-change\",\"http_token_path\":\"t\","
                           "\"challenge_value\":\"v\",\"http_headers\":{\"X-A\":\"1\"}}", &r, &issues), 0);
    json_t *j = mpic_agent_request_json(&r, NULL);
    char *text = mpic_json_dump(j);
    assert_int_equal(mpic_agent_request_parse(text, strlen(text), &back, &err), 0);
    assert_int_equal(back.check_type, MPIC_CHECK_DCV);
    assert_int_equal(back.dcv.method, MPIC_DCV_WEBSITE_CHANGE);
    assert_false(back.dcv.url_scheme_https);
    assert_true(back.dcv.require_exact_case);
    assert_string_equal(back.dcv.http_header_values.v[0], "1");
    free(text);
    json_decref(j);
    mpic_request_free(&back);
    mpic_request_free(&r);
    json_decref(issues);
}

static void dcv_agent_details_checked_per_method(void **state)
{
    struct mpic_request r;
    json_t *issues;
    struct mpic_error err;
    assert_int_equal(parse("example.com", "{\"validation_method\":\"acme-http-01\",\"token\":\"t\",\"key_authorization\":\"k\"}",
                           &r, &issues), 0);
    const char *ok = "{\"protocol\":1,\"perspective_code\":\"p1\",\"check_response\":{\"check_completed\":true,"
                     "\"check_passed\":true,\"errors\":null,\"timestamp_ns\":1,\"check_type\":\"dcv\",\"details\":"
                     "{\"validation_method\":\"acme-http-01\",\"response_history\":[{\"status_code\":301,\"url\":\"http://a/\"}],"
                     "\"response_url\":\"http://b/\",\"response_status_code\":200,\"response_page\":\"YQ==\"}}}";
    json_t *cr = mpic_agent_response_parse(ok, strlen(ok), "p1", &r, &err);
    assert_non_null(cr);
    json_decref(cr);
    const char *dns_shaped = "{\"protocol\":1,\"perspective_code\":\"p1\",\"check_response\":{\"check_completed\":true,"
                             "\"check_passed\":true,\"errors\":null,\"timestamp_ns\":1,\"check_type\":\"dcv\",\"details\":"
                             "{\"validation_method\":\"acme-http-01\",\"records_seen\":[],\"response_code\":0,"
                             "\"ad_flag\":false,\"found_at\":null,\"cname_chain\":null}}}";
    assert_null(mpic_agent_response_parse(dns_shaped, strlen(dns_shaped), "p1", &r, &err));

    /* An agent follows up to MPIC_DCV_HTTP_MAX_REDIRECTS redirects; the reader took 16 only (found by the
     * lab's chain of 20), and a longer history than any agent writes is still refused. */
    for (int n = MPIC_DCV_HTTP_MAX_REDIRECTS; n <= MPIC_DCV_HTTP_MAX_REDIRECTS + 1; n++) {
        json_t *hist = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(hist, mpic_http_history_entry_json(302, "http://a/"));
        json_t *d = mpic_dcv_http_details_json(MPIC_DCV_ACME_HTTP_01, hist, "http://b/", 200, "YQ==");
        json_t *msg = mpic_agent_response_json("p1", mpic_check_response_json(true, true, NULL, 1, MPIC_CHECK_DCV, d));
        char *text = mpic_json_dump(msg);
        cr = mpic_agent_response_parse(text, strlen(text), "p1", &r, &err);
        if (n == MPIC_DCV_HTTP_MAX_REDIRECTS)
            assert_non_null(cr);
        else
            assert_null(cr);
        json_decref(cr);
        free(text);
        json_decref(msg);
    }
    mpic_request_free(&r);
    json_decref(issues);
}

/* The table the mpic client asks before it sends a flag. */
static void dcv_param_use_reports_required_optional_and_foreign_keys(void **state)
{
    (void)state;
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_ACME_HTTP_01, "token"), 2);
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_ACME_HTTP_01, "http_headers"), 1);
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_ACME_DNS_01, "token"), 0);
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_DNS_CHANGE, "require_exact_match"), 1);
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_DNS_PERSISTENT, "issuer_domain_names"), 2);
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_DNS_PERSISTENT, "account_uri"), 0);
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_DNS_ACCOUNT_01, "account_uri"), 2);
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_WEBSITE_CHANGE, "validation_method"), 0);
    assert_int_equal(mpic_dcv_param_use(MPIC_DCV_METHOD_COUNT, "token"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dcv_of_a_reverse_zone_name_refused),
        cmocka_unit_test(dcv_every_method_accepted_with_its_required_parameters),
        cmocka_unit_test(dcv_rejections_name_each_problem),
        cmocka_unit_test(dcv_reference_suite_forms_accepted),
        cmocka_unit_test(dcv_require_exact_case_rules),
        cmocka_unit_test(dcv_match_regex_that_cannot_compile_is_400),
        cmocka_unit_test(dcv_all_problems_listed_at_once),
        cmocka_unit_test(dcv_response_matches_golden_bytes),
        cmocka_unit_test(dcv_agent_request_round_trip),
        cmocka_unit_test(dcv_agent_details_checked_per_method),
        cmocka_unit_test(dcv_param_use_reports_required_optional_and_foreign_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
