/* The wire contract: request validation (every problem listed), the exact
 * response bytes (golden files written by hand from open-mpic-api.md), and
 * the strict reading of agent replies. */
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

static const struct mpic_request caa_req = { .check_type = MPIC_CHECK_CAA };

static const struct mpic_request_limits limits = { .n_perspectives = 6, .default_perspective_count = 6,
                                                   .max_attempts_cap = 3 };

/* Parses body; returns the issues array (caller frees) and the parse result. */
static json_t *parse(const char *body, int *rc, struct mpic_request *r, struct mpic_orchestration *o)
{
    json_t *issues = json_array();
    *rc = mpic_request_parse(body, strlen(body), &limits, r, o, issues);
    return issues;
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

static void expect_rejected(const char *body, const char *issue_type)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse(body, &rc, &r, &o);
    if (rc != -1 || !has_issue(issues, issue_type)) {
        char *dump = json_dumps(issues, 0);
        print_error("body %s: expected issue %s, got rc=%d issues=%s\n", body, issue_type, rc, dump);
        free(dump);
        fail();
    }
    mpic_request_free(&r);
    json_decref(issues);
}

static void request_minimal_gets_defaults(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"domain_or_ip_target\":\"example.com\"}", &rc, &r, &o);
    assert_int_equal(rc, 0);
    assert_int_equal(r.check_type, MPIC_CHECK_CAA);
    assert_string_equal(r.target, "example.com");
    assert_int_equal(o.perspective_count, 6);
    assert_int_equal(o.quorum_count, 4);
    assert_int_equal(o.max_attempts, 1);
    assert_false(r.has_orchestration);
    assert_false(r.caa.present);
    mpic_request_free(&r);
    json_decref(issues);
}

static void request_quorum_defaults_follow_count(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"domain_or_ip_target\":\"example.com\",\"orchestration_parameters\":"
                           "{\"perspective_count\":5,\"max_attempts\":9}}", &rc, &r, &o);
    assert_int_equal(rc, 0);
    assert_int_equal(o.quorum_count, 4);
    assert_int_equal(o.max_attempts, 3);   /* capped */
    mpic_request_free(&r);
    json_decref(issues);
}

/* Spec 3.7: a named cohort means one attempt; it is echoed only when sent. */
static void request_cohort_for_single_attempt(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"domain_or_ip_target\":\"example.com\",\"orchestration_parameters\":"
                           "{\"max_attempts\":3,\"cohort_for_single_attempt\":2}}", &rc, &r, &o);
    assert_int_equal(rc, 0);
    assert_int_equal(o.cohort, 2);
    assert_int_equal(o.max_attempts, 1);
    struct mpic_response_fields f = { .request = &r, .actual = { 6, 4, 1, 2 }, .perspectives = json_array() };
    json_t *resp = mpic_response_json(&f);
    char *text = mpic_json_dump(json_object_get(resp, "request_orchestration_parameters"));
    assert_string_equal(text, "{\"perspective_count\":null,\"quorum_count\":null,\"max_attempts\":3,"
                              "\"cohort_for_single_attempt\":2}");
    free(text);
    json_decref(resp);
    mpic_request_free(&r);
    json_decref(issues);

    issues = parse("{\"domain_or_ip_target\":\"example.com\",\"orchestration_parameters\":"
                   "{\"max_attempts\":3,\"cohort_for_single_attempt\":null}}", &rc, &r, &o);
    assert_int_equal(rc, 0);
    assert_int_equal(o.cohort, 0);
    assert_int_equal(o.max_attempts, 3);
    f.request = &r;
    f.perspectives = json_array();
    resp = mpic_response_json(&f);
    assert_null(json_object_get(json_object_get(resp, "request_orchestration_parameters"), "cohort_for_single_attempt"));
    json_decref(resp);
    mpic_request_free(&r);
    json_decref(issues);

    expect_rejected("{\"domain_or_ip_target\":\"example.com\",\"orchestration_parameters\":"
                    "{\"cohort_for_single_attempt\":0}}", "invalid-cohort-for-single-attempt");
    expect_rejected("{\"domain_or_ip_target\":\"example.com\",\"orchestration_parameters\":"
                    "{\"cohort_for_single_attempt\":-1}}", "invalid-cohort-for-single-attempt");
    expect_rejected("{\"domain_or_ip_target\":\"example.com\",\"orchestration_parameters\":"
                    "{\"cohort_for_single_attempt\":1.5}}", "invalid-cohort-for-single-attempt");
    expect_rejected("{\"domain_or_ip_target\":\"example.com\",\"orchestration_parameters\":"
                    "{\"cohort_for_single_attempt\":\"1\"}}", "invalid-cohort-for-single-attempt");
}

