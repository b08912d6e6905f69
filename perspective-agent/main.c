/* mpic-agent: one remote perspective. An HTTPS server that only talks to
 * holders of a client certificate from the configured CA (the orchestrator),
 * runs checks with its own resolver, and answers with the check_response of
 * the Open MPIC wire model wrapped in the agent protocol. */
#include <errno.h>
#include <stddef.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checks.h"
#include "clock.h"
#include "curl_loop.h"
#include "config.h"
#include "args.h"
#include "httpd.h"
#ifdef MPIC_LAB_BEHAVIOUR
#include "lab_behaviour_agent.h"
#endif
#include "log.h"
#include "log_loop.h"
#include "resolver.h"
#include "tls.h"
#include "wire.h"

#define DRAIN_POLL_MS 50

/* A configuration as loaded, with its resolver. Each check holds the one it
 * started with, and so does the TLS context built from it (whose handshakes
 * check the orchestrator's identity against it): a reload (SIGHUP) changes
 * only later checks and connections. */
struct conf {
    unsigned refs;
    struct mpic_config cfg;
    struct mpic_resolver *resolver;
};

struct agent {
    const char *config_path;
    struct conf *conf;              /* for new checks */
    struct event_base *base;
    struct mpic_http_server *http;
    SSL_CTX *ssl_ctx;               /* for new connections */
    struct mpic_curl_loop *curl;    /* HTTP challenges; one multi handle for every check */
    struct event *sigterm, *sigint, *sighup, *drain;
    bool draining;
    int64_t drain_deadline_ns;      /* monotonic */
    struct job *jobs;           /* in flight, so that shutdown can free them */
    unsigned long inflight;
};

/* One check in flight; owns the parsed request until the reply is sent. */
struct job {
    struct agent *agent;
    struct conf *conf;
    struct mpic_http_request *req;
    struct mpic_request request;
    struct mpic_agent_check *check;  /* while running */
    struct event *deadline;
    const struct mpic_lab_behaviour *lab;   /* the lab rule this target selected, or NULL */
    struct event *lab_delay;
    int64_t started_ns;              /* monotonic */
    char ad[96];                /* per-level AD summary of a CAA check, for the log line */
    struct job *prev, *next;
};

static void conf_unref(struct conf *c)
{
    if (c == NULL || --c->refs > 0)
        return;
    if (c->resolver != NULL)
        mpic_resolver_free(c->resolver);
    mpic_config_free(&c->cfg);
    free(c);
}

static void job_free(struct job *j)
{
    if (j->check != NULL)
        mpic_agent_check_cancel(j->check);
    if (j->deadline != NULL)
        event_free(j->deadline);
    if (j->lab_delay != NULL)
        event_free(j->lab_delay);
    if (j->prev != NULL)
        j->prev->next = j->next;
    else
        j->agent->jobs = j->next;
    if (j->next != NULL)
        j->next->prev = j->prev;
    j->agent->inflight--;
    conf_unref(j->conf);
    mpic_request_free(&j->request);
    free(j);
}

static void job_reply(struct job *j, json_t *check_response, const char *outcome, const char *detail)
{
    char t[600], tr[600], d[600];
    mpic_log(MPIC_LOG_INFO, "check", "trace=%s target=%s check_type=%s outcome=%s latency_ms=%lld ad=%s detail=%s",
             mpic_log_quote(j->request.trace_identifier, tr, sizeof tr),
             mpic_log_quote(j->request.target, t, sizeof t), mpic_check_type_name(j->request.check_type), outcome,
             (long long)((mpic_clock_mono_ns() - j->started_ns) / 1000000), j->ad[0] ? j->ad : "-",
             mpic_log_quote(detail, d, sizeof d));
    mpic_http_send_json(j->req, 200, "OK", mpic_agent_response_json(j->conf->cfg.agent.perspective, check_response));
    job_free(j);
}

