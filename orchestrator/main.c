/* mpic-orchestrator: the Open MPIC API endpoint. Authenticates the caller,
 * validates the request completely, picks the cohorts, and hands the request
 * to a job (job.c) that corroborates it with the perspective agents. */
#include <errno.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cohort.h"
#include "config.h"
#include "args.h"
#include "httpd.h"
#include "audit.h"
#include "dispatch.h"
#include "job.h"
#include "log.h"
#include "log_loop.h"
#include "policy.h"
#include "tls.h"
#include "wire.h"

#define KEY_DIGEST_LEN 32

struct pending;

struct orchestrator {
    struct mpic_config cfg;
    struct event_base *base;
    struct mpic_http_server *http;
    SSL_CTX *ssl_ctx;                  /* client-facing HTTPS, when configured */
    struct mpic_dispatch *dispatch;
    struct mpic_audit *audit;
    unsigned char (*key_digests)[KEY_DIGEST_LEN];
    struct event *sigterm, *sigint;
    struct pending *pending;           /* requests waiting for their job */
    time_t raised_warned_day;          /* UTC day (days since the epoch) of the last default_raised warning */
};

/* A client request whose job is running. */
struct pending {
    struct orchestrator *o;
    struct mpic_http_request *req;
    struct mpic_job *job;
    struct pending *prev, *next;
};

static void digest(const char *s, size_t len, unsigned char out[KEY_DIGEST_LEN])
{
    unsigned int n = KEY_DIGEST_LEN;
    EVP_Digest(s, len, out, &n, EVP_sha256(), NULL);
}

/* Compares digests so the time taken does not depend on where, or whether,
 * the presented key differs from a configured one, nor on its length. */
static bool api_key_ok(const struct orchestrator *o, const char *presented)
{
    if (presented == NULL)
        return false;
    unsigned char d[KEY_DIGEST_LEN];
    digest(presented, strlen(presented), d);
    int match = 0;
    for (size_t i = 0; i < o->cfg.orchestrator.api_keys.n; i++)
        match |= CRYPTO_memcmp(d, o->key_digests[i], KEY_DIGEST_LEN) == 0;
    return match;
}

static void pending_unlink(struct pending *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        p->o->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
}

static void on_job_done(int status, json_t *body, void *arg)
{
    struct pending *p = arg;
    pending_unlink(p);
    mpic_http_send_json(p->req, status, status == 200 ? "OK" : "Internal Server Error", body);
    free(p);
}

static void reject(struct mpic_http_request *req, json_t *issues)
{
    char buf[600];
    json_t *first = json_array_get(issues, 0);
    mpic_log(MPIC_LOG_INFO, "request_rejected", "issues=%zu first=%s", json_array_size(issues),
             mpic_log_quote(json_string_value(json_object_get(first, "issue_type")), buf, sizeof buf));
    mpic_http_send_json(req, 400, "Bad Request", mpic_validation_failed_body(issues));
}

/* The default count as the phase in force raises it; while it does, one
 * warning a UTC day says that the configuration should follow. */
static unsigned default_count(struct orchestrator *o, time_t now)
{
    const struct mpic_orchestrator_config *oc = &o->cfg.orchestrator;
    unsigned count = mpic_policy_default_count(oc->policy, now, oc->default_perspective_count);
    if (count != oc->default_perspective_count && now / 86400 != o->raised_warned_day) {
        o->raised_warned_day = now / 86400;
        mpic_log(MPIC_LOG_WARN, "policy_default_raised", "configured=%u used=%u phase=%s reason=\"the"
                 " configured default_perspective_count is below the BR 3.2.2.9 minimum in force\"",
                 oc->default_perspective_count, count, mpic_policy_phase_at(now)->effective);
    }
    return count;
}