static void request_unknown_keys_ignored(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"domain_or_ip_target\":\"a.example\",\"future\":1,\"orchestration_parameters\":"
                           "{\"attempt_count\":2}}", &rc, &r, &o);
    assert_int_equal(rc, 0);
    mpic_request_free(&r);
    json_decref(issues);
}

static void request_lists_every_problem(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"check_type\":\"CAA\",\"domain_or_ip_target\":\"bad..name\",\"orchestration_parameters\":"
                           "{\"perspective_count\":1,\"quorum_count\":7}}", &rc, &r, &o);
    assert_int_equal(rc, -1);
    assert_true(has_issue(issues, "invalid-check-type"));
    assert_true(has_issue(issues, "invalid-domain"));
    assert_true(has_issue(issues, "invalid-perspective-count"));
    assert_true(has_issue(issues, "invalid-quorum-count"));
    assert_int_equal(json_array_size(issues), 4);
    mpic_request_free(&r);
    json_decref(issues);
}

/* Found by fuzz_wire: jansson's syntax error quotes the bad bytes, and an issue
 * message that is not UTF-8 was dropped, so the 400 listed no issue at all. */
static void request_invalid_utf8_still_listed(void **state)
{
    static const char body[] = "{\"a\":\"\\u000\xcf\x82\xdd\x82}";
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse(body, &rc, &r, &o);
    assert_int_equal(rc, -1);
    assert_true(has_issue(issues, "invalid-json"));
    char *s = mpic_json_dump(issues);
    assert_non_null(s);
    free(s);
    mpic_request_free(&r);
    json_decref(issues);

    /* A long message cut inside a multi-octet character keeps its issue too. */
    issues = json_array();
    char name[600];
    memset(name, 'a', 509);
    strcpy(name + 509, "\xc3\xa9\xc3\xa9");
    mpic_issue_add(issues, "invalid-domain", "x%s", name);
    assert_int_equal(json_array_size(issues), 1);
    json_decref(issues);
}

static void request_rejections(void **state)
{
    expect_rejected("not json", "invalid-json");
    expect_rejected("[1,2]", "invalid-json");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"domain_or_ip_target\":\"b.example\"}", "invalid-json");
    expect_rejected("{}", "missing-field");
    expect_rejected("{\"domain_or_ip_target\":42}", "invalid-domain");
    expect_rejected("{\"domain_or_ip_target\":\"example.com.\"}", "invalid-domain");
    expect_rejected("{\"domain_or_ip_target\":\"localhost\"}", "invalid-domain");
    expect_rejected("{\"domain_or_ip_target\":\"ex ample.com\"}", "invalid-domain");
    expect_rejected("{\"domain_or_ip_target\":\"-a.example\"}", "invalid-domain");
    expect_rejected("{\"domain_or_ip_target\":\"1.2.3.4.5\"}", "invalid-domain");
    expect_rejected("{\"domain_or_ip_target\":\"fe80::1%eth0\"}", "invalid-domain");
    expect_rejected("{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"a.example\"}", "missing-field");
    expect_rejected("{\"check_type\":7,\"domain_or_ip_target\":\"a.example\"}", "invalid-check-type");
    /* Without check_type a request is CAA; DCV parameters say the client meant DCV. */
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"dcv_check_parameters\":{\"validation_method\":"
                    "\"dns-change\",\"dns_record_type\":\"TXT\",\"challenge_value\":\"x\"}}", "missing-field");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"dcv_check_parameters\":{}}", "missing-field");
    expect_rejected("{\"domain_or_ip_target\":\"example.onion\"}", "invalid-domain");
    expect_rejected("{\"domain_or_ip_target\":\"a\\u200db.example\"}", "invalid-domain");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"orchestration_parameters\":{\"perspective_count\":\"6\"}}",
                    "invalid-perspective-count");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"orchestration_parameters\":{\"perspective_count\":6.0}}",
                    "invalid-perspective-count");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"orchestration_parameters\":{\"perspective_count\":7}}",
                    "invalid-perspective-count");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"orchestration_parameters\":{\"perspective_count\":0}}",
                    "invalid-perspective-count");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"orchestration_parameters\":{\"perspective_count\":6,"
                    "\"quorum_count\":3}}", "invalid-quorum-count");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"orchestration_parameters\":{\"perspective_count\":3,"
                    "\"quorum_count\":4}}", "invalid-quorum-count");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"orchestration_parameters\":[]}",
                    "invalid-orchestration-parameters");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"trace_identifier\":5}", "invalid-trace-identifier");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"caa_check_parameters\":{\"certificate_type\":\"tls\"}}",
                    "invalid-certificate-type");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"caa_check_parameters\":{\"caa_domains\":[\"ca.example.\"]}}",
                    "invalid-caa-domains");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"caa_check_parameters\":{\"caa_domains\":\"ca.example\"}}",
                    "invalid-caa-domains");
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"caa_check_parameters\":{\"validation_method\":\"http-01\"}}",
                    "invalid-validation-method");
}