static void on_check_done(struct mpic_agent_check_result *res, void *arg)
{
    struct job *j = arg;
    j->check = NULL;   /* finished: must not be cancelled */
    if (res->ad != NULL)
        snprintf(j->ad, sizeof j->ad, "%s", res->ad);
    job_reply(j, res->check_response, res->outcome, res->detail);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct job *j = arg;
    char msg[160];
    snprintf(msg, sizeof msg, "the %s check did not finish within %u ms",
             j->request.check_type == MPIC_CHECK_CAA ? "CAA" : mpic_dcv_method_name(j->request.dcv.method),
             j->conf->cfg.agent.check_timeout_ms);
    json_t *cr = mpic_check_response_json(false, false, mpic_error_list_json(mpic_agent_check_timeout_error(&j->request), msg),
                                          mpic_clock_now_ns(), j->request.check_type,
                                          mpic_empty_details_json(j->request.check_type, j->request.dcv.method));
    job_reply(j, cr, "timeout", msg);
}

static void start_check(struct job *j);

#ifdef MPIC_LAB_BEHAVIOUR
/* The rule's answer, after its delay: the real check (delay), a fixed check
 * response (result), or no check response at all. */
static void lab_act(evutil_socket_t fd, short what, void *arg)
{
    struct job *j = arg;
    const struct mpic_lab_behaviour *b = j->lab;
    char line[600], t[600], r[700];
    mpic_lab_behaviour_describe(b, line, sizeof line);
    mpic_log(MPIC_LOG_INFO, "lab_behaviour", "target=%s rule=%s", mpic_log_quote(j->request.target, t, sizeof t),
             mpic_log_quote(line, r, sizeof r));
    if (b->action == MPIC_LAB_DELAY) {
        start_check(j);
    } else if (b->action == MPIC_LAB_RESULT) {
        json_t *cr = mpic_lab_check_response(b, j->request.check_type,
                                             mpic_empty_details_json(j->request.check_type, j->request.dcv.method));
        job_reply(j, cr, "lab", b->error ? b->error : "lab behaviour");
    } else {
        mpic_lab_answer_raw(j->req, b);
        job_free(j);
    }
}

static void lab_start(struct job *j)
{
    struct timeval tv = { j->lab->delay_ms / 1000, (j->lab->delay_ms % 1000) * 1000 };
    if (j->lab->delay_ms == 0 || (j->lab_delay = evtimer_new(j->agent->base, lab_act, j)) == NULL) {
        lab_act(-1, 0, j);
        return;
    }
    evtimer_add(j->lab_delay, &tv);
}
#endif

static void handle_check(struct agent *a, struct mpic_http_request *req)
{
    size_t len;
    const char *body = mpic_http_body(req, &len);
    struct mpic_error err;
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        mpic_http_send_message(req, 500, "Internal Server Error", "out of memory");
        return;
    }
    j->agent = a;
    j->conf = a->conf;
    a->conf->refs++;
    j->req = req;
    j->started_ns = mpic_clock_mono_ns();
    j->next = a->jobs;
    if (a->jobs != NULL)
        a->jobs->prev = j;
    a->jobs = j;
    a->inflight++;
    if (mpic_agent_request_parse(body, len, &j->request, &err) != 0) {
        mpic_log(MPIC_LOG_WARN, "bad_request", "error=\"%s\"", err.msg);
        mpic_http_send_message(req, 400, "Bad Request", err.msg);
        job_free(j);
        return;
    }
#ifdef MPIC_LAB_BEHAVIOUR
    if ((j->lab = mpic_lab_behaviour_find(&j->conf->cfg.agent.lab_behaviours, j->request.target)) != NULL) {
        lab_start(j);
        return;
    }
#endif
    start_check(j);
}

/* Runs the check the parsed request asks for, under the agent's deadline. */
static void start_check(struct job *j)
{
    struct agent *a = j->agent;
    struct mpic_http_request *req = j->req;
    struct mpic_error err;
    const struct mpic_config *cfg = &j->conf->cfg;
    struct timeval tv = { cfg->agent.check_timeout_ms / 1000, (cfg->agent.check_timeout_ms % 1000) * 1000 };
    struct mpic_agent_check_env env = { a->base, j->conf->resolver, a->curl, cfg };
    j->deadline = evtimer_new(a->base, on_deadline, j);
    /* A DCV check refuses to start on parameters the wire model lets through (the client's mistake);
     * a CAA check only for want of resources. */
    if (j->request.check_type == MPIC_CHECK_DCV) {
        if (j->deadline != NULL)
            j->check = mpic_agent_check_start(&env, &j->request, on_check_done, j, &err);
        if (j->check == NULL) {
            mpic_log(MPIC_LOG_WARN, "check_start_failed", "error=\"%s\"", j->deadline ? err.msg : "out of memory");
            mpic_http_send_message(req, j->deadline ? 400 : 500, j->deadline ? "Bad Request" : "Internal Server Error",
                       j->deadline ? err.msg : "out of memory");
            job_free(j);
            return;
        }
        evtimer_add(j->deadline, &tv);
        return;
    }
    j->check = mpic_agent_check_start(&env, &j->request, on_check_done, j, &err);
    if (j->deadline == NULL || j->check == NULL) {
        mpic_log(MPIC_LOG_ERROR, "check_start_failed", "error=\"%s\"", j->check ? "out of memory" : err.msg);
        mpic_http_send_message(req, 500, "Internal Server Error", "cannot start the check");
        job_free(j);
        return;
    }
    evtimer_add(j->deadline, &tv);
}

