/* The mpic client's pure parts: command lines into request bodies (and the
 * ones refused before anything is sent), where URL and key come from, and
 * the verdict read from golden answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "golden.h"
#include "wire.h"

#define ARGV(...) ((char *[]){ "mpic", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "mpic", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(cli, err, ...) mpic_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cli, err)

/* The body as compact JSON, compared whole so that a stray key shows. */
static void assert_body(const struct mpic_cli *cli, const char *expected)
{
    char *got = mpic_json_dump(cli->request);
    assert_string_equal(got, expected);
    free(got);
}

static void caa_without_flags_leaves_parameters_to_the_server(void **state)
{
    (void)state;
    struct mpic_cli cli;
    struct mpic_error err;
    assert_int_equal(PARSE(&cli, &err, "caa", "example.com"), 0);
    assert_body(&cli, "{\"check_type\":\"caa\",\"domain_or_ip_target\":\"example.com\"}");
    assert_int_equal(cli.json, false);
    mpic_cli_free(&cli);
}

static void caa_flags_fill_caa_and_orchestration_parameters(void **state)
{
    (void)state;
    struct mpic_cli cli;
    struct mpic_error err;
    assert_int_equal(PARSE(&cli, &err, "--perspective-count", "6", "caa", "example.com", "--s-mime", "--caa-domain",
                           "ca.example", "--caa-domain", "ca2.example", "--quorum-count", "5", "--max-attempts", "2",
                           "--trace-id", "t-1", "--json"), 0);
    assert_body(&cli, "{\"check_type\":\"caa\",\"domain_or_ip_target\":\"example.com\","
                      "\"orchestration_parameters\":{\"perspective_count\":6,\"quorum_count\":5,\"max_attempts\":2},"
                      "\"trace_identifier\":\"t-1\","
                      "\"caa_check_parameters\":{\"certificate_type\":\"s-mime\","
                      "\"caa_domains\":[\"ca.example\",\"ca2.example\"]}}");
    assert_true(cli.json);
    mpic_cli_free(&cli);
}

static void dcv_flags_become_the_methods_wire_keys(void **state)
{
    (void)state;
    struct mpic_cli cli;
    struct mpic_error err;
    assert_int_equal(PARSE(&cli, &err, "dcv", "acme-http-01", "example.com", "--token", "tok", "--key-authorization",
                           "tok.thumb", "--header", "User-Agent: probe/1", "--cohort", "2"), 0);
    assert_body(&cli, "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"example.com\","
                      "\"orchestration_parameters\":{\"cohort_for_single_attempt\":2},\"dcv_check_parameters\":"
                      "{\"validation_method\":\"acme-http-01\",\"token\":\"tok\",\"key_authorization\":\"tok.thumb\","
                      "\"http_headers\":{\"User-Agent\":\"probe/1\"}}}");
    mpic_cli_free(&cli);

    assert_int_equal(PARSE(&cli, &err, "dcv", "dns-change", "example.com", "--challenge-value", "v",
                           "--record-type", "txt", "--dns-name-prefix", "_pki", "--no-require-exact-case",
                           "--require-exact-match"), 0);
    assert_body(&cli, "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"example.com\",\"dcv_check_parameters\":"
                      "{\"validation_method\":\"dns-change\",\"challenge_value\":\"v\",\"dns_record_type\":\"TXT\","
                      "\"dns_name_prefix\":\"_pki\",\"require_exact_case\":false,\"require_exact_match\":true}}");
    mpic_cli_free(&cli);

    assert_int_equal(PARSE(&cli, &err, "dcv", "dns-persistent", "example.com", "--issuer-domain", "ca.example",
                           "--expected-account-uri", "https://ca.example/acct/1"), 0);
    assert_body(&cli, "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"example.com\",\"dcv_check_parameters\":"
                      "{\"validation_method\":\"dns-persistent\",\"issuer_domain_names\":[\"ca.example\"],"
                      "\"expected_account_uri\":\"https://ca.example/acct/1\"}}");
    mpic_cli_free(&cli);
}

static void account_uri_goes_to_the_parameters_of_the_check_run(void **state)
{
    (void)state;
    struct mpic_cli cli;
    struct mpic_error err;
    assert_int_equal(PARSE(&cli, &err, "caa", "example.com", "--account-uri", "https://ca/acct/1"), 0);
    assert_body(&cli, "{\"check_type\":\"caa\",\"domain_or_ip_target\":\"example.com\","
                      "\"caa_check_parameters\":{\"account_uri\":\"https://ca/acct/1\"}}");
    mpic_cli_free(&cli);
    assert_int_equal(PARSE(&cli, &err, "dcv", "dns-account-01", "example.com", "--account-uri", "https://ca/acct/1",
                           "--key-authorization-hash", "h"), 0);
    assert_body(&cli, "{\"check_type\":\"dcv\",\"domain_or_ip_target\":\"example.com\",\"dcv_check_parameters\":"
                      "{\"validation_method\":\"dns-account-01\",\"account_uri\":\"https://ca/acct/1\","
                      "\"key_authorization_hash\":\"h\"}}");
    mpic_cli_free(&cli);
}

