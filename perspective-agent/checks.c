/* One row per kind of check. A running check is a handle around the
 * engine's own (caa_check.c, dcv_dns.c, dcv_http.c, dcv_alpn.c) that
 * remembers its row and the caller's callback; it is freed when the check
 * finishes or is cancelled, whichever comes first. */
#include "checks.h"

#include <stdio.h>
#include <stdlib.h>

#include "caa_check.h"
#include "clock.h"
#include "dcv_check.h"

struct kind {
    const char *timeout_error;   /* error_type when the agent's deadline passes first */
    void *(*start)(const struct mpic_agent_check_env *env, const struct mpic_request *r, struct mpic_agent_check *c,
                   struct mpic_error *err);
    void (*cancel)(void *engine);
};

struct mpic_agent_check {
    const struct kind *kind;
    void *engine;
    mpic_agent_check_cb cb;
    void *arg;
};

static const char *outcome_word(bool completed, bool passed)
{
    return !completed ? "error" : passed ? "passed" : "failed";
}

/* The engine has finished and frees itself: so does the handle, before the
 * caller, who may free what owns it, hears of the result. */
static void finish(struct mpic_agent_check *c, struct mpic_agent_check_result *res)
{
    mpic_agent_check_cb cb = c->cb;
    void *arg = c->arg;
    free(c);
    cb(res, arg);
}

static void on_caa_done(const struct mpic_caa_outcome *o, void *arg)
{
    json_t *errors = o->error_type ? mpic_error_list_json(o->error_type, o->error_message) : NULL;
    json_t *details = mpic_caa_details_json(o->record_present, o->found_at, &o->records_seen);
    struct mpic_agent_check_result res = {
        .check_response = mpic_check_response_json(o->completed, o->passed, errors, mpic_clock_now_ns(),
                                                   MPIC_CHECK_CAA, details),
        .outcome = outcome_word(o->completed, o->passed),
        .detail = o->error_type ? o->error_message : mpic_caa_reason_text(o->reason),
        .ad = o->ad_summary,
    };
    finish(arg, &res);
}

static void on_dcv_done(struct mpic_dcv_outcome *o, void *arg)
{
    json_t *cr = mpic_check_response_json(o->completed, o->passed, o->errors, mpic_clock_now_ns(), MPIC_CHECK_DCV,
                                          o->details);
    o->errors = o->details = NULL;
    json_t *first = json_array_get(json_object_get(cr, "errors"), 0);
    struct mpic_agent_check_result res = {
        .check_response = cr,
        .outcome = outcome_word(o->completed, o->passed),
        .detail = json_string_value(json_object_get(first, "error_message")),
    };
    finish(arg, &res);
}

static void *caa_start(const struct mpic_agent_check_env *env, const struct mpic_request *r,
                       struct mpic_agent_check *c, struct mpic_error *err)
{
    const struct mpic_config *cfg = env->cfg;
    const struct mpic_strv *doms = r->caa.domains.v ? &r->caa.domains : &cfg->caa_issuer_domains;
    struct mpic_caa_check_params p = {
        .target = r->target,
        .cert_type = r->caa.cert_type,
        .issuer_domains = (const char *const *)doms->v,
        .n_issuer_domains = doms->n,
        .account_uri = r->caa.account_uri,
        .validation_method = r->caa.validation_method,
        .flag1_is_critical = cfg->caa_flag1_is_critical,
        .allow_lookup_failure = r->caa.allow_lookup_failure,
        .dnssec = cfg->agent.dns.dnssec,
    };
    return mpic_caa_check_start(env->resolver, &p, on_caa_done, c, err);
}

static struct mpic_dcv_ctx dcv_ctx(const struct mpic_agent_check_env *env)
{
    const struct mpic_agent_config *ac = &env->cfg->agent;
    return (struct mpic_dcv_ctx){
        .base = env->base,
        .resolver = env->resolver,
        .curl = env->curl,
        .allow_private_targets = ac->allow_private_targets,
        .dnssec = ac->dns.dnssec,
        /* Leave the agent's own deadline room to report. */
        .timeout_ms = ac->check_timeout_ms > 200 ? ac->check_timeout_ms - 100 : ac->check_timeout_ms,
    };
}

static void *dns_start(const struct mpic_agent_check_env *env, const struct mpic_request *r,
                       struct mpic_agent_check *c, struct mpic_error *err)
{
    struct mpic_dcv_ctx ctx = dcv_ctx(env);
    return mpic_dcv_dns_start(&ctx, r->target, &r->target_info, &r->dcv, on_dcv_done, c, err);
}

static void *http_start(const struct mpic_agent_check_env *env, const struct mpic_request *r,
                        struct mpic_agent_check *c, struct mpic_error *err)
{
    struct mpic_dcv_ctx ctx = dcv_ctx(env);
    return mpic_dcv_http_start(&ctx, r->target, &r->target_info, &r->dcv, on_dcv_done, c, err);
}

static void *alpn_start(const struct mpic_agent_check_env *env, const struct mpic_request *r,
                        struct mpic_agent_check *c, struct mpic_error *err)
{
    struct mpic_dcv_ctx ctx = dcv_ctx(env);
    return mpic_dcv_alpn_start(&ctx, r->target, &r->target_info, &r->dcv, on_dcv_done, c, err);
}

static void caa_cancel(void *e) { mpic_caa_check_cancel(e); }
static void dns_cancel(void *e) { mpic_dcv_dns_cancel(e); }
static void http_cancel(void *e) { mpic_dcv_http_cancel(e); }
static void alpn_cancel(void *e) { mpic_dcv_alpn_cancel(e); }

static const struct kind caa_kind = { MPIC_ERR_CAA_LOOKUP, caa_start, caa_cancel };
static const struct kind dcv_kinds[] = {
    [MPIC_DCV_KIND_DNS] = { MPIC_ERR_DCV_LOOKUP, dns_start, dns_cancel },
    [MPIC_DCV_KIND_HTTP] = { MPIC_ERR_HTTP, http_start, http_cancel },
    [MPIC_DCV_KIND_TLS_ALPN] = { MPIC_ERR_TLS_ALPN_CONNECT, alpn_start, alpn_cancel },
};

static const struct kind *kind_of(const struct mpic_request *r)
{
    return r->check_type == MPIC_CHECK_CAA ? &caa_kind : &dcv_kinds[mpic_dcv_method_kind(r->dcv.method)];
}

struct mpic_agent_check *mpic_agent_check_start(const struct mpic_agent_check_env *env, const struct mpic_request *r,
                                                mpic_agent_check_cb cb, void *arg, struct mpic_error *err)
{
    struct mpic_agent_check *c = calloc(1, sizeof *c);
    if (c == NULL) {
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    *c = (struct mpic_agent_check){ kind_of(r), NULL, cb, arg };
    c->engine = c->kind->start(env, r, c, err);
    if (c->engine == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void mpic_agent_check_cancel(struct mpic_agent_check *c)
{
    c->kind->cancel(c->engine);
    free(c);
}

const char *mpic_agent_check_timeout_error(const struct mpic_request *r)
{
    return kind_of(r)->timeout_error;
}