static void handle_mpic(struct orchestrator *o, struct mpic_http_request *req)
{
    const struct mpic_orchestrator_config *oc = &o->cfg.orchestrator;
    size_t len;
    const char *body = mpic_http_body(req, &len);
    time_t now = mpic_clock_now();
    struct mpic_request_limits lim = { (unsigned)o->cfg.n_perspectives, default_count(o, now), oc->max_attempts_cap };
    struct mpic_request r;
    struct mpic_orchestration orch;
    json_t *issues = json_array();
    struct mpic_error perr;
    int parsed = mpic_request_parse(body, len, &lim, &r, &orch, issues);
    if (orch.perspective_count != 0 && mpic_policy_check_count(oc->policy, now, orch.perspective_count, &perr) != 0) {
        mpic_issue_add(issues, MPIC_ISSUE_POLICY_MINIMUM_PERSPECTIVES, "%s", perr.msg);
        parsed = -1;
    }
    if (r.check_type == MPIC_CHECK_DCV && r.has_dcv &&
        mpic_policy_check_method(oc->policy, now, mpic_dcv_method_name(r.dcv.method), &perr) != 0) {
        mpic_issue_add(issues, MPIC_ISSUE_POLICY_METHOD_SUNSET, "%s", perr.msg);
        parsed = -1;
    }
    if (parsed != 0) {
        mpic_request_free(&r);
        reject(req, issues);
        return;
    }
    size_t *cohorts = calloc(o->cfg.n_perspectives, sizeof *cohorts);
    size_t n_cohorts = 0;
    if (cohorts == NULL || mpic_cohorts_build(o->cfg.perspectives, o->cfg.n_perspectives, oc->cohort_secret,
                                              oc->cohort_secret_len, r.target_info.name, orch.perspective_count,
                                              cohorts, &n_cohorts, &perr) != 0) {
        const char *why = cohorts ? perr.msg : "out of memory";
        char q[256];
        mpic_log(MPIC_LOG_ERROR, "cohort_failed", "error=%s", mpic_log_quote(why, q, sizeof q));
        free(cohorts);
        mpic_request_free(&r);
        json_decref(issues);
        mpic_http_send_message(req, 500, "Internal Server Error", why);
        return;
    }
    if (n_cohorts == 0) {
        free(cohorts);
        mpic_request_free(&r);
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_PERSPECTIVE_COUNT,
                       "no cohort of %u perspectives can be formed from the %zu configured perspectives under the"
                       " RIR diversity and distance rules", orch.perspective_count, o->cfg.n_perspectives);
        reject(req, issues);
        return;
    }
    if (orch.cohort > n_cohorts) {
        free(cohorts);
        mpic_request_free(&r);
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_COHORT,
                       "cohort_for_single_attempt %u: this server forms %zu cohort%s of %u perspectives for this"
                       " target (numbered from 1)", orch.cohort, n_cohorts, n_cohorts == 1 ? "" : "s",
                       orch.perspective_count);
        reject(req, issues);
        return;
    }
    json_decref(issues);
    struct pending *p = calloc(1, sizeof *p);
    struct mpic_job_env env = { &o->cfg, o->base, o->dispatch, o->audit };
    if (p != NULL) {
        p->o = o;
        p->req = req;
        p->job = mpic_job_start(&env, &r, &orch, cohorts, n_cohorts, on_job_done, p);
    }
    if (p == NULL || p->job == NULL) {
        if (p == NULL)
            free(cohorts);
        free(p);
        mpic_request_free(&r);
        mpic_http_send_message(req, 500, "Internal Server Error", "cannot start the request");
        return;
    }
    p->next = o->pending;
    if (o->pending != NULL)
        o->pending->prev = p;
    o->pending = p;
}

/* "/v1/mpic", "/mpic", each with or without one trailing slash. */
static bool is_mpic_path(const char *path)
{
    if (path == NULL)
        return false;
    size_t n = strlen(path);
    if (n > 1 && path[n - 1] == '/')
        n--;
    return (n == 8 && strncmp(path, "/v1/mpic", 8) == 0) || (n == 5 && strncmp(path, "/mpic", 5) == 0);
}

/* Everything but the body is decided here, before the body is read: the key
 * of a request that has none is never worth reading 64 KiB for. */