/* Each is refused before a request is sent, with the argument named. */
static void command_lines_refused_with_the_argument_named(void **state)
{
    (void)state;
    struct mpic_cli cli;
    struct mpic_error err;
    assert_int_equal(PARSE(&cli, &err, "dcv", "acme-dns-01", "example.com", "--token", "t"), -1);
    assert_string_equal(err.msg, "--token does not apply to acme-dns-01");
    assert_null(cli.request);
    assert_int_equal(PARSE(&cli, &err, "dcv", "dns-persistent", "example.com", "--account-uri", "u"), -1);
    assert_string_equal(err.msg, "--account-uri does not apply to dns-persistent");
    assert_int_equal(PARSE(&cli, &err, "dcv", "acme-dns-01", "example.com", "--s-mime"), -1);
    assert_string_equal(err.msg, "--s-mime does not apply to mpic dcv");
    assert_int_equal(PARSE(&cli, &err, "caa", "example.com", "--challenge-value", "v"), -1);
    assert_string_equal(err.msg, "--challenge-value does not apply to mpic caa");
    assert_int_equal(PARSE(&cli, &err, "dcv", "acme-dns-02", "example.com"), -1);
    assert_string_equal(err.msg, "unknown DCV method \"acme-dns-02\" (mpic --help lists them)");
    assert_int_equal(PARSE(&cli, &err, "caa"), -1);
    assert_string_equal(err.msg, "mpic caa takes one TARGET");
    assert_int_equal(PARSE(&cli, &err, "caa", "a.example", "b.example"), -1);
    assert_int_equal(PARSE(&cli, &err, "dcv", "acme-dns-01"), -1);
    assert_string_equal(err.msg, "mpic dcv takes a METHOD and a TARGET");
    assert_int_equal(PARSE(&cli, &err, "check", "example.com"), -1);
    assert_string_equal(err.msg, "unknown command \"check\" (caa or dcv)");
    assert_int_equal(PARSE(&cli, &err, "caa", "example.com", "--perspective-count", "six"), -1);
    assert_string_equal(err.msg, "--perspective-count: \"six\" is not an integer");
    assert_int_equal(PARSE(&cli, &err, "caa", "example.com", "--perspective-count"), -1);
    assert_string_equal(err.msg, "--perspective-count needs a value");
    assert_int_equal(PARSE(&cli, &err, "caa", "example.com", "--insecure"), -1);
    assert_string_equal(err.msg, "unknown option --insecure");
    assert_int_equal(PARSE(&cli, &err, "dcv", "acme-http-01", "example.com", "--header", "NoColon"), -1);
    assert_string_equal(err.msg, "--header: \"NoColon\" is not NAME:VALUE");
    assert_int_equal(PARSE(&cli, &err, "caa", "example.com", "--timeout", "0"), -1);
}

static void help_and_version_need_no_command(void **state)
{
    (void)state;
    struct mpic_cli cli;
    struct mpic_error err;
    assert_int_equal(PARSE(&cli, &err, "--help"), 0);
    assert_true(cli.help);
    assert_null(cli.request);
    assert_int_equal(PARSE(&cli, &err, "--version"), 0);
    assert_true(cli.version);
}

/* ---- settings: flags > environment > config file ------------------------------------------------------------- */

struct files {
    char dir[64];
    char config[96];
    char key[96];
};

static int setup_files(void **state)
{
    struct files *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/mpic-test-cli-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->config, sizeof f->config, "%s/cli.conf", f->dir);
    snprintf(f->key, sizeof f->key, "%s/key", f->dir);
    FILE *k = fopen(f->key, "w");
    fputs("key-from-file\n", k);
    fclose(k);
    FILE *c = fopen(f->config, "w");
    fputs("# the lab\nurl = http://127.0.0.1:9/\nkey_file = key\n", c);
    fclose(c);
    unsetenv("MPIC_URL");
    unsetenv("MPIC_API_KEY");
    *state = f;
    return 0;
}

static int teardown_files(void **state)
{
    struct files *f = *state;
    unlink(f->config);
    unlink(f->key);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void settings_take_flags_over_environment_over_file(void **state)
{
    struct files *f = *state;
    struct mpic_cli cli = { .config = f->config };
    struct mpic_cli_conn conn;
    struct mpic_error err;

    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), 0);
    assert_string_equal(conn.endpoint, "http://127.0.0.1:9/v1/mpic");   /* key_file is beside the config */
    assert_string_equal(conn.key, "key-from-file");
    assert_null(conn.cacert);
    mpic_cli_conn_free(&conn);

    setenv("MPIC_URL", "http://127.0.0.2:8080", 1);
    setenv("MPIC_API_KEY", "key-from-env", 1);
    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), 0);
    assert_string_equal(conn.endpoint, "http://127.0.0.2:8080/v1/mpic");
    assert_string_equal(conn.key, "key-from-env");
    mpic_cli_conn_free(&conn);

    cli.url = "https://mpic.example/mpic/";
    cli.key = "key-from-flag";
    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), 0);
    assert_string_equal(conn.endpoint, "https://mpic.example/mpic");   /* an API path given is kept */
    assert_string_equal(conn.key, "key-from-flag");
    mpic_cli_conn_free(&conn);

    cli.key = NULL;
    cli.key_file = f->key;
    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), 0);
    assert_string_equal(conn.key, "key-from-file");
    mpic_cli_conn_free(&conn);
    unsetenv("MPIC_URL");
    unsetenv("MPIC_API_KEY");
}

