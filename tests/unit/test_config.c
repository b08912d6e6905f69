/* Tests for the configuration loader (daemon/config*.c) against docs/config.md. The configs are data
 * files in tests/data/config/; they are copied into a fresh temporary directory
 * next to keys, certificates and secret files generated here, so that their
 * relative paths ("pki/ca.crt", "secrets/cohort-secret") resolve. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define API_KEY_ENV "MPIC_TEST_API_KEY"
#define API_KEY_VALUE "test-api-key-from-env-0123456789abcdef"
#define NEXT_API_KEY "next-api-key-0123456789abcdef-next"
#define UNSET_ENV "MPIC_TEST_UNSET_SECRET"
#define COHORT_SECRET "0123456789abcdef-cohort"
#define LITERAL_SECRET "Tr0ub4dor-literal-cohort-secret"

struct fixture {
    char dir[256];          /* short, so that every path built from it fits PATH_MAX */
};

/* ---- fixture files ------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *content, size_t len)
{
    char path[PATH_MAX];
    assert_true((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(content, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void write_text(const char *dir, const char *name, const char *content)
{
    write_file(dir, name, content, strlen(content));
}

/* A P-256 key and a self-signed certificate with subject CN cn. */
static void make_cert(const char *dir, const char *base, const char *cn)
{
    char path[PATH_MAX];
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    X509_NAME *name = X509_get_subject_name(x);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);

    snprintf(path, sizeof path, "%s/%s.crt", dir, base);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_X509(fp, x), 1);
    fclose(fp);
    snprintf(path, sizeof path, "%s/%s.key", dir, base);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void copy_config_data(const char *dst_dir)
{
    const char *src_dir = MPIC_TEST_DATA "/config";
    DIR *d = opendir(src_dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char src[PATH_MAX], buf[16384];
        snprintf(src, sizeof src, "%s/%s", src_dir, e->d_name);
        FILE *fp = fopen(src, "rb");
        assert_non_null(fp);
        size_t len = fread(buf, 1, sizeof buf, fp);
        assert_true(len < sizeof buf);
        fclose(fp);
        write_file(dst_dir, e->d_name, buf, len);
    }
    closedir(d);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[PATH_MAX];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        remove_tree(child);
    }
    closedir(d);
    rmdir(path);
}

static int group_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/mpic-test-config-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/pki", fx->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    make_cert(sub, "ca", "mpic-test-ca");
    make_cert(sub, "orch", "orchestrator");
    make_cert(sub, "agent", "us-east-1");
    write_text(sub, "garbage.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");

    snprintf(sub, sizeof sub, "%s/secrets", fx->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_text(sub, "cohort-secret", COHORT_SECRET "\n");
    write_text(sub, "api-key.next", NEXT_API_KEY "\n");
    write_text(sub, "short-api-key", "0123456789abcdef0123456789abcde\n");   /* 31 bytes */
    write_text(sub, "api-key-32", "0123456789abcdef0123456789abcdef\n");
    write_text(sub, "two-newlines", "0123456789abcdef-two\n\n");
    write_text(sub, "short-secret", "fifteen-bytes-x\n");
    write_text(sub, "empty-secret", "\n");

    copy_config_data(fx->dir);
    /* The same config again one level down, for path resolution. */
    snprintf(sub, sizeof sub, "%s/etc", fx->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_text(sub, "agent.json",
               "{ \"caa\": { \"issuer_domains\": [\"ca.example.net\"] },\n"
               "  \"agent\": { \"perspective\": \"us-east-1\",\n"
               "    \"tls\": { \"ca\": \"../pki/ca.crt\", \"cert\": \"../pki/agent.crt\", \"key\": \"../pki/agent.key\" },\n"
               "    \"dns\": { \"resolvers\": [\"127.0.0.1\"] } } }\n");

    assert_int_equal(setenv(API_KEY_ENV, API_KEY_VALUE, 1), 0);
    assert_int_equal(setenv("MPIC_TEST_SHORT_API_KEY", "short-key", 1), 0);
    assert_int_equal(unsetenv(UNSET_ENV), 0);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *fx = *state;
    remove_tree(fx->dir);
    free(fx);
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void load_ok(void **state, const char *file, enum mpic_config_role role, struct mpic_config *cfg)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct mpic_error err = { { 0 } };
    snprintf(path, sizeof path, "%s/%s", fx->dir, file);
    if (mpic_config_load(path, role, cfg, &err) != 0)
        fail_msg("%s did not load: %s", file, err.msg);
}

/* Loads file, expects failure, and returns the message after "PATH: ". */
static void expect_error(void **state, const char *file, enum mpic_config_role role, const char *needle)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct mpic_config cfg;
    struct mpic_error err = { { 0 } };
    snprintf(path, sizeof path, "%s/%s", fx->dir, file);
    if (mpic_config_load(path, role, &cfg, &err) == 0) {
        mpic_config_free(&cfg);
        fail_msg("%s loaded, expected an error containing \"%s\"", file, needle);
    }
    size_t pl = strlen(path);
    if (strncmp(err.msg, path, pl) != 0 || strncmp(err.msg + pl, ": ", 2) != 0)
        fail_msg("message does not start with the file name: %s", err.msg);
    if (strstr(err.msg + pl + 2, needle) == NULL)
        fail_msg("message \"%s\" does not contain \"%s\"", err.msg, needle);
    if (strchr(err.msg, '\n') != NULL)
        fail_msg("message spans lines: %s", err.msg);
    /* A failed load leaves nothing behind to free. */
    assert_null(cfg.path);
    assert_null(cfg.perspectives);
    assert_int_equal(cfg.n_perspectives, 0);
}

#define ORCH MPIC_ROLE_ORCHESTRATOR
#define AGENT MPIC_ROLE_AGENT

/* ---- valid files --------------------------------------------------------- */

/* ---- agent.policy and agent.lab_behaviours -------------------------------- */

