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
/* Each agent's /healthz is asked this often, for /readyz. */
#define PROBE_MS 3000
/* While draining, how often the server is looked at. */
#define DRAIN_POLL_MS 50

struct pending;

/* A configuration as loaded, with what is built from it. A request holds
 * the snapshot it started with until it is answered, so a reload (SIGHUP)
 * changes only what later requests see. */
struct snapshot {
    unsigned refs;
    struct mpic_config cfg;
    unsigned char (*key_digests)[KEY_DIGEST_LEN];
    struct mpic_dispatch *dispatch;    /* agent client certificates of this configuration */
};

/* The last /healthz probe of one perspective of the current snapshot. */
struct probe {
    struct orchestrator *o;
    const struct mpic_perspective *p;
    struct mpic_call *call;            /* while asking */
    bool up;
};

struct orchestrator {
    const char *config_path;
    struct snapshot *snap;             /* for new requests */
    struct event_base *base;
    struct mpic_http_server *http;
    SSL_CTX *ssl_ctx;                  /* client-facing HTTPS, when configured */
    struct mpic_audit *audit;
    struct mpic_metrics *metrics;
    struct event *sigterm, *sigint, *sighup, *drain, *probe_timer;
    struct probe *probes;              /* one per perspective of snap */
    bool draining;
    int64_t drain_deadline_ns;         /* monotonic */
    unsigned long reloads_ok, reloads_failed;
    struct pending *pending;           /* requests waiting for their job */
    unsigned n_pending;
    time_t raised_warned_day;          /* UTC day (days since the epoch) of the last default_raised warning */
};

/* A client request whose job is running. */
struct pending {
    struct orchestrator *o;
    struct snapshot *snap;
    struct mpic_http_request *req;
    struct mpic_job *job;
    const char *check_type, *method;   /* for the metrics */
    int64_t started_ns;
    struct pending *prev, *next;
};

static void digest(const char *s, size_t len, unsigned char out[KEY_DIGEST_LEN])
{
    unsigned int n = KEY_DIGEST_LEN;
    EVP_Digest(s, len, out, &n, EVP_sha256(), NULL);
}

/* Compares digests so the time taken does not depend on where, or whether,
 * the presented key differs from a configured one, nor on its length. */
static bool api_key_ok(const struct snapshot *sn, const char *presented)
{
    if (presented == NULL)
        return false;
    unsigned char d[KEY_DIGEST_LEN];
    digest(presented, strlen(presented), d);
    int match = 0;
    for (size_t i = 0; i < sn->cfg.orchestrator.api_keys.n; i++)
        match |= CRYPTO_memcmp(d, sn->key_digests[i], KEY_DIGEST_LEN) == 0;
    return match;
}

static void snapshot_unref(struct snapshot *sn)
{
    if (sn == NULL || --sn->refs > 0)
        return;
    mpic_dispatch_free(sn->dispatch);
    free(sn->key_digests);
    mpic_config_free(&sn->cfg);
    free(sn);
}

static void pending_unlink(struct pending *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        p->o->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    p->o->n_pending--;
}

static void pending_free(struct pending *p)
{
    snapshot_unref(p->snap);
    free(p);
}

static void on_job_done(int status, json_t *body, void *arg)
{
    struct pending *p = arg;
    pending_unlink(p);
    const char *result = status != 200 ? "500" : json_is_true(json_object_get(body, "is_valid")) ? "valid" : "invalid";
    mpic_metrics_request(p->o->metrics, p->check_type, p->method, result,
                         (mpic_clock_mono_ns() - p->started_ns) / 1e9);
    mpic_http_send_json(p->req, status, status == 200 ? "OK" : "Internal Server Error", body);
    pending_free(p);
}

static void reject(struct orchestrator *o, struct mpic_http_request *req, json_t *issues)
{
    char buf[600];
    mpic_metrics_request(o->metrics, "unknown", "-", "400", -1);
    json_t *first = json_array_get(issues, 0);
    mpic_log(MPIC_LOG_INFO, "request_rejected", "issues=%zu first=%s", json_array_size(issues),
             mpic_log_quote(json_string_value(json_object_get(first, "issue_type")), buf, sizeof buf));
    mpic_http_send_json(req, 400, "Bad Request", mpic_validation_failed_body(issues));
}

/* The default count as the phase in force raises it; while it does, one
 * warning a UTC day says that the configuration should follow. */