/* Answers what needs no body; leaves POST /v1/check to on_request. */
static void on_head(struct mpic_http_request *req, void *arg)
{
    struct agent *a = arg;
    const char *path = mpic_http_path(req), *method = mpic_http_method(req);
    if (strcmp(path, "/healthz") == 0 && strcmp(method, "GET") == 0) {
        mpic_http_send_json(req, 200, "OK", json_pack("{s:s, s:s, s:i}", "status", "ok", "perspective_code",
                                            a->conf->cfg.agent.perspective, "protocol", MPIC_AGENT_PROTOCOL));
    } else if (strcmp(path, "/v1/check") == 0) {
        if (strcmp(method, "POST") != 0) {
            mpic_http_add_header(req, "Allow", "POST");
            mpic_http_send_message(req, 405, "Method Not Allowed", "use POST");
        }
    } else {
        mpic_http_send_message(req, 404, "Not Found", "no such endpoint");
    }
}

static void on_request(struct mpic_http_request *req, void *arg)
{
    handle_check(arg, req);
}

static int ex_index_of_agent = -1;

/* Runs after OpenSSL's own chain check: the CA signs agents too, so the leaf
 * must also be the orchestrator the configuration names. Refused here, a
 * peer's certificate never reaches a handler. */
static int verify_orchestrator(int ok, X509_STORE_CTX *store)
{
    if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    const struct mpic_agent_config *ac = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index_of_agent);
    char why[200], cn[256], q[300], qwhy[300];
    X509 *cert = X509_STORE_CTX_get_current_cert(store);
    if (ac != NULL && mpic_tls_identity_matches(cert, ac->orchestrator_cn, &ac->orchestrator_spki, why, sizeof why))
        return 1;
    if (mpic_tls_cert_cn(cert, cn, sizeof cn) != 0)
        snprintf(cn, sizeof cn, "-");
    mpic_log(MPIC_LOG_WARN, "client_refused", "cn=%s error=%s", mpic_log_quote(cn, q, sizeof q),
             mpic_log_quote(ac ? why : "no identity configured", qwhy, sizeof qwhy));
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
}

/* The context's reference to the configuration it checks against. */
static void ctx_conf_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    if (ptr != NULL)
        conf_unref((struct conf *)((char *)ptr - offsetof(struct conf, cfg.agent)));
}

/* The TLS context of c's certificate, key and orchestrator CA. */
static SSL_CTX *conf_ctx(struct conf *c, struct mpic_error *err)
{
    const struct mpic_agent_config *ac = &c->cfg.agent;
    if (ex_index_of_agent < 0)
        ex_index_of_agent = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_conf_free);
    SSL_CTX *ctx = mpic_tls_server_ctx(ac->tls.cert, ac->tls.key, ac->tls.ca, err);
    if (ctx == NULL)
        return NULL;
    c->refs++;
    SSL_CTX_set_ex_data(ctx, ex_index_of_agent, (void *)ac);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_orchestrator);
    return ctx;
}