static void agent_policy_defaults_to_cabf_br(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "agent.json", AGENT, &cfg);
    assert_int_equal(cfg.agent.policy, MPIC_PROFILE_CABF_BR);
    assert_int_equal(cfg.agent.lab_behaviours.n, 0);
    mpic_config_free(&cfg);
}

static void agent_policy_unknown_rejected(void **state)
{
    expect_error(state, "err-agent-policy.json", AGENT, "agent.policy: unknown policy \"lab\"");
}

#ifdef MPIC_LAB_BEHAVIOUR
static void lab_behaviours_load_in_order(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "lab-agent.json", AGENT, &cfg);
    const struct mpic_lab_behaviours *r = &cfg.agent.lab_behaviours;
    assert_int_equal(cfg.agent.policy, MPIC_PROFILE_OPEN_MPIC_REFERENCE);
    assert_int_equal(r->n, 4);
    assert_int_equal(r->v[0].action, MPIC_LAB_DELAY);
    assert_int_equal(r->v[0].delay_ms, 1500);
    assert_int_equal(r->v[1].action, MPIC_LAB_RESULT);
    assert_false(r->v[1].passed);
    assert_true(r->v[1].completed);   /* the default */
    assert_string_equal(r->v[1].error, "scripted");
    assert_int_equal(r->v[2].status, 503);
    assert_int_equal(r->v[3].action, MPIC_LAB_CLOSE);
    assert_int_equal(r->v[3].status, 502);
    assert_ptr_equal(mpic_lab_behaviour_find(r, "a.fail.lab.test"), &r->v[1]);
    assert_ptr_equal(mpic_lab_behaviour_find(r, "gone.lab.test"), &r->v[2]);
    assert_null(mpic_lab_behaviour_find(r, "example.test"));
    mpic_config_free(&cfg);
}

static void lab_behaviours_refused_under_cabf_br(void **state)
{
    expect_error(state, "err-lab-cabf.json", AGENT, "agent.lab_behaviours: refused under policy cabf-br");
}

static void lab_behaviour_rules_validated(void **state)
{
    expect_error(state, "err-lab-action.json", AGENT, "agent.lab_behaviours[0].action: unknown action \"explode\"");
    expect_error(state, "err-lab-no-passed.json", AGENT, "agent.lab_behaviours[0].result.passed: required key");
    expect_error(state, "err-lab-passed-incomplete.json", AGENT, "did not complete cannot have passed");
    expect_error(state, "err-lab-delay-zero.json", AGENT, "agent.lab_behaviours[0]: action delay needs delay_ms");
    expect_error(state, "err-lab-status-not-error.json", AGENT,
                 "agent.lab_behaviours[0].status: only action transport-error");
}
#else
static void lab_behaviours_refused_in_release_build(void **state)
{
    expect_error(state, "lab-agent.json", AGENT, "agent.lab_behaviours: this build has no lab behaviours");
    expect_error(state, "err-lab-cabf.json", AGENT, "agent.lab_behaviours: this build has no lab behaviours");
}
#endif

static void valid_orchestrator_loads_every_field(void **state)
{
    struct fixture *fx = *state;
    struct mpic_config cfg;
    char want[PATH_MAX];
    load_ok(state, "orchestrator.json", ORCH, &cfg);

    assert_string_equal(cfg.log_level, "debug");
    assert_false(cfg.caa_flag1_is_critical);
    assert_int_equal(cfg.caa_issuer_domains.n, 2);
    assert_string_equal(cfg.caa_issuer_domains.v[0], "ca.example.net");
    assert_string_equal(cfg.caa_issuer_domains.v[1], "other-ca.example.org");

    assert_int_equal(cfg.n_perspectives, 4);
    assert_string_equal(cfg.perspectives[0].code, "us-east-1");
    assert_string_equal(cfg.perspectives[0].name, "N. Virginia");
    assert_int_equal(cfg.perspectives[0].rir, MPIC_RIR_ARIN);
    assert_int_equal(cfg.perspectives[0].too_close.n, 1);
    assert_string_equal(cfg.perspectives[0].too_close.v[0], "us-east-2");
    assert_string_equal(cfg.perspectives[0].url, "https://127.0.0.1:9443");
    assert_string_equal(cfg.perspectives[1].url, "https://[::1]:9444");  /* trailing slash dropped */
    assert_int_equal(cfg.perspectives[2].rir, MPIC_RIR_RIPE_NCC);
    assert_string_equal(cfg.perspectives[2].url, "https://agent-eu.example.net:9445");
    assert_int_equal(cfg.perspectives[2].too_close.n, 0);
    assert_null(cfg.perspectives[3].name);
    assert_int_equal(cfg.perspectives[3].rir, MPIC_RIR_APNIC);
    assert_true(cfg.perspectives[0].has_location);
    assert_true(cfg.perspectives[0].lat == 39.0438 && cfg.perspectives[0].lon == -77.4874);
    assert_false(cfg.perspectives[0].has_resolver);
    assert_true(cfg.perspectives[2].has_resolver);
    assert_int_equal(cfg.perspectives[2].resolver_rir, MPIC_RIR_RIPE_NCC);
    assert_true(cfg.perspectives[2].resolver_lat == 53.35 && cfg.perspectives[2].resolver_lon == -6.26);
    assert_true(cfg.perspectives[3].lat == 19.0 && cfg.perspectives[3].lon == 73.0);  /* integers allowed */
    /* Ashburn-Columbus is 483.66 km: computed, and not listed twice. */
    assert_int_equal(cfg.computed_too_close.n, 1);
    assert_string_equal(cfg.computed_too_close.v[0], "us-east-1 ~ us-east-2: 484 km");
    assert_int_equal(cfg.perspectives[0].too_close.n, 1);
    assert_null(cfg.orchestrator.primary);

    assert_true(cfg.has_orchestrator);
    assert_false(cfg.has_agent);
    const struct mpic_orchestrator_config *o = &cfg.orchestrator;
    assert_string_equal(o->listen_host, "0.0.0.0");
    assert_int_equal(o->listen_port, 8443);
    assert_true(o->https);
    snprintf(want, sizeof want, "%s/pki/orch.crt", fx->dir);
    assert_string_equal(o->tls_cert, want);
    assert_int_equal(o->api_keys.n, 2);
    assert_string_equal(o->api_keys.v[0], API_KEY_VALUE);
    assert_string_equal(o->api_keys.v[1], NEXT_API_KEY);
    assert_int_equal(o->cohort_secret_len, strlen(COHORT_SECRET));
    assert_memory_equal(o->cohort_secret, COHORT_SECRET, strlen(COHORT_SECRET));
    snprintf(want, sizeof want, "%s/pki/ca.crt", fx->dir);
    assert_string_equal(o->agent_tls.ca, want);
    assert_int_equal(o->default_perspective_count, 3);
    assert_int_equal(o->max_attempts_cap, 5);
    assert_int_equal(o->perspective_timeout_ms, 4000);
    assert_int_equal(o->request_timeout_ms, 20000);
    assert_int_equal(o->max_body_bytes, 2048);
    snprintf(want, sizeof want, "%s/logs/audit.jsonl", fx->dir);
    assert_string_equal(o->audit_log_path, want);
    assert_false(o->audit_fsync);
    mpic_config_free(&cfg);
}