static void settings_refused_with_the_source_named(void **state)
{
    struct files *f = *state;
    struct mpic_cli cli = { .config = "/nonexistent/cli.conf" };
    struct mpic_cli_conn conn;
    struct mpic_error err;
    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), -1);
    assert_string_equal(err.msg, "/nonexistent/cli.conf: No such file or directory");
    assert_null(conn.endpoint);

    FILE *c = fopen(f->config, "w");
    fputs("url = http://127.0.0.1:9\nkey = secret\n", c);
    fclose(c);
    cli.config = f->config;
    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), -1);
    assert_non_null(strstr(err.msg, "cli.conf:2: unknown setting \"key\""));

    c = fopen(f->config, "w");
    fputs("url = ftp://127.0.0.1\n", c);
    fclose(c);
    cli.key = "k";
    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), -1);
    assert_string_equal(err.msg, "URL \"ftp://127.0.0.1\" is not http:// or https://");

    c = fopen(f->config, "w");
    fclose(c);
    cli.key = NULL;
    cli.url = "http://127.0.0.1:9";
    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), -1);
    assert_non_null(strstr(err.msg, "no API key"));

    cli.key = "k";
    cli.key_file = f->key;
    assert_int_equal(mpic_cli_settings(&cli, &conn, &err), -1);
    assert_string_equal(err.msg, "give --key or --key-file, not both");
}

/* ---- report ---------------------------------------------------------------------------------------------------- */

static char *report(const char *golden, int *rc)
{
    const char *body = read_golden(golden);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct mpic_error err;
    *rc = mpic_cli_report(out, body, strlen(body), 0.5, &err);
    fclose(out);
    return text;
}

static void report_verdict_counts_passing_perspectives_over_the_count(void **state)
{
    (void)state;
    int rc;
    char *text = report("caa_response.json", &rc);
    assert_int_equal(rc, MPIC_CLI_VALID);
    assert_non_null(strstr(text, "CAA check of example.com, trace trace-1\n"));
    assert_non_null(strstr(text, "PERSPECTIVE  PASSED  COMPLETED  FOUND AT"));
    assert_non_null(strstr(text, "0 issue \"ca.example\""));
    assert_non_null(strstr(text, "\nVALID: 1/2 perspectives passed (quorum 1), 1 attempt, 0.50 s\n"));
    free(text);

    text = report("caa_response_minimal.json", &rc);
    assert_int_equal(rc, MPIC_CLI_NOT_VALID);
    assert_non_null(strstr(text, "attempt 1 of 2\n"));
    assert_non_null(strstr(text, "\nNOT VALID: 0/2 perspectives passed (quorum 1), 2 attempts, 0.50 s\n"));
    free(text);

    text = report("dcv_response.json", &rc);
    assert_int_equal(rc, MPIC_CLI_VALID);
    assert_non_null(strstr(text, "DCV check of example.com by dns-change\n"));
    assert_non_null(strstr(text, "_pki.example.com"));
    free(text);
}

static void report_refuses_a_body_that_is_no_answer(void **state)
{
    (void)state;
    struct mpic_error err;
    FILE *out = fopen("/dev/null", "w");
    assert_int_equal(mpic_cli_report(out, "{\"message\":\"hi\"}", 16, 0, &err), -1);
    assert_int_equal(mpic_cli_report(out, "<html>", 6, 0, &err), -1);
    fclose(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(caa_without_flags_leaves_parameters_to_the_server),
        cmocka_unit_test(caa_flags_fill_caa_and_orchestration_parameters),
        cmocka_unit_test(dcv_flags_become_the_methods_wire_keys),
        cmocka_unit_test(account_uri_goes_to_the_parameters_of_the_check_run),
        cmocka_unit_test(command_lines_refused_with_the_argument_named),
        cmocka_unit_test(help_and_version_need_no_command),
        cmocka_unit_test_setup_teardown(settings_take_flags_over_environment_over_file, setup_files, teardown_files),
        cmocka_unit_test_setup_teardown(settings_refused_with_the_source_named, setup_files, teardown_files),
        cmocka_unit_test(report_verdict_counts_passing_perspectives_over_the_count),
        cmocka_unit_test(report_refuses_a_body_that_is_no_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