static void request_targets_accepted(void **state)
{
    const char *ok[] = { "example.com", "*.example.com", "xn--bcher-kva.example", "a-b.c-d.example", "127.0.0.1",
                         "2001:db8::1", "EXAMPLE.com" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"domain_or_ip_target\":\"%s\"}", ok[i]);
        struct mpic_request r;
        struct mpic_orchestration o;
        int rc;
        json_t *issues = parse(body, &rc, &r, &o);
        if (rc != 0)
            fail_msg("target %s rejected", ok[i]);
        mpic_request_free(&r);
        json_decref(issues);
    }
}

/* A U-label target is echoed as sent; the agents are asked about its A-label. */
static void request_u_label_checked_as_a_label(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"domain_or_ip_target\":\"B\\u00fccher.example.test\"}", &rc, &r, &o);
    assert_int_equal(rc, 0);
    assert_string_equal(r.target, "B\xc3\xbc" "cher.example.test");
    json_t *aj = mpic_agent_request_json(&r, NULL);
    assert_string_equal(json_string_value(json_object_get(aj, "domain_or_ip_target")), "xn--bcher-kva.example.test");
    json_decref(aj);
    mpic_request_free(&r);
    json_decref(issues);
}

static void request_validation_method_mapped_to_rfc8657_label(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"domain_or_ip_target\":\"a.example\",\"caa_check_parameters\":{\"validation_method\":"
                           "\"acme-dns-01\",\"account_uri\":\"https://ca.example/acct/9\",\"allow_lookup_failure\":true}}",
                           &rc, &r, &o);
    assert_int_equal(rc, 0);
    assert_string_equal(r.caa.validation_method, "dns-01");
    assert_true(r.caa.allow_lookup_failure);
    mpic_request_free(&r);
    json_decref(issues);
    expect_rejected("{\"domain_or_ip_target\":\"a.example\",\"caa_check_parameters\":{\"allow_lookup_failure\":1}}",
                    "invalid-allow-lookup-failure");
}

static json_t *caa_entry(const char *code, bool completed, bool passed, int64_t ts, const char *etype,
                         const char *emsg, int present, const char *found, const char *record)
{
    struct mpic_strv recs = { NULL, 0 };
    char *one = (char *)record;
    if (record != NULL) {
        recs.v = &one;
        recs.n = 1;
    }
    json_t *cr = mpic_check_response_json(completed, passed, etype ? mpic_error_list_json(etype, emsg) : NULL, ts,
                                          MPIC_CHECK_CAA, mpic_caa_details_json(present, found, &recs));
    return mpic_perspective_json(code, cr);
}