static void valid_agent_loads_every_field(void **state)
{
    struct fixture *fx = *state;
    struct mpic_config cfg;
    char want[PATH_MAX];
    load_ok(state, "agent.json", AGENT, &cfg);
    assert_string_equal(cfg.log_level, "info");
    assert_true(cfg.caa_flag1_is_critical);
    assert_int_equal(cfg.caa_issuer_domains.n, 1);
    assert_string_equal(cfg.caa_issuer_domains.v[0], "ca.example.net");
    assert_int_equal(cfg.n_perspectives, 0);
    assert_false(cfg.has_orchestrator);
    assert_true(cfg.has_agent);
    const struct mpic_agent_config *a = &cfg.agent;
    assert_string_equal(a->perspective, "us-east-1");
    assert_string_equal(a->listen_host, "::1");
    assert_int_equal(a->listen_port, 9443);
    snprintf(want, sizeof want, "%s/pki/agent.key", fx->dir);
    assert_string_equal(a->tls.key, want);
    assert_int_equal(a->dns.resolvers.n, 4);
    assert_string_equal(a->dns.resolvers.v[1], "[::1]:5354");
    assert_string_equal(a->dns.resolvers.v[3], "::1");
    assert_int_equal(a->dns.timeout_ms, 1500);
    assert_int_equal(a->dns.tries, 3);
    assert_int_equal(a->check_timeout_ms, 6000);
    assert_int_equal(a->max_body_bytes, 1024);
    assert_true(a->allow_private_targets);
    mpic_config_free(&cfg);
}

static void orchestrator_defaults_applied(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "minimal-orchestrator.json", ORCH, &cfg);
    assert_string_equal(cfg.log_level, "info");
    assert_true(cfg.caa_flag1_is_critical);
    assert_int_equal(cfg.caa_issuer_domains.n, 0);
    assert_null(cfg.perspectives[0].name);
    assert_int_equal(cfg.perspectives[0].too_close.n, 0);
    const struct mpic_orchestrator_config *o = &cfg.orchestrator;
    assert_string_equal(o->listen_host, "127.0.0.1");
    assert_int_equal(o->listen_port, 8080);
    assert_false(o->https);
    assert_null(o->tls_cert);
    /* Seven perspectives, so the default count is capped at six. */
    assert_int_equal(o->default_perspective_count, 6);
    assert_int_equal(o->max_attempts_cap, 3);
    assert_int_equal(o->perspective_timeout_ms, 10000);
    assert_int_equal(o->request_timeout_ms, 25000);
    assert_int_equal(o->max_body_bytes, 65536);
    assert_int_equal(o->agent_connections, 64);
    assert_null(o->primary);
    assert_false(o->require_primary);
    /* The loader leaves the audit log optional; the orchestrator's start-up refuses cabf-br without one. */
    assert_null(o->audit_log_path);
    assert_int_equal(cfg.computed_too_close.n, 0);   /* seven cities, all >= 500 km apart */
    mpic_config_free(&cfg);
}

static void default_perspective_count_is_catalogue_size_when_small(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "combined.json", AGENT, &cfg);
    assert_int_equal(cfg.orchestrator.default_perspective_count, 2);
    mpic_config_free(&cfg);
}

static void agent_defaults_applied(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "minimal-agent.json", AGENT, &cfg);
    const struct mpic_agent_config *a = &cfg.agent;
    assert_string_equal(a->listen_host, "127.0.0.1");
    assert_int_equal(a->listen_port, 9443);
    assert_int_equal(a->dns.timeout_ms, 2000);
    assert_int_equal(a->dns.tries, 2);
    assert_int_equal(a->check_timeout_ms, 8000);
    assert_int_equal(a->max_body_bytes, 65536);
    assert_false(a->allow_private_targets);
    assert_string_equal(a->orchestrator_cn, "mpic-orchestrator");
    assert_int_equal(a->orchestrator_spki.n, 0);
    mpic_config_free(&cfg);
}

/* The agent's CA signs the agents too: only the named orchestrator is served. */
static void agent_orchestrator_identity(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "agent-identity.json", AGENT, &cfg);
    assert_string_equal(cfg.agent.orchestrator_cn, "orch-1");
    assert_int_equal(cfg.agent.orchestrator_spki.n, 2);
    assert_string_equal(cfg.agent.orchestrator_spki.v[1], "abababababababababababababababababababababababababababababababab");
    mpic_config_free(&cfg);
    expect_error(state, "err-agent-identity-own-code.json", AGENT,
                 "agent.orchestrator_identity.cn: \"us-east-1\" is this agent's own perspective code");
    expect_error(state, "err-agent-identity-bad-pin.json", AGENT,
                 "agent.orchestrator_identity.spki_sha256[0]: \"ABCDEF\" is not 64 lower-case hex digits");
    expect_error(state, "err-agent-identity-unknown-key.json", AGENT, "name");
}