static void on_head(struct mpic_http_request *req, void *arg)
{
    struct orchestrator *o = arg;
    const char *path = mpic_http_path(req);
    bool post = strcmp(mpic_http_method(req), "POST") == 0;
    unsigned n_keys;
    if (strcmp(path, "/healthz") == 0 && strcmp(mpic_http_method(req), "GET") == 0) {
        mpic_http_send_json(req, 200, "OK", json_pack("{s:s, s:i, s:I}", "status", "ok", "perspectives",
                                                      (int)o->cfg.n_perspectives, "audit_failures",
                                                      (json_int_t)mpic_audit_failures(o->audit)));
        return;
    }
    if (!is_mpic_path(path)) {
        mpic_http_send_message(req, 404, "Not Found", "Not Found");
        return;
    }
    const char *key = mpic_http_header(req, "x-api-key", &n_keys);
    if (n_keys > 1) {   /* which one would a proxy in front of us have checked? */
        mpic_http_send_message(req, 400, "Bad Request", "repeated x-api-key header");
        return;
    }
    if (!api_key_ok(o, key)) {
        mpic_http_send_message(req, 403, "Forbidden", "Forbidden");
        return;
    }
    if (!post) {
        mpic_http_add_header(req, "Allow", "POST");
        mpic_http_send_message(req, 405, "Method Not Allowed", "use POST");
    }
}

static void on_request(struct mpic_http_request *req, void *arg)
{
    handle_mpic(arg, req);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct orchestrator *o = arg;
    mpic_log(MPIC_LOG_INFO, "shutdown", "signal=%d", (int)sig);
    event_base_loopexit(o->base, NULL);
}

static int start(struct orchestrator *o)
{
    struct mpic_error err;
    const struct mpic_orchestrator_config *oc = &o->cfg.orchestrator;
    o->key_digests = calloc(oc->api_keys.n, sizeof *o->key_digests);
    o->base = event_base_new();
    if (o->key_digests == NULL || o->base == NULL || mpic_log_attach(o->base) != 0) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"out of memory\"");
        return -1;
    }
    for (size_t i = 0; i < oc->api_keys.n; i++)
        digest(oc->api_keys.v[i], strlen(oc->api_keys.v[i]), o->key_digests[i]);
    o->dispatch = mpic_dispatch_new(o->base, &oc->agent_tls, &err);
    if (o->dispatch == NULL) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"%s\"", err.msg);
        return -1;
    }
    if (oc->audit_log_path != NULL &&
        (o->audit = mpic_audit_open(o->base, oc->audit_log_path, oc->audit_fsync, &err)) == NULL) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"%s\"", err.msg);
        return -1;
    }
    if (o->audit == NULL)
        mpic_log(MPIC_LOG_WARN, "audit_log_disabled", "policy=%s message=\"no BR 5.4.1 record is kept:"
                 " orchestrator.audit_log is not set\"", mpic_policy_profile_name(oc->policy));
    if (oc->https) {
        o->ssl_ctx = mpic_tls_server_ctx(oc->tls_cert, oc->tls_key, NULL, &err);
        if (o->ssl_ctx == NULL) {
            mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"%s\"", err.msg);
            return -1;
        }
    }
    struct mpic_http_server_config hc = {
        .host = oc->listen_host, .port = oc->listen_port, .ssl_ctx = o->ssl_ctx, .limits = &oc->http,
        .max_body_bytes = oc->max_body_bytes, .on_head = on_head, .on_request = on_request, .arg = o,
    };
    if ((o->http = mpic_http_server_new(o->base, &hc, &err)) == NULL) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"%s\"", err.msg);
        return -1;
    }
    o->sigterm = evsignal_new(o->base, SIGTERM, on_signal, o);
    o->sigint = evsignal_new(o->base, SIGINT, on_signal, o);
    evsignal_add(o->sigterm, NULL);
    evsignal_add(o->sigint, NULL);
    mpic_log(MPIC_LOG_INFO, "listening", "address=%s port=%u scheme=%s perspectives=%zu default_count=%u",
             oc->listen_host, oc->listen_port, oc->https ? "https" : "http", o->cfg.n_perspectives,
             oc->default_perspective_count);
    return 0;
}