static void response_matches_golden_bytes(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"domain_or_ip_target\":\"example.com\",\"trace_identifier\":\"trace-1\","
                           "\"orchestration_parameters\":{\"perspective_count\":2},"
                           "\"caa_check_parameters\":{\"caa_domains\":[\"CA.example\"]}}", &rc, &r, &o);
    assert_int_equal(rc, 0);
    json_t *ps = json_array();
    json_array_append_new(ps, caa_entry("us-east-1", true, true, 1736247778402104091LL, NULL, NULL, 1, "example.com",
                                        "0 issue \"ca.example\""));
    json_array_append_new(ps, caa_entry("eu-west-1", false, false, 1736247778402104999LL,
                                        "mpic_error:coordinator:remote_check",
                                        "perspective eu-west-1 could not be reached", -1, NULL, NULL));
    struct mpic_response_fields f = { .mpic_completed = true, .request = &r, .actual = { 2, 1, 1, 0 },
                                      .is_valid = true, .perspectives = ps, .previous_attempts = NULL };
    json_t *resp = mpic_response_json(&f);
    char *text = mpic_json_dump(resp);
    assert_string_equal(text, read_golden("caa_response.json"));
    free(text);
    json_decref(resp);
    mpic_request_free(&r);
    json_decref(issues);
}

static void response_minimal_nulls_written_out(void **state)
{
    struct mpic_request r;
    struct mpic_orchestration o;
    int rc;
    json_t *issues = parse("{\"domain_or_ip_target\":\"*.example.com\"}", &rc, &r, &o);
    assert_int_equal(rc, 0);
    assert_true(r.target_info.wildcard);
    json_t *prev = json_array();
    json_array_append_new(prev, json_array());
    struct mpic_response_fields f = { .mpic_completed = true, .request = &r, .actual = { 2, 1, 2, 0 },
                                      .is_valid = false, .perspectives = json_array(), .previous_attempts = prev };
    json_t *resp = mpic_response_json(&f);
    char *text = mpic_json_dump(resp);
    assert_string_equal(text, read_golden("caa_response_minimal.json"));
    free(text);
    json_decref(resp);
    mpic_request_free(&r);
    json_decref(issues);
}

static void validation_body_shape(void **state)
{
    json_t *issues = json_array();
    mpic_issue_add(issues, "invalid-perspective-count", "perspective_count %d is out of range", 9);
    json_t *body = mpic_validation_failed_body(issues);
    char *text = mpic_json_dump(body);
    assert_string_equal(text, "{\"error\":\"request-validation-failed\",\"validation_issues\":[{\"issue_type\":"
                              "\"invalid-perspective-count\",\"message\":\"perspective_count 9 is out of range\"}]}");
    free(text);
    json_decref(body);
}

static void agent_request_round_trip(void **state)
{
    const char *golden = read_golden("agent_request.json");
    struct mpic_request r;
    struct mpic_error err;
    assert_int_equal(mpic_agent_request_parse(golden, strlen(golden), &r, &err), 0);
    assert_int_equal(r.caa.cert_type, MPIC_CERT_SMIME);
    assert_string_equal(r.caa.account_uri, "https://ca.example/acct/1");
    json_t *j = mpic_agent_request_json(&r, &r.caa.domains);
    char *text = mpic_json_dump(j);
    assert_string_equal(text, golden);
    free(text);
    json_decref(j);
    mpic_request_free(&r);
}

static void agent_request_wrong_protocol_refused(void **state)
{
    const char *b = "{\"protocol\":2,\"check_type\":\"caa\",\"domain_or_ip_target\":\"a.example\","
                    "\"caa_check_parameters\":{}}";
    struct mpic_request r;
    struct mpic_error err;
    assert_int_equal(mpic_agent_request_parse(b, strlen(b), &r, &err), -1);
    assert_non_null(strstr(err.msg, "protocol"));
}

static const char *good_reply =
    "{\"protocol\":1,\"perspective_code\":\"us-east-1\",\"check_response\":{\"details\":{\"records_seen\":null,"
    "\"found_at\":null,\"caa_record_present\":false},\"check_type\":\"caa\",\"timestamp_ns\":1736247778402104091,"
    "\"errors\":null,\"check_passed\":true,\"check_completed\":true}}";