static void rir_ripe_alias_and_case_accepted(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "minimal-orchestrator.json", ORCH, &cfg);
    assert_int_equal(cfg.perspectives[0].rir, MPIC_RIR_ARIN);       /* "arin" */
    assert_int_equal(cfg.perspectives[1].rir, MPIC_RIR_RIPE_NCC);   /* "RIPE" */
    assert_int_equal(cfg.perspectives[2].rir, MPIC_RIR_RIPE_NCC);   /* "ripe ncc" */
    assert_int_equal(cfg.perspectives[4].rir, MPIC_RIR_LACNIC);
    assert_int_equal(cfg.perspectives[5].rir, MPIC_RIR_AFRINIC);    /* "AfriNIC" */
    mpic_config_free(&cfg);
}

static void relative_paths_resolve_against_config_dir(void **state)
{
    struct fixture *fx = *state;
    struct mpic_config cfg;
    struct mpic_error err;
    char cwd[PATH_MAX], want[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));

    /* From elsewhere, with "../" in the file. */
    assert_int_equal(chdir("/"), 0);
    load_ok(state, "etc/agent.json", AGENT, &cfg);
    snprintf(want, sizeof want, "%s/etc/../pki/agent.crt", fx->dir);
    assert_string_equal(cfg.agent.tls.cert, want);
    mpic_config_free(&cfg);

    /* A relative config path still yields absolute file paths. */
    assert_int_equal(chdir(fx->dir), 0);
    int rc = mpic_config_load("orchestrator.json", ORCH, &cfg, &err);
    assert_int_equal(chdir(cwd), 0);
    if (rc != 0)
        fail_msg("%s", err.msg);
    snprintf(want, sizeof want, "%s/pki/orch.key", fx->dir);
    assert_string_equal(cfg.orchestrator.agent_tls.key, want);
    assert_string_equal(cfg.path, "orchestrator.json");
    mpic_config_free(&cfg);
}

static void agent_role_does_not_need_orchestrator_secrets(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "combined.json", AGENT, &cfg);
    assert_true(cfg.has_orchestrator);
    assert_true(cfg.has_agent);
    assert_null(cfg.orchestrator.cohort_secret);
    assert_int_equal(cfg.orchestrator.api_keys.n, 0);
    mpic_config_free(&cfg);
    /* ... while the orchestrator does need it. */
    expect_error(state, "combined.json", ORCH,
                 "orchestrator.cohort_secret: environment variable " UNSET_ENV " is not set");
}

/* ---- structure ----------------------------------------------------------- */

static void syntax_error_reports_line_and_column(void **state)
{
    expect_error(state, "err-syntax.json", ORCH, "line 4, column ");
}

static void duplicate_json_key_rejected(void **state)
{
    expect_error(state, "err-duplicate-key.json", ORCH, "duplicate");
}

static void top_level_must_be_object(void **state)
{
    expect_error(state, "err-not-object.json", ORCH, "top level must be a JSON object");
}

static void missing_config_file_rejected(void **state)
{
    expect_error(state, "no-such-config.json", ORCH, "unable to open");
}

static void unknown_key_at_top_rejected(void **state)
{
    expect_error(state, "err-unknown-key-top.json", ORCH, "perspective: unknown key");
}

static void unknown_key_in_perspective_rejected(void **state)
{
    expect_error(state, "err-unknown-key-nested.json", ORCH, "perspectives[2].tooclose: unknown key");
}

static void unknown_key_in_tls_object_rejected(void **state)
{
    expect_error(state, "err-unknown-key-tls.json", ORCH, "orchestrator.agent_tls.crt: unknown key");
}

static void unknown_key_in_dns_rejected(void **state)
{
    expect_error(state, "err-unknown-key-dns.json", AGENT, "agent.dns.timeout: unknown key");
}

static void wrong_types_rejected(void **state)
{
    expect_error(state, "err-type-string-for-int.json", ORCH, "orchestrator.max_attempts_cap: expected an integer");
    expect_error(state, "err-type-real-for-int.json", ORCH, "orchestrator.max_attempts_cap: expected an integer");
    expect_error(state, "err-type-bool.json", AGENT, "agent.allow_private_targets: expected true or false");
}

static void unknown_log_level_rejected(void **state)
{
    expect_error(state, "err-log-level.json", ORCH, "log_level: unknown level \"verbose\"");
}

/* ---- perspectives ---------------------------------------------------------- */

static void unknown_rir_rejected(void **state)
{
    expect_error(state, "err-bad-rir.json", ORCH,
                 "perspectives[2].rir: unknown RIR \"EU\" (expected ARIN, RIPE NCC, APNIC, LACNIC or AFRINIC)");
}

static void missing_rir_rejected(void **state)
{
    expect_error(state, "err-missing-rir.json", ORCH, "perspectives[0].rir: required key is missing");
}

static void duplicate_perspective_code_rejected(void **state)
{
    expect_error(state, "err-duplicate-code.json", ORCH,
                 "perspectives[2].code: duplicate perspective code \"us-east-1\" (also perspectives[0])");
}

static void perspective_code_syntax_enforced(void **state)
{
    expect_error(state, "err-bad-code.json", ORCH, "perspectives[2].code: \"EU_West\" is not a perspective code");
}

static void asymmetric_too_close_names_both_codes(void **state)
{
    expect_error(state, "err-too-close-asymmetric.json", ORCH,
                 "perspectives[0].too_close[0]: \"us-east-1\" lists \"us-east-2\" as too close, but "
                 "perspectives[1] \"us-east-2\" does not list \"us-east-1\"");
}

static void too_close_unknown_code_rejected(void **state)
{
    expect_error(state, "err-too-close-unknown.json", ORCH,
                 "perspectives[2].too_close[0]: unknown perspective code \"us-west-9\"");
}