static void stop(struct orchestrator *o)
{
    while (o->pending != NULL) {
        struct pending *p = o->pending;
        pending_unlink(p);
        mpic_job_cancel(p->job);
        free(p);
    }
    mpic_http_server_free(o->http);
    mpic_dispatch_free(o->dispatch);
    mpic_audit_close(o->audit);
    if (o->sigterm != NULL)
        event_free(o->sigterm);
    if (o->sigint != NULL)
        event_free(o->sigint);
    mpic_log_detach();
    if (o->ssl_ctx != NULL)
        SSL_CTX_free(o->ssl_ctx);
    if (o->base != NULL)
        event_base_free(o->base);
    free(o->key_digests);
    mpic_config_free(&o->cfg);
}

/* Refuses a deployment that cannot meet the BR phase in force; warns (log
 * and -t) of a default count the phase raises and within 30 days of a
 * stricter phase it will not meet; -t also refuses a catalogue that cannot
 * field the next phase at all. */
static int check_policy(const struct mpic_config *c, bool print)
{
    const struct mpic_orchestrator_config *oc = &c->orchestrator;
    time_t now = mpic_clock_now();
    struct mpic_error err;
    int rc = mpic_policy_check_deployment(oc->policy, now, (unsigned)c->n_perspectives,
                                          oc->default_perspective_count, &err);
    const struct mpic_br_phase *ph = mpic_policy_phase_at(now), *next = mpic_policy_next_phase(now);
    if (print) {
        printf("policy %s: ", mpic_policy_profile_name(oc->policy));
        if (ph != NULL)
            printf("BR 3.2.2.9 phase of %s in force (at least %u remote perspectives)", ph->effective,
                   ph->min_remote);
        if (next != NULL)
            printf("; next phase %s (at least %u) in %lld days", next->effective, next->min_remote,
                   (long long)((next->start - now + 86399) / 86400));
        printf("\n");
        const struct mpic_method_sunset *s;
        for (size_t i = 0; oc->policy == MPIC_PROFILE_CABF_BR && (s = mpic_policy_sunset(i)) != NULL; i++)
            printf("validation_method %s (BR %s): %s %s\n", s->method, s->section,
                   mpic_policy_check_method(oc->policy, now, s->method, NULL) != 0 ? "refused since" : "refused from",
                   s->effective);
    }
    if (rc < 0) {
        fprintf(stderr, "mpic-orchestrator: %s: orchestrator.policy: %s\n", c->path, err.msg);
        return -1;
    }
    if (rc > 0) {
        if (print)
            printf("WARNING: %s\n", err.msg);
        mpic_log(MPIC_LOG_WARN, "policy_phase_warning", "message=\"%s\"", err.msg);
    }
    if (print && mpic_policy_check_next_phase(oc->policy, now, c->perspectives, c->n_perspectives, &err) != 0) {
        fprintf(stderr, "mpic-orchestrator: %s: perspectives: %s\n", c->path, err.msg);
        return -1;
    }
    return 0;
}

static void print_summary(const char *path, const struct mpic_config *c)
{
    unsigned rirs = 0;
    for (size_t i = 0; i < c->n_perspectives; i++)
        rirs |= 1u << c->perspectives[i].rir;
    printf("%s: configuration OK: %zu perspectives over %d RIRs, default perspective count %u,"
           " max attempts %u, %zu API key(s), listen %s:%u (%s)\n",
           path, c->n_perspectives, __builtin_popcount(rirs), c->orchestrator.default_perspective_count,
           c->orchestrator.max_attempts_cap, c->orchestrator.api_keys.n, c->orchestrator.listen_host,
           c->orchestrator.listen_port, c->orchestrator.https ? "https" : "http");
    mpic_http_limits_print(path, &c->orchestrator.http, c->orchestrator.max_body_bytes);
    for (size_t i = 0; i < c->computed_too_close.n; i++)
        printf("too close (never in one cohort): %s\n", c->computed_too_close.v[i]);
    if (c->orchestrator.primary != NULL)
        printf("primary perspective: %s (%s)%s\n", c->orchestrator.primary->code, c->orchestrator.primary->url,
               c->orchestrator.require_primary ? ", required for a valid answer" : ", reported only");
    if (c->orchestrator.audit_log_path != NULL)
        printf("audit log: %s (%s)\n", c->orchestrator.audit_log_path,
               c->orchestrator.audit_fsync ? "fsync per-request: each answer waits until its records are synced"
                                           : "fsync none: each answer waits until its records are written,"
                                             " the OS syncs when it likes");
    else
        printf("audit log: none (WARNING: no BR 5.4.1 record is kept)\n");
}