static void agent_reply_rebuilt_in_canonical_order(void **state)
{
    struct mpic_error err;
    json_t *cr = mpic_agent_response_parse(good_reply, strlen(good_reply), "us-east-1", &caa_req, &err);
    assert_non_null(cr);
    char *text = mpic_json_dump(cr);
    assert_string_equal(text, "{\"check_completed\":true,\"check_passed\":true,\"errors\":null,\"timestamp_ns\":"
                              "1736247778402104091,\"check_type\":\"caa\",\"details\":{\"caa_record_present\":false,"
                              "\"found_at\":null,\"records_seen\":null}}");
    free(text);
    json_decref(cr);
}

static void agent_reply_rejections(void **state)
{
    struct mpic_error err;
    assert_null(mpic_agent_response_parse(good_reply, strlen(good_reply), "eu-west-1", &caa_req, &err));
    assert_non_null(strstr(err.msg, "eu-west-1"));
    const char *bad[] = {
        "garbage",
        "{\"protocol\":1,\"perspective_code\":\"us-east-1\"}",
        "{\"protocol\":1,\"perspective_code\":\"us-east-1\",\"check_response\":{\"check_completed\":false,"
        "\"check_passed\":true,\"errors\":null,\"timestamp_ns\":1,\"check_type\":\"caa\",\"details\":"
        "{\"caa_record_present\":null,\"found_at\":null,\"records_seen\":null}}}",
        "{\"protocol\":1,\"perspective_code\":\"us-east-1\",\"check_response\":{\"check_completed\":true,"
        "\"check_passed\":true,\"errors\":null,\"timestamp_ns\":1,\"check_type\":\"caa\",\"details\":"
        "{\"caa_record_present\":true,\"found_at\":null,\"records_seen\":[1]}}}",
        "{\"protocol\":1,\"perspective_code\":\"us-east-1\",\"check_response\":{\"check_completed\":true,"
        "\"check_passed\":true,\"errors\":null,\"timestamp_ns\":1,\"check_type\":\"caa\",\"extra\":1,\"details\":"
        "{\"caa_record_present\":true,\"found_at\":null,\"records_seen\":null}}}",
        "{\"protocol\":1,\"perspective_code\":\"us-east-1\",\"check_response\":{\"check_completed\":true,"
        "\"check_passed\":true,\"errors\":[],\"timestamp_ns\":1,\"check_type\":\"caa\",\"details\":"
        "{\"caa_record_present\":true,\"found_at\":null,\"records_seen\":null}}}",
        "{\"protocol\":1,\"perspective_code\":\"us-east-1\",\"check_response\":{\"check_completed\":true,"
        "\"check_passed\":true,\"errors\":null,\"timestamp_ns\":1.5,\"check_type\":\"caa\",\"details\":"
        "{\"caa_record_present\":true,\"found_at\":null,\"records_seen\":null}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *cr = mpic_agent_response_parse(bad[i], strlen(bad[i]), "us-east-1", &caa_req, &err);
        if (cr != NULL)
            fail_msg("bad reply %zu accepted", i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_minimal_gets_defaults),
        cmocka_unit_test(request_invalid_utf8_still_listed),
        cmocka_unit_test(request_quorum_defaults_follow_count),
        cmocka_unit_test(request_cohort_for_single_attempt),
        cmocka_unit_test(request_unknown_keys_ignored),
        cmocka_unit_test(request_lists_every_problem),
        cmocka_unit_test(request_rejections),
        cmocka_unit_test(request_targets_accepted),
        cmocka_unit_test(request_u_label_checked_as_a_label),
        cmocka_unit_test(request_validation_method_mapped_to_rfc8657_label),
        cmocka_unit_test(response_matches_golden_bytes),
        cmocka_unit_test(response_minimal_nulls_written_out),
        cmocka_unit_test(validation_body_shape),
        cmocka_unit_test(agent_request_round_trip),
        cmocka_unit_test(agent_request_wrong_protocol_refused),
        cmocka_unit_test(agent_reply_rebuilt_in_canonical_order),
        cmocka_unit_test(agent_reply_rejections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