static void too_close_self_rejected(void **state)
{
    expect_error(state, "err-too-close-self.json", ORCH, "perspectives[2].too_close[0]: \"eu-west-1\" lists itself");
}

static void url_must_be_https_host_port(void **state)
{
    expect_error(state, "err-url-scheme.json", ORCH,
                 "perspectives[1].url: \"http://127.0.0.2:9443\" is not https://HOST:PORT");
    expect_error(state, "err-url-path.json", ORCH, "perspectives[1].url: \"https://127.0.0.2:9443/mpic\" is not");
    expect_error(state, "err-url-v6-unbracketed.json", ORCH, "perspectives[1].url: \"https://::1:9443\" is not");
    expect_error(state, "err-url-no-port.json", ORCH, "perspectives[1].url: \"https://agent.example.net\" is not");
}

static void url_required_for_orchestrator_only(void **state)
{
    expect_error(state, "err-url-missing.json", ORCH, "perspectives[1].url: required key is missing");
}

/* ---- listen, resolvers, ranges ---------------------------------------------- */

static void bad_listen_rejected(void **state)
{
    expect_error(state, "err-listen-hostname.json", ORCH, "orchestrator.listen: \"localhost:8080\" is not HOST:PORT");
    expect_error(state, "err-listen-no-port.json", ORCH, "orchestrator.listen: \"127.0.0.1\" is not HOST:PORT");
    expect_error(state, "err-listen-port-range.json", AGENT, "agent.listen: \"[::1]:65536\" is not HOST:PORT");
    expect_error(state, "err-listen-v6-unbracketed.json", AGENT, "agent.listen: \"::1:9443\" is not HOST:PORT");
}

static void bad_resolver_rejected(void **state)
{
    expect_error(state, "err-bad-resolver.json", AGENT,
                 "agent.dns.resolvers[1]: \"dns.example.net\" is not IP, IP:PORT or [IPv6]:PORT");
    expect_error(state, "err-no-resolvers.json", AGENT, "agent.dns.resolvers: at least one resolver is required");
}

static void out_of_range_numbers_rejected(void **state)
{
    expect_error(state, "err-range-tries.json", AGENT, "agent.dns.tries: 11 is out of range (1..10)");
    expect_error(state, "err-range-default-count.json", ORCH,
                 "orchestrator.default_perspective_count: 4 is out of range (2..3)");
    expect_error(state, "err-range-attempts-cap.json", ORCH, "orchestrator.max_attempts_cap: 0 is out of range (1..20)");
    expect_error(state, "err-range-body.json", AGENT, "agent.max_body_bytes: 1023 is out of range (1024..16777216)");
    expect_error(state, "err-range-timeout-zero.json", ORCH, "orchestrator.perspective_timeout_ms: 0 is out of range");
    expect_error(state, "err-range-agent-connections.json", ORCH,
                 "orchestrator.agent_connections: 0 is out of range (1..4096)");
    expect_error(state, "err-timeout-order.json", ORCH,
                 "orchestrator.perspective_timeout_ms: 30000 is longer than orchestrator.request_timeout_ms (20000)");
}

static void issuer_domain_syntax_enforced(void **state)
{
    expect_error(state, "err-issuer-trailing-dot.json", AGENT, "caa.issuer_domains[0]: \"ca.example.net.\": no trailing dot");
    expect_error(state, "err-issuer-bad-name.json", AGENT, "caa.issuer_domains[0]: \"ca_example.net\" is not a DNS name");
}

/* ---- files and secrets ---------------------------------------------------------- */

static void missing_cert_file_rejected(void **state)
{
    expect_error(state, "err-missing-cert.json", ORCH, "orchestrator.agent_tls.cert: cannot open ");
    expect_error(state, "err-missing-cert.json", ORCH, "pki/missing.crt: No such file or directory");
}

static void garbage_cert_rejected(void **state)
{
    expect_error(state, "err-garbage-cert.json", AGENT, "agent.tls.cert: ");
    expect_error(state, "err-garbage-cert.json", AGENT, "garbage.crt holds no PEM certificate");
    expect_error(state, "err-garbage-ca.json", ORCH, "orchestrator.agent_tls.ca: ");
}

static void garbage_key_rejected(void **state)
{
    expect_error(state, "err-garbage-key.json", AGENT, "agent.tls.key: ");
    expect_error(state, "err-garbage-key.json", AGENT, "holds no unencrypted PEM private key");
}

static void key_not_matching_cert_rejected(void **state)
{
    expect_error(state, "err-key-mismatch.json", ORCH,
                 "orchestrator.agent_tls.key: does not match the certificate in orchestrator.agent_tls.cert");
}

static void agent_cert_cn_must_equal_perspective(void **state)
{
    expect_error(state, "err-agent-cn-mismatch.json", AGENT,
                 "agent.tls.cert: certificate subject CN \"us-east-1\" does not equal agent.perspective \"eu-west-1\"");
}

static void agent_perspective_must_be_in_catalogue(void **state)
{
    expect_error(state, "err-agent-not-in-catalogue.json", AGENT,
                 "agent.perspective: \"us-east-1\" is not a code in perspectives");
}

static void missing_env_secret_rejected(void **state)
{
    expect_error(state, "err-missing-env-secret.json", ORCH,
                 "orchestrator.api_keys[1]: environment variable " UNSET_ENV " is not set");
}

static void short_cohort_secret_rejected(void **state)
{
    expect_error(state, "err-short-cohort-secret.json", ORCH,
                 "orchestrator.cohort_secret: secret is 15 bytes, at least 16 are required");
}

static void empty_or_missing_secret_file_rejected(void **state)
{
    expect_error(state, "err-empty-secret-file.json", ORCH, "orchestrator.cohort_secret: secret file ");
    expect_error(state, "err-empty-secret-file.json", ORCH, "empty-secret is empty");
    expect_error(state, "err-missing-secret-file.json", ORCH, "orchestrator.cohort_secret: cannot open ");
}