/* Loads and checks a configuration, then builds its resolver. */
static struct conf *conf_load(const char *path, struct event_base *base, struct mpic_error *err)
{
    struct conf *c = calloc(1, sizeof *c);
    if (c == NULL) {
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    c->refs = 1;
    if (mpic_config_load(path, MPIC_ROLE_AGENT, &c->cfg, err) != 0) {
        free(c);
        return NULL;
    }
    if (base != NULL && (c->resolver = mpic_resolver_new(base, &c->cfg.agent.dns, err)) == NULL) {
        conf_unref(c);
        return NULL;
    }
    return c;
}

static void on_drain_timer(evutil_socket_t fd, short what, void *arg)
{
    struct agent *a = arg;
    unsigned busy = mpic_http_server_busy(a->http);
    if (busy == 0 && a->jobs == NULL) {
        mpic_log(MPIC_LOG_INFO, "drained", "message=\"every check in flight was answered\"");
        event_base_loopexit(a->base, NULL);
        return;
    }
    if (mpic_clock_mono_ns() >= a->drain_deadline_ns) {
        mpic_log(MPIC_LOG_WARN, "drain_timeout", "requests=%u", busy);
        event_base_loopexit(a->base, NULL);
        return;
    }
    struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
    evtimer_add(a->drain, &tv);
}

/* SIGTERM, SIGINT: no new connections; checks in flight are answered
 * (within the check deadline), then the loop ends. A second signal ends it
 * at once. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct agent *a = arg;
    mpic_log(MPIC_LOG_INFO, "shutdown", "signal=%d inflight=%lu%s", (int)sig, a->inflight,
             a->draining ? " message=\"second signal: not waiting\"" : "");
    if (a->draining) {
        event_base_loopexit(a->base, NULL);
        return;
    }
    a->draining = true;
    mpic_http_server_drain(a->http);
    a->drain_deadline_ns = mpic_clock_mono_ns() + ((int64_t)a->conf->cfg.agent.check_timeout_ms + 1000) * 1000000;
    on_drain_timer(-1, 0, a);
}

static bool str_differs(const char *x, const char *y)
{
    return (x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0);
}

/* SIGHUP: certificates, orchestrator identity, resolvers and the rest of a
 * configuration that loads replace the current ones for new connections
 * and checks; one that does not is refused with one error line. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct agent *a = arg;
    struct mpic_error err;
    struct conf *c = conf_load(a->config_path, a->base, &err);
    SSL_CTX *ctx = c != NULL ? conf_ctx(c, &err) : NULL;
    if (ctx == NULL) {
        conf_unref(c);
        mpic_log(MPIC_LOG_ERROR, "reload_failed", "config=%s error=\"%s\" message=\"the running configuration is"
                 " kept\"", a->config_path, err.msg);
        return;
    }
    const struct mpic_agent_config *now = &a->conf->cfg.agent, *next = &c->cfg.agent;
    if (str_differs(now->listen_host, next->listen_host) || now->listen_port != next->listen_port)
        mpic_log(MPIC_LOG_WARN, "reload_restart_needed", "setting=listen message=\"the listen address changes only"
                 " on a restart; still %s:%u\"", now->listen_host, now->listen_port);
    if (strcmp(now->perspective, next->perspective) != 0)
        mpic_log(MPIC_LOG_WARN, "reload_perspective_changed", "from=%s to=%s", now->perspective, next->perspective);
    mpic_http_server_set_ssl_ctx(a->http, ctx);
    SSL_CTX_free(a->ssl_ctx);
    a->ssl_ctx = ctx;
    struct conf *old = a->conf;
    a->conf = c;
    enum mpic_log_level lvl;
    if (c->cfg.log_level != NULL && mpic_log_level_parse(c->cfg.log_level, &lvl) == 0)
        mpic_log_init("mpic-agent", lvl);
    mpic_log(MPIC_LOG_INFO, "config_reloaded", "config=%s perspective=%s resolvers=%zu", a->config_path,
             next->perspective, next->dns.resolvers.n);
    conf_unref(old);
}

static int start(struct agent *a)
{
    struct mpic_error err;
    a->base = event_base_new();
    if (a->base == NULL || mpic_log_attach(a->base) != 0) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"out of memory\"");
        return -1;
    }
    const struct mpic_agent_config *ac = &a->conf->cfg.agent;
    a->conf->resolver = mpic_resolver_new(a->base, &ac->dns, &err);
    if (a->conf->resolver == NULL || (a->ssl_ctx = conf_ctx(a->conf, &err)) == NULL) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"%s\"", err.msg);
        return -1;
    }
    a->curl = mpic_curl_loop_new(a->base, &err);
    if (a->curl == NULL) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"%s\"", err.msg);
        return -1;
    }
    struct mpic_http_server_config hc = {
        .host = ac->listen_host, .port = ac->listen_port, .ssl_ctx = a->ssl_ctx, .limits = &ac->http,
        .max_body_bytes = ac->max_body_bytes, .on_head = on_head, .on_request = on_request, .arg = a,
    };
    if ((a->http = mpic_http_server_new(a->base, &hc, &err)) == NULL) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"%s\"", err.msg);
        return -1;
    }
    a->sigterm = evsignal_new(a->base, SIGTERM, on_signal, a);
    a->sigint = evsignal_new(a->base, SIGINT, on_signal, a);
    a->sighup = evsignal_new(a->base, SIGHUP, on_hup, a);
    a->drain = evtimer_new(a->base, on_drain_timer, a);
    if (a->sigterm == NULL || a->sigint == NULL || a->sighup == NULL || a->drain == NULL) {
        mpic_log(MPIC_LOG_ERROR, "startup_failed", "error=\"out of memory\"");
        return -1;
    }
    evsignal_add(a->sigterm, NULL);
    evsignal_add(a->sigint, NULL);
    evsignal_add(a->sighup, NULL);
    mpic_log(MPIC_LOG_INFO, "listening", "perspective=%s address=%s port=%u resolvers=%zu", ac->perspective,
             ac->listen_host, ac->listen_port, ac->dns.resolvers.n);
    return 0;
}

/* Frees in an order that leaves the loop alive for what the last
 * configuration reference frees (its resolver). */
static void stop(struct agent *a)
{
    while (a->jobs != NULL)
        job_free(a->jobs);   /* their requests die with the server below */
    mpic_http_server_free(a->http);
    if (a->curl != NULL)
        mpic_curl_loop_free(a->curl);
    struct event *evs[] = { a->sigterm, a->sigint, a->sighup, a->drain };
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    if (a->ssl_ctx != NULL)
        SSL_CTX_free(a->ssl_ctx);
    conf_unref(a->conf);
    mpic_log_detach();
    if (a->base != NULL)
        event_base_free(a->base);
}

int main(int argc, char **argv)
{
    const char *config;
    bool check_only;
    int status;
    if (!mpic_daemon_args(argc, argv, "mpic-agent", &config, &check_only, &status))
        return status;
    struct agent a = { .config_path = config };
    struct mpic_error err;
    mpic_log_init("mpic-agent", MPIC_LOG_INFO);
    if (mpic_clock_init("mpic-agent") != 0)
        return 1;
    if ((a.conf = conf_load(config, NULL, &err)) == NULL) {
        fprintf(stderr, "mpic-agent: %s\n", err.msg);
        return 1;
    }
    const struct mpic_config *cfg = &a.conf->cfg;
    if (check_only) {
        printf("%s: configuration OK: agent perspective %s, listen %s:%u, %zu resolver(s), %zu issuer domain(s)\n",
               config, cfg->agent.perspective, cfg->agent.listen_host, cfg->agent.listen_port,
               cfg->agent.dns.resolvers.n, cfg->caa_issuer_domains.n);
        printf("%s: orchestrator identity: CN=%s", config, cfg->agent.orchestrator_cn);
        for (size_t i = 0; i < cfg->agent.orchestrator_spki.n; i++)
            printf("%s%s", i ? ", " : ", SPKI SHA-256 one of ", cfg->agent.orchestrator_spki.v[i]);
        printf("%s\n", cfg->agent.orchestrator_spki.n ? "" : " (any key; no SPKI pin)");
        mpic_http_limits_print(config, &cfg->agent.http, cfg->agent.max_body_bytes);
#ifdef MPIC_LAB_BEHAVIOUR
        mpic_lab_print(&cfg->agent.lab_behaviours);
#endif
        conf_unref(a.conf);
        return 0;
    }
    enum mpic_log_level lvl;
    if (cfg->log_level != NULL && mpic_log_level_parse(cfg->log_level, &lvl) == 0)
        mpic_log_init("mpic-agent", lvl);
    signal(SIGPIPE, SIG_IGN);
    int rc = 1;
    if (start(&a) == 0 && event_base_dispatch(a.base) == 0)
        rc = 0;
    stop(&a);
    return rc;
}