static unsigned default_count(struct orchestrator *o, time_t now)
{
    const struct mpic_orchestrator_config *oc = &o->snap->cfg.orchestrator;
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
    struct snapshot *sn = o->snap;
    const struct mpic_config *cfg = &sn->cfg;
    const struct mpic_orchestrator_config *oc = &cfg->orchestrator;
    size_t len;
    const char *body = mpic_http_body(req, &len);
    time_t now = mpic_clock_now();
    struct mpic_request_limits lim = { (unsigned)cfg->n_perspectives, default_count(o, now), oc->max_attempts_cap };
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
        reject(o, req, issues);
        return;
    }
    size_t *cohorts = calloc(cfg->n_perspectives, sizeof *cohorts);
    size_t n_cohorts = 0;
    if (cohorts == NULL || mpic_cohorts_build(cfg->perspectives, cfg->n_perspectives, oc->cohort_secret,
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
                       " RIR diversity and distance rules", orch.perspective_count, cfg->n_perspectives);
        reject(o, req, issues);
        return;
    }
    if (orch.cohort > n_cohorts) {
        free(cohorts);
        mpic_request_free(&r);
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_COHORT,
                       "cohort_for_single_attempt %u: this server forms %zu cohort%s of %u perspectives for this"
                       " target (numbered from 1)", orch.cohort, n_cohorts, n_cohorts == 1 ? "" : "s",
                       orch.perspective_count);
        reject(o, req, issues);
        return;
    }
    json_decref(issues);
    struct pending *p = calloc(1, sizeof *p);
    struct mpic_job_env env = { cfg, o->base, sn->dispatch, o->audit, o->metrics };
    if (p != NULL) {
        p->o = o;
        p->snap = sn;
        sn->refs++;
        p->req = req;
        p->check_type = mpic_check_type_name(r.check_type);
        p->method = r.check_type == MPIC_CHECK_DCV ? mpic_dcv_method_name(r.dcv.method) : "-";
        p->started_ns = mpic_clock_mono_ns();
        p->job = mpic_job_start(&env, &r, &orch, cohorts, n_cohorts, on_job_done, p);
    }
    if (p == NULL || p->job == NULL) {
        if (p == NULL)
            free(cohorts);
        else
            pending_free(p);
        mpic_request_free(&r);
        mpic_http_send_message(req, 500, "Internal Server Error", "cannot start the request");
        return;
    }
    p->next = o->pending;
    if (o->pending != NULL)
        o->pending->prev = p;
    o->pending = p;
    o->n_pending++;
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

/* Readiness: enough agents answered their last probe to field the
 * minimum of the BR phase in force, over two RIRs. */
static bool ready(const struct orchestrator *o, char *why, size_t len)
{
    const struct mpic_config *c = &o->snap->cfg;
    const struct mpic_br_phase *ph = mpic_policy_phase_at(mpic_clock_now());
    unsigned need = ph != NULL && ph->min_remote > 2 ? ph->min_remote : 2, up = 0, rirs = 0;
    for (size_t i = 0; i < c->n_perspectives; i++)
        if (o->probes[i].up) {
            up++;
            rirs |= 1u << c->perspectives[i].rir;
        }
    if (o->draining)
        snprintf(why, len, "shutting down");
    else if (up < need)
        snprintf(why, len, "%u of %zu agents reachable, %u needed", up, c->n_perspectives, need);
    else if (__builtin_popcount(rirs) < 2)
        snprintf(why, len, "the reachable agents span one RIR, two are needed");
    else
        return true;
    return false;
}

static void on_probe(long status, const char *body, size_t len, const char *error, void *arg)
{
    struct probe *pr = arg;
    pr->call = NULL;
    bool up = error == NULL && status == 200;
    if (up != pr->up)
        mpic_log(up ? MPIC_LOG_INFO : MPIC_LOG_WARN, up ? "agent_up" : "agent_down", "perspective=%s error=\"%s\"",
                 pr->p->code, up ? "-" : error ? error : "HTTP status not 200");
    pr->up = up;
}

static void probes_stop(struct orchestrator *o)
{
    for (size_t i = 0; o->probes != NULL && i < o->snap->cfg.n_perspectives; i++)
        if (o->probes[i].call != NULL)
            mpic_call_cancel(o->probes[i].call);
    free(o->probes);
    o->probes = NULL;
}