static void secret_file_loses_one_trailing_newline(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "secret-newlines.json", ORCH, &cfg);
    assert_int_equal(cfg.orchestrator.cohort_secret_len, strlen("0123456789abcdef-two\n"));
    assert_memory_equal(cfg.orchestrator.cohort_secret, "0123456789abcdef-two\n", cfg.orchestrator.cohort_secret_len);
    mpic_config_free(&cfg);
}

static void api_key_with_control_characters_rejected(void **state)
{
    expect_error(state, "err-api-key-control.json", ORCH, "orchestrator.api_keys[1]: secret holds control characters");
}

static void api_key_shorter_than_32_bytes_rejected(void **state)
{
    expect_error(state, "err-api-key-short.json", ORCH,
                 "orchestrator.api_keys[1]: API key is 31 bytes, at least 32 are required");
}

static void api_key_of_32_bytes_accepted(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "api-key-minimum.json", ORCH, &cfg);
    assert_int_equal(cfg.orchestrator.api_keys.n, 2);
    assert_string_equal(cfg.orchestrator.api_keys.v[1], "0123456789abcdef0123456789abcdef");
    mpic_config_free(&cfg);
}

static void short_api_key_from_the_environment_rejected(void **state)
{
    expect_error(state, "err-api-key-short-env.json", ORCH,
                 "orchestrator.api_keys[0]: API key is 9 bytes, at least 32 are required");
}

static void literal_secret_rejected_without_echo(void **state)
{
    struct fixture *fx = *state;
    expect_error(state, "err-literal-secret.json", ORCH,
                 "orchestrator.cohort_secret: a secret must be \"env:NAME\" or \"file:PATH\"");
    char path[PATH_MAX];
    struct mpic_config cfg;
    struct mpic_error err;
    snprintf(path, sizeof path, "%s/err-literal-secret.json", fx->dir);
    assert_int_equal(mpic_config_load(path, ORCH, &cfg, &err), -1);
    assert_null(strstr(err.msg, LITERAL_SECRET));
    assert_null(strstr(err.msg, "Tr0ub4dor"));
}

static void secret_values_never_in_messages(void **state)
{
    struct fixture *fx = *state;
    char path[PATH_MAX];
    struct mpic_config cfg;
    struct mpic_error err;
    snprintf(path, sizeof path, "%s/err-short-cohort-secret.json", fx->dir);
    assert_int_equal(mpic_config_load(path, ORCH, &cfg, &err), -1);
    assert_null(strstr(err.msg, "fifteen-bytes"));
    snprintf(path, sizeof path, "%s/err-missing-env-secret.json", fx->dir);
    assert_int_equal(mpic_config_load(path, ORCH, &cfg, &err), -1);
    assert_null(strstr(err.msg, API_KEY_VALUE));
}

/* ---- role requirements ----------------------------------------------------------- */

static void orchestrator_role_requires_orchestrator_section(void **state)
{
    expect_error(state, "agent.json", ORCH, "orchestrator: section is required by mpic-orchestrator");
}

static void agent_role_requires_agent_section(void **state)
{
    expect_error(state, "orchestrator.json", AGENT, "agent: section is required by mpic-agent");
}

static void orchestrator_role_requires_perspectives(void **state)
{
    expect_error(state, "err-no-perspectives.json", ORCH, "perspectives: mpic-orchestrator needs a perspective catalogue");
    expect_error(state, "err-one-perspective.json", ORCH, "perspectives: mpic-orchestrator needs at least 2 perspectives");
}

static void orchestrator_requires_api_keys_and_agent_tls(void **state)
{
    expect_error(state, "err-no-api-keys.json", ORCH, "orchestrator.api_keys: at least one API key is required");
    expect_error(state, "err-missing-agent-tls.json", ORCH, "orchestrator.agent_tls: required key is missing");
}

static void agent_role_requires_issuer_domains(void **state)
{
    expect_error(state, "err-agent-no-issuers.json", AGENT, "caa.issuer_domains: mpic-agent needs at least one issuer domain");
}

/* ---- locations, resolvers and the primary (BR 3.2.2.9) ----------------------------- */

static const struct mpic_perspective *perspective(const struct mpic_config *cfg, const char *code)
{
    int i = mpic_config_find_perspective(cfg, code);
    if (i < 0)
        fail_msg("no perspective %s", code);
    return &cfg->perspectives[i];
}

static void location_required_under_cabf_br(void **state)
{
    expect_error(state, "err-location-missing.json", ORCH,
                 "perspectives[1].location: required key is missing (policy cabf-br");
    expect_error(state, "err-primary-location-missing.json", ORCH, "orchestrator.primary.location: required key is missing");
}

static void location_optional_under_reference_policy(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "reference-no-location.json", ORCH, &cfg);
    assert_int_equal(cfg.orchestrator.policy, MPIC_PROFILE_OPEN_MPIC_REFERENCE);
    for (size_t i = 0; i < cfg.n_perspectives; i++) {
        assert_false(cfg.perspectives[i].has_location);
        assert_int_equal(cfg.perspectives[i].too_close.n, 0);
    }
    assert_int_equal(cfg.computed_too_close.n, 0);
    mpic_config_free(&cfg);
}

static void bad_coordinates_rejected(void **state)
{
    expect_error(state, "err-location-lat-range.json", ORCH, "perspectives[0].location.lat: 91 is out of range (-90..90)");
    expect_error(state, "err-location-lon-range.json", ORCH,
                 "perspectives[1].location.lon: -180.5 is out of range (-180..180)");
    expect_error(state, "err-location-not-number.json", ORCH, "perspectives[0].location.lat: expected a number");
    expect_error(state, "err-location-missing-lon.json", ORCH, "perspectives[1].location.lon: required key is missing");
    expect_error(state, "err-location-unknown-key.json", ORCH, "perspectives[1].location.lng: unknown key");
}