/* BR 5.4.1 requires a record of every MPIC attempt: under cabf-br there is
 * no answer without one, so no start without an audit log. */
static int check_audit(const struct mpic_config *c)
{
    if (c->orchestrator.audit_log_path != NULL || c->orchestrator.policy != MPIC_PROFILE_CABF_BR)
        return 0;
    fprintf(stderr, "mpic-orchestrator: %s: orchestrator.audit_log: required under the cabf-br policy"
            " (BR 5.4.1 records of every MPIC attempt): set {\"path\": FILE}\n", c->path);
    return -1;
}

/* A catalogue whose distance and RIR rules leave no cohort of the default
 * size (as the phase in force raises it) would answer every default request
 * with a 400: refuse to start. */
static int check_cohorts(const struct mpic_config *c)
{
    const struct mpic_orchestrator_config *oc = &c->orchestrator;
    unsigned count = mpic_policy_default_count(oc->policy, mpic_clock_now(), oc->default_perspective_count);
    size_t *out = calloc(c->n_perspectives, sizeof *out);
    size_t n = 0;
    struct mpic_error err;
    int rc = out ? mpic_cohorts_build(c->perspectives, c->n_perspectives, oc->cohort_secret, oc->cohort_secret_len,
                                      "cohort-check.invalid", count, out, &n, &err)
                 : mpic_error_set(&err, "out of memory");
    free(out);
    if (rc != 0) {
        fprintf(stderr, "mpic-orchestrator: %s: %s\n", c->path, err.msg);
        return -1;
    }
    if (n > 0)
        return 0;
    fprintf(stderr, "mpic-orchestrator: %s: orchestrator.default_perspective_count: no cohort of %u perspectives"
            " spans two RIRs without a too-close pair in this catalogue\n", c->path, count);
    return -1;
}

int main(int argc, char **argv)
{
    const char *config;
    bool check_only;
    int status;
    if (!mpic_daemon_args(argc, argv, "mpic-orchestrator", &config, &check_only, &status))
        return status;
    struct orchestrator o = { 0 };
    struct mpic_error err;
    mpic_log_init("mpic-orchestrator", MPIC_LOG_INFO);
    if (mpic_clock_init("mpic-orchestrator") != 0)
        return 1;
    if (mpic_config_load(config, MPIC_ROLE_ORCHESTRATOR, &o.cfg, &err) != 0) {
        fprintf(stderr, "mpic-orchestrator: %s\n", err.msg);
        return 1;
    }
    if (check_only)
        print_summary(config, &o.cfg);
    int policy_rc = check_policy(&o.cfg, check_only);
    if (policy_rc == 0)
        policy_rc = check_cohorts(&o.cfg);
    if (policy_rc == 0)
        policy_rc = check_audit(&o.cfg);
    if (check_only || policy_rc != 0) {
        mpic_config_free(&o.cfg);
        return policy_rc != 0 ? 1 : 0;
    }
    enum mpic_log_level lvl;
    if (o.cfg.log_level != NULL && mpic_log_level_parse(o.cfg.log_level, &lvl) == 0)
        mpic_log_init("mpic-orchestrator", lvl);
    signal(SIGPIPE, SIG_IGN);
    /* Past a file size limit (RLIMIT_FSIZE) the audit write must fail with
     * EFBIG and be answered 500, not kill the process with SIGXFSZ. */
    signal(SIGXFSZ, SIG_IGN);
    int rc = 1;
    if (start(&o) == 0 && event_base_dispatch(o.base) == 0)
        rc = 0;
    stop(&o);
    return rc;
}