static void on_probe_timer(evutil_socket_t fd, short what, void *arg)
{
    struct orchestrator *o = arg;
    for (size_t i = 0; i < o->snap->cfg.n_perspectives; i++) {
        struct probe *pr = &o->probes[i];
        if (pr->call == NULL)
            pr->call = mpic_dispatch_post(o->snap->dispatch, pr->p, "/healthz", NULL, PROBE_MS, on_probe, pr);
    }
    struct timeval tv = { PROBE_MS / 1000, (PROBE_MS % 1000) * 1000 };
    evtimer_add(o->probe_timer, &tv);
}

/* Probes for the perspectives of o->snap, asked at once; those of a
 * previous snapshot carry over their state by perspective code. */
static int probes_start(struct orchestrator *o, const struct probe *old, const struct mpic_config *old_cfg)
{
    const struct mpic_config *c = &o->snap->cfg;
    if ((o->probes = calloc(c->n_perspectives + 1, sizeof *o->probes)) == NULL)
        return -1;
    for (size_t i = 0; i < c->n_perspectives; i++) {
        o->probes[i] = (struct probe){ o, &c->perspectives[i], NULL, false };
        for (size_t k = 0; old != NULL && k < old_cfg->n_perspectives; k++)
            if (strcmp(old_cfg->perspectives[k].code, c->perspectives[i].code) == 0)
                o->probes[i].up = old[k].up;
    }
    evtimer_del(o->probe_timer);
    event_active(o->probe_timer, EV_TIMEOUT, 0);
    return 0;
}