static void resolver_rir_must_equal_perspective_rir(void **state)
{
    expect_error(state, "err-resolver-rir.json", ORCH,
                 "perspectives[2].resolver.rir: the resolver is in ARIN but perspective r2 is in RIPE NCC");
    expect_error(state, "err-resolver-no-rir.json", ORCH, "perspectives[1].resolver.rir: required key is missing");
}

static void close_pair_computed_both_ways(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "geo-computed.json", ORCH, &cfg);
    /* Frankfurt-Paris, 477.89 km, listed by neither. */
    assert_true(mpic_strv_contains(&perspective(&cfg, "eu-central-1")->too_close, "eu-west-3"));
    assert_true(mpic_strv_contains(&perspective(&cfg, "eu-west-3")->too_close, "eu-central-1"));
    assert_int_equal(perspective(&cfg, "eu-central-1")->too_close.n, 1);
    /* Ashburn-Columbus, 483.66 km, listed already: recorded, not duplicated. */
    assert_int_equal(perspective(&cfg, "us-east-1")->too_close.n, 1);
    assert_int_equal(perspective(&cfg, "us-east-2")->too_close.n, 1);
    /* An explicit pair far apart stays: it is an override. */
    assert_int_equal(perspective(&cfg, "ap-northeast-1")->too_close.n, 1);
    assert_string_equal(perspective(&cfg, "ap-northeast-1")->too_close.v[0], "sa-east-1");
    assert_int_equal(cfg.computed_too_close.n, 2);
    assert_string_equal(cfg.computed_too_close.v[0], "us-east-1 ~ us-east-2: 484 km");
    assert_string_equal(cfg.computed_too_close.v[1], "eu-central-1 ~ eu-west-3: 478 km");
    mpic_config_free(&cfg);
}

static void close_resolvers_make_distant_perspectives_too_close(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "geo-resolver-close.json", ORCH, &cfg);
    const struct mpic_perspective *fra = perspective(&cfg, "eu-central-1"), *sto = perspective(&cfg, "eu-north-1");
    assert_true(fra->has_resolver && sto->has_resolver);
    assert_int_equal(sto->resolver_rir, MPIC_RIR_RIPE_NCC);   /* "RIPE" */
    /* Frankfurt-Stockholm is 1186.63 km, but their resolvers (Amsterdam,
     * Brussels) are 172.97 km apart. */
    assert_true(mpic_strv_contains(&fra->too_close, "eu-north-1"));
    assert_true(mpic_strv_contains(&sto->too_close, "eu-central-1"));
    assert_int_equal(perspective(&cfg, "us-west-2")->too_close.n, 0);
    assert_int_equal(perspective(&cfg, "ap-northeast-1")->too_close.n, 0);
    assert_int_equal(cfg.computed_too_close.n, 1);
    assert_string_equal(cfg.computed_too_close.v[0],
                        "eu-central-1 ~ eu-north-1: resolvers 173 km apart (perspectives 1187 km)");
    mpic_config_free(&cfg);
}

static void primary_without_url_refused_for_orchestrator(void **state)
{
    expect_error(state, "err-primary-url-missing.json", ORCH, "orchestrator.primary.url: required key is missing");
}

static void primary_parsed_outside_catalogue(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "geo-primary.json", ORCH, &cfg);
    const struct mpic_perspective *pp = cfg.orchestrator.primary;
    assert_non_null(pp);
    assert_string_equal(pp->code, "ca-toronto");
    assert_string_equal(pp->name, "CA data centre (Toronto)");
    assert_int_equal(pp->rir, MPIC_RIR_ARIN);
    assert_string_equal(pp->url, "https://127.0.0.1:9500");   /* called beside every cohort */
    assert_true(pp->has_location);
    assert_true(pp->lat == 43.6532 && pp->lon == -79.3832);
    assert_true(cfg.orchestrator.require_primary);
    /* Never in a cohort: not in the catalogue. */
    assert_int_equal(cfg.n_perspectives, 4);
    assert_int_equal(mpic_config_find_perspective(&cfg, "ca-toronto"), -1);
    mpic_config_free(&cfg);
}

static void primary_too_close_to_remote_refused(void **state)
{
    /* Reston to Ashburn: 14.72 km. */
    expect_error(state, "err-primary-too-close.json", ORCH,
                 "orchestrator.primary: perspective us-east-1 is 15 km from the primary (BR 3.2.2.9 requires remotes "
                 "to be at least 500 km from it)");
}

static void require_primary_without_primary_refused(void **state)
{
    expect_error(state, "err-require-primary.json", ORCH,
                 "orchestrator.require_primary: is true, but orchestrator.primary is missing");
}

static void primary_code_must_not_be_a_catalogue_code(void **state)
{
    expect_error(state, "err-primary-code.json", ORCH, "orchestrator.primary.code: \"eu-west-1\" is also perspectives[1]");
}

static void primary_takes_only_its_own_keys(void **state)
{
    expect_error(state, "err-primary-unknown-key.json", ORCH, "orchestrator.primary.too_close: unknown key");
}

/* ---- small functions ------------------------------------------------------------ */

static void rir_names_round_trip(void **state)
{
    (void)state;
    enum mpic_rir r;
    for (int i = 0; i < MPIC_RIR_COUNT; i++) {
        assert_int_equal(mpic_rir_parse(mpic_rir_name((enum mpic_rir)i), &r), 0);
        assert_int_equal(r, i);
    }
    assert_string_equal(mpic_rir_name(MPIC_RIR_RIPE_NCC), "RIPE NCC");
    assert_int_equal(mpic_rir_parse("ripe", &r), 0);
    assert_int_equal(r, MPIC_RIR_RIPE_NCC);
    assert_int_equal(mpic_rir_parse("EU", &r), -1);
    assert_int_equal(mpic_rir_parse("", &r), -1);
    assert_int_equal(mpic_rir_parse("RIPENCC", &r), -1);
}