static void send_metrics(struct orchestrator *o, struct mpic_http_request *req)
{
    struct evbuffer *out = evbuffer_new();
    if (out == NULL) {
        mpic_http_send_message(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    time_t now = mpic_clock_now();
    const struct mpic_config *c = &o->snap->cfg;
    const struct mpic_br_phase *ph = mpic_policy_phase_at(now), *next = mpic_policy_next_phase(now);
    mpic_metrics_render(o->metrics, out);
    mpic_metrics_gauge(out, "mpic_requests_in_flight", "Requests whose job is running", o->n_pending);
    mpic_metrics_gauge(out, "mpic_br_min_perspectives", "BR 3.2.2.9 minimum of remote perspectives in force",
                       ph ? ph->min_remote : 0);
    mpic_metrics_gauge(out, "mpic_br_next_phase_days", "Days until the next BR 3.2.2.9 phase (-1: none)",
                       next ? (double)((next->start - now + 86399) / 86400) : -1);
    mpic_metrics_gauge(out, "mpic_perspectives_configured", "Perspectives in the configuration",
                       (double)c->n_perspectives);
    evbuffer_add_printf(out, "# HELP mpic_agent_up Whether the agent answered its last /healthz probe\n"
                        "# TYPE mpic_agent_up gauge\n");
    for (size_t i = 0; i < c->n_perspectives; i++)
        evbuffer_add_printf(out, "mpic_agent_up{perspective=\"%s\"} %d\n", c->perspectives[i].code,
                            o->probes[i].up);
    evbuffer_add_printf(out, "# HELP mpic_config_reloads_total SIGHUP reloads by result\n"
                        "# TYPE mpic_config_reloads_total counter\n"
                        "mpic_config_reloads_total{result=\"ok\"} %lu\nmpic_config_reloads_total{result=\"failed\"} %lu\n",
                        o->reloads_ok, o->reloads_failed);
    evbuffer_add_printf(out, "# HELP mpic_audit_failures_total Requests whose audit records could not be written\n"
                        "# TYPE mpic_audit_failures_total counter\nmpic_audit_failures_total %lu\n",
                        mpic_audit_failures(o->audit));
    evbuffer_add_printf(out, "# HELP mpic_build_info The running build\n# TYPE mpic_build_info gauge\n"
                        "mpic_build_info{version=\"%s\",policy=\"%s\"} 1\n", MPIC_VERSION,
                        mpic_policy_profile_name(c->orchestrator.policy));
    size_t len = evbuffer_get_length(out);
    const char *text = (const char *)evbuffer_pullup(out, -1);
    mpic_http_reply_as(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text ? text : "", text ? len : 0);
    evbuffer_free(out);
}

/* Everything but the body is decided here, before the body is read: the key
 * of a request that has none is never worth reading 64 KiB for. */
static void on_head(struct mpic_http_request *req, void *arg)
{
    struct orchestrator *o = arg;
    const char *path = mpic_http_path(req);
    bool post = strcmp(mpic_http_method(req), "POST") == 0, get = strcmp(mpic_http_method(req), "GET") == 0;
    unsigned n_keys;
    char why[160];
    if (strcmp(path, "/healthz") == 0 && get) {
        mpic_http_send_json(req, 200, "OK", json_pack("{s:s, s:i, s:I}", "status", "ok", "perspectives",
                                                      (int)o->snap->cfg.n_perspectives, "audit_failures",
                                                      (json_int_t)mpic_audit_failures(o->audit)));
        return;
    }
    if (strcmp(path, "/readyz") == 0 && get) {
        if (ready(o, why, sizeof why))
            mpic_http_send_json(req, 200, "OK", json_pack("{s:b}", "ready", 1));
        else
            mpic_http_send_json(req, 503, "Service Unavailable", json_pack("{s:b, s:s}", "ready", 0, "reason", why));
        return;
    }
    if (strcmp(path, "/metrics") == 0 && get) {
        send_metrics(o, req);
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
    if (!api_key_ok(o->snap, key)) {
        mpic_metrics_request(o->metrics, "unknown", "-", "403", -1);
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

static void on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
    struct orchestrator *o = arg;
    unsigned busy = mpic_http_server_busy(o->http);
    if (busy == 0 && o->pending == NULL) {
        mpic_log(MPIC_LOG_INFO, "drained", "message=\"every request in flight was answered\"");
        event_base_loopexit(o->base, NULL);
        return;
    }
    if (mpic_clock_mono_ns() >= o->drain_deadline_ns) {
        mpic_log(MPIC_LOG_WARN, "drain_timeout", "requests=%u", busy);
        event_base_loopexit(o->base, NULL);
        return;
    }
    struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
    evtimer_add(o->drain, &tv);
}

/* SIGTERM, SIGINT: no new connections; requests in flight are answered
 * (within the request deadline, and a second for their audit records),
 * then the loop ends. A second signal ends it at once. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct orchestrator *o = arg;
    mpic_log(MPIC_LOG_INFO, "shutdown", "signal=%d inflight=%u%s", (int)sig, o->n_pending,
             o->draining ? " message=\"second signal: not waiting\"" : "");
    if (o->draining) {
        event_base_loopexit(o->base, NULL);
        return;
    }
    o->draining = true;
    mpic_http_server_drain(o->http);
    evtimer_del(o->probe_timer);
    o->drain_deadline_ns = mpic_clock_mono_ns() + ((int64_t)o->snap->cfg.orchestrator.request_timeout_ms + 1000) * 1000000;
    on_drain_timer(-1, 0, o);
}

static int check_policy(const struct mpic_config *c, bool print, struct mpic_error *err);
static int check_cohorts(const struct mpic_config *c, struct mpic_error *err);
static int check_audit(const struct mpic_config *c, struct mpic_error *err);
static void print_summary(const char *path, const struct mpic_config *c);

/* Loads and checks a configuration as start-up and -t do; with base, also
 * builds its agent client. */
static struct snapshot *snapshot_load(const char *path, struct event_base *base, bool print, struct mpic_error *err)
{
    struct snapshot *sn = calloc(1, sizeof *sn);
    if (sn == NULL) {
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    sn->refs = 1;
    if (mpic_config_load(path, MPIC_ROLE_ORCHESTRATOR, &sn->cfg, err) != 0) {
        free(sn);
        return NULL;
    }
    const struct mpic_orchestrator_config *oc = &sn->cfg.orchestrator;
    if (print)
        print_summary(path, &sn->cfg);
    if (check_policy(&sn->cfg, print, err) != 0 || check_cohorts(&sn->cfg, err) != 0 ||
        check_audit(&sn->cfg, err) != 0) {
        snapshot_unref(sn);
        return NULL;
    }
    if ((sn->key_digests = calloc(oc->api_keys.n + 1, sizeof *sn->key_digests)) == NULL) {
        mpic_error_set(err, "out of memory");
        snapshot_unref(sn);
        return NULL;
    }
    for (size_t i = 0; i < oc->api_keys.n; i++)
        digest(oc->api_keys.v[i], strlen(oc->api_keys.v[i]), sn->key_digests[i]);
    if (base != NULL && (sn->dispatch = mpic_dispatch_new(base, &oc->agent_tls, oc->agent_connections, err)) == NULL) {
        snapshot_unref(sn);
        return NULL;
    }
    return sn;
}

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* SIGHUP: a configuration that loads and passes the start-up checks
 * replaces the current one for new requests and connections; one that does
 * not is refused with one error line. The audit log is reopened either way
 * (logrotate). What is bound at start-up stays. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct orchestrator *o = arg;
    struct mpic_error err;
    if (o->audit != NULL)
        mpic_audit_reopen(o->audit);
    struct snapshot *sn = snapshot_load(o->config_path, o->base, false, &err);
    SSL_CTX *ctx = NULL;
    if (sn != NULL && sn->cfg.orchestrator.https && o->ssl_ctx != NULL &&
        (ctx = mpic_tls_server_ctx(sn->cfg.orchestrator.tls_cert, sn->cfg.orchestrator.tls_key, NULL, &err)) == NULL) {
        snapshot_unref(sn);
        sn = NULL;
    }
    if (sn == NULL) {
        o->reloads_failed++;
        mpic_log(MPIC_LOG_ERROR, "reload_failed", "config=%s error=\"%s\" message=\"the running configuration is"
                 " kept\"", o->config_path, err.msg);
        return;
    }
    const struct mpic_orchestrator_config *now = &o->snap->cfg.orchestrator, *next = &sn->cfg.orchestrator;
    if (str_differs(now->listen_host, next->listen_host) || now->listen_port != next->listen_port ||
        now->https != next->https)
        mpic_log(MPIC_LOG_WARN, "reload_restart_needed", "setting=listen message=\"the listen address and scheme"
                 " change only on a restart; still %s:%u\"", now->listen_host, now->listen_port);
    if (str_differs(now->audit_log_path, next->audit_log_path) || now->audit_fsync != next->audit_fsync)
        mpic_log(MPIC_LOG_WARN, "reload_restart_needed", "setting=audit_log message=\"the audit log path and"
                 " fsync change only on a restart\"");
    if (ctx != NULL) {
        mpic_http_server_set_ssl_ctx(o->http, ctx);
        SSL_CTX_free(o->ssl_ctx);
        o->ssl_ctx = ctx;
    }
    struct snapshot *old = o->snap;
    struct probe *old_probes = o->probes;
    o->probes = NULL;
    for (size_t i = 0; old_probes != NULL && i < old->cfg.n_perspectives; i++)
        if (old_probes[i].call != NULL)
            mpic_call_cancel(old_probes[i].call);
    o->snap = sn;
    if (probes_start(o, old_probes, &old->cfg) != 0)
        mpic_log(MPIC_LOG_ERROR, "reload_probes_failed", "error=\"out of memory\"");
    free(old_probes);
    enum mpic_log_level lvl;
    if (sn->cfg.log_level != NULL && mpic_log_level_parse(sn->cfg.log_level, &lvl) == 0)
        mpic_log_init("mpic-orchestrator", lvl);
    o->reloads_ok++;
    mpic_log(MPIC_LOG_INFO, "config_reloaded", "config=%s perspectives=%zu api_keys=%zu default_count=%u"
             " requests_on_previous=%u", o->config_path, sn->cfg.n_perspectives, next->api_keys.n,
             next->default_perspective_count, old->refs - 1);
    snapshot_unref(old);
}

static int start(struct orchestrator *o)
{
    struct mpic_error err;
    const struct mpic_orchestrator_config *oc = &o->snap->cfg.orchestrator;
    o->base = event_base_new();
    o->metrics = mpic_metrics_new();
    if (o->metrics == NULL || o->base == NULL || mpic_log_attach(o->base) != 0) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"out of memory\"");
        return -1;
    }
    o->snap->dispatch = mpic_dispatch_new(o->base, &oc->agent_tls, oc->agent_connections, &err);
    if (o->snap->dispatch == NULL) {
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
        .other_fds = oc->agent_connections * (unsigned)(o->snap->cfg.n_perspectives + (oc->primary != NULL)),
    };
    if ((o->http = mpic_http_server_new(o->base, &hc, &err)) == NULL) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"%s\"", err.msg);
        return -1;
    }
    o->sigterm = evsignal_new(o->base, SIGTERM, on_signal, o);
    o->sigint = evsignal_new(o->base, SIGINT, on_signal, o);
    o->sighup = evsignal_new(o->base, SIGHUP, on_hup, o);
    o->drain = evtimer_new(o->base, on_drain_timer, o);
    o->probe_timer = evtimer_new(o->base, on_probe_timer, o);
    if (o->sigterm == NULL || o->sigint == NULL || o->sighup == NULL || o->drain == NULL || o->probe_timer == NULL ||
        probes_start(o, NULL, NULL) != 0) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"out of memory\"");
        return -1;
    }
    evsignal_add(o->sigterm, NULL);
    evsignal_add(o->sigint, NULL);
    evsignal_add(o->sighup, NULL);
    mpic_log(MPIC_LOG_INFO, "listening", "address=%s port=%u scheme=%s perspectives=%zu default_count=%u",
             oc->listen_host, oc->listen_port, oc->https ? "https" : "http", o->snap->cfg.n_perspectives,
             oc->default_perspective_count);
    return 0;
}

static void stop(struct orchestrator *o)
{
    while (o->pending != NULL) {
        struct pending *p = o->pending;
        pending_unlink(p);
        mpic_job_cancel(p->job);
        pending_free(p);
    }
    if (o->snap != NULL)
        probes_stop(o);
    mpic_http_server_free(o->http);
    mpic_audit_close(o->audit);
    snapshot_unref(o->snap);
    struct event *evs[] = { o->sigterm, o->sigint, o->sighup, o->drain, o->probe_timer };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    mpic_log_detach();
    if (o->ssl_ctx != NULL)
        SSL_CTX_free(o->ssl_ctx);
    mpic_metrics_free(o->metrics);
    if (o->base != NULL)
        event_base_free(o->base);
}

/* Refuses a deployment that cannot meet the BR phase in force; warns (log
 * and -t) of a default count the phase raises and within 30 days of a
 * stricter phase it will not meet; -t also refuses a catalogue that cannot
 * field the next phase at all. */
static int check_policy(const struct mpic_config *c, bool print, struct mpic_error *e)
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
        mpic_error_set(e, "%s: orchestrator.policy: %s", c->path, err.msg);
        return -1;
    }
    if (rc > 0) {
        if (print)
            printf("WARNING: %s\n", err.msg);
        mpic_log(MPIC_LOG_WARN, "policy_phase_warning", "message=\"%s\"", err.msg);
    }
    if (print && mpic_policy_check_next_phase(oc->policy, now, c->perspectives, c->n_perspectives, &err) != 0) {
        mpic_error_set(e, "%s: perspectives: %s", c->path, err.msg);
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
    printf("%s: agent calls: at most %u at once per agent, each on a kept-alive connection; more wait in order\n",
           path, c->orchestrator.agent_connections);
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
static int check_audit(const struct mpic_config *c, struct mpic_error *err)
{
    if (c->orchestrator.audit_log_path != NULL || c->orchestrator.policy != MPIC_PROFILE_CABF_BR)
        return 0;
    mpic_error_set(err, "%s: orchestrator.audit_log: required under the cabf-br policy"
                   " (BR 5.4.1 records of every MPIC attempt): set {\"path\": FILE}", c->path);
    return -1;
}

/* A catalogue whose distance and RIR rules leave no cohort of the default
 * size (as the phase in force raises it) would answer every default request
 * with a 400: refuse to start. */
static int check_cohorts(const struct mpic_config *c, struct mpic_error *err)
{
    const struct mpic_orchestrator_config *oc = &c->orchestrator;
    unsigned count = mpic_policy_default_count(oc->policy, mpic_clock_now(), oc->default_perspective_count);
    size_t *out = calloc(c->n_perspectives, sizeof *out);
    size_t n = 0;
    struct mpic_error e;
    int rc = out ? mpic_cohorts_build(c->perspectives, c->n_perspectives, oc->cohort_secret, oc->cohort_secret_len,
                                      "cohort-check.invalid", count, out, &n, &e)
                 : mpic_error_set(&e, "out of memory");
    free(out);
    if (rc != 0) {
        mpic_error_set(err, "%s: %s", c->path, e.msg);
        return -1;
    }
    if (n > 0)
        return 0;
    mpic_error_set(err, "%s: orchestrator.default_perspective_count: no cohort of %u perspectives"
                   " spans two RIRs without a too-close pair in this catalogue", c->path, count);
    return -1;
}

int main(int argc, char **argv)
{
    const char *config;
    bool check_only;
    int status;
    if (!mpic_daemon_args(argc, argv, "mpic-orchestrator", &config, &check_only, &status))
        return status;
    struct orchestrator o = { .config_path = config };
    struct mpic_error err;
    mpic_log_init("mpic-orchestrator", MPIC_LOG_INFO);
    if (mpic_clock_init("mpic-orchestrator") != 0)
        return 1;
    if ((o.snap = snapshot_load(config, NULL, check_only, &err)) == NULL) {
        fprintf(stderr, "mpic-orchestrator: %s\n", err.msg);
        return 1;
    }
    if (check_only) {
        snapshot_unref(o.snap);
        return 0;
    }
    enum mpic_log_level lvl;
    if (o.snap->cfg.log_level != NULL && mpic_log_level_parse(o.snap->cfg.log_level, &lvl) == 0)
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