static void find_perspective_by_code(void **state)
{
    struct mpic_config cfg;
    load_ok(state, "orchestrator.json", ORCH, &cfg);
    assert_int_equal(mpic_config_find_perspective(&cfg, "eu-west-1"), 2);
    assert_int_equal(mpic_config_find_perspective(&cfg, "us-east-1"), 0);
    assert_int_equal(mpic_config_find_perspective(&cfg, "EU-WEST-1"), -1);
    assert_int_equal(mpic_config_find_perspective(&cfg, "nowhere"), -1);
    mpic_config_free(&cfg);
}

static void free_is_safe_on_zeroed_and_freed_configs(void **state)
{
    struct mpic_config cfg;
    memset(&cfg, 0, sizeof cfg);
    mpic_config_free(&cfg);
    mpic_config_free(NULL);
    load_ok(state, "orchestrator.json", ORCH, &cfg);
    mpic_config_free(&cfg);
    mpic_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_orchestrator_loads_every_field),
        cmocka_unit_test(valid_agent_loads_every_field),
        cmocka_unit_test(orchestrator_defaults_applied),
        cmocka_unit_test(default_perspective_count_is_catalogue_size_when_small),
        cmocka_unit_test(agent_defaults_applied),
        cmocka_unit_test(agent_orchestrator_identity),
        cmocka_unit_test(rir_ripe_alias_and_case_accepted),
        cmocka_unit_test(relative_paths_resolve_against_config_dir),
        cmocka_unit_test(agent_role_does_not_need_orchestrator_secrets),
        cmocka_unit_test(syntax_error_reports_line_and_column),
        cmocka_unit_test(duplicate_json_key_rejected),
        cmocka_unit_test(top_level_must_be_object),
        cmocka_unit_test(missing_config_file_rejected),
        cmocka_unit_test(unknown_key_at_top_rejected),
        cmocka_unit_test(unknown_key_in_perspective_rejected),
        cmocka_unit_test(unknown_key_in_tls_object_rejected),
        cmocka_unit_test(unknown_key_in_dns_rejected),
        cmocka_unit_test(wrong_types_rejected),
        cmocka_unit_test(unknown_log_level_rejected),
        cmocka_unit_test(unknown_rir_rejected),
        cmocka_unit_test(missing_rir_rejected),
        cmocka_unit_test(duplicate_perspective_code_rejected),
        cmocka_unit_test(perspective_code_syntax_enforced),
        cmocka_unit_test(asymmetric_too_close_names_both_codes),
        cmocka_unit_test(too_close_unknown_code_rejected),
        cmocka_unit_test(too_close_self_rejected),
        cmocka_unit_test(url_must_be_https_host_port),
        cmocka_unit_test(url_required_for_orchestrator_only),
        cmocka_unit_test(bad_listen_rejected),
        cmocka_unit_test(bad_resolver_rejected),
        cmocka_unit_test(out_of_range_numbers_rejected),
        cmocka_unit_test(issuer_domain_syntax_enforced),
        cmocka_unit_test(missing_cert_file_rejected),
        cmocka_unit_test(garbage_cert_rejected),
        cmocka_unit_test(garbage_key_rejected),
        cmocka_unit_test(key_not_matching_cert_rejected),
        cmocka_unit_test(agent_cert_cn_must_equal_perspective),
        cmocka_unit_test(agent_perspective_must_be_in_catalogue),
        cmocka_unit_test(missing_env_secret_rejected),
        cmocka_unit_test(short_cohort_secret_rejected),
        cmocka_unit_test(empty_or_missing_secret_file_rejected),
        cmocka_unit_test(secret_file_loses_one_trailing_newline),
        cmocka_unit_test(api_key_with_control_characters_rejected),
        cmocka_unit_test(api_key_shorter_than_32_bytes_rejected),
        cmocka_unit_test(api_key_of_32_bytes_accepted),
        cmocka_unit_test(short_api_key_from_the_environment_rejected),
        cmocka_unit_test(literal_secret_rejected_without_echo),
        cmocka_unit_test(secret_values_never_in_messages),
        cmocka_unit_test(orchestrator_role_requires_orchestrator_section),
        cmocka_unit_test(agent_role_requires_agent_section),
        cmocka_unit_test(orchestrator_role_requires_perspectives),
        cmocka_unit_test(orchestrator_requires_api_keys_and_agent_tls),
        cmocka_unit_test(agent_role_requires_issuer_domains),
        cmocka_unit_test(location_required_under_cabf_br),
        cmocka_unit_test(location_optional_under_reference_policy),
        cmocka_unit_test(bad_coordinates_rejected),
        cmocka_unit_test(resolver_rir_must_equal_perspective_rir),
        cmocka_unit_test(close_pair_computed_both_ways),
        cmocka_unit_test(close_resolvers_make_distant_perspectives_too_close),
        cmocka_unit_test(primary_parsed_outside_catalogue),
        cmocka_unit_test(primary_without_url_refused_for_orchestrator),
        cmocka_unit_test(primary_too_close_to_remote_refused),
        cmocka_unit_test(require_primary_without_primary_refused),
        cmocka_unit_test(primary_code_must_not_be_a_catalogue_code),
        cmocka_unit_test(primary_takes_only_its_own_keys),
        cmocka_unit_test(rir_names_round_trip),
        cmocka_unit_test(find_perspective_by_code),
        cmocka_unit_test(free_is_safe_on_zeroed_and_freed_configs),
        cmocka_unit_test(agent_policy_defaults_to_cabf_br),
        cmocka_unit_test(agent_policy_unknown_rejected),
#ifdef MPIC_LAB_BEHAVIOUR
        cmocka_unit_test(lab_behaviours_load_in_order),
        cmocka_unit_test(lab_behaviours_refused_under_cabf_br),
        cmocka_unit_test(lab_behaviour_rules_validated),
#else
        cmocka_unit_test(lab_behaviours_refused_in_release_build),
#endif
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
