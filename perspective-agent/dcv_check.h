/* The agent's DCV checks. Each kind (DNS, HTTP, TLS-ALPN) lives in its own
 * file with the same start/cancel shape; checks.c picks one by method. */
#ifndef MPIC_DCV_CHECK_H
#define MPIC_DCV_CHECK_H

#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>

#include "config.h"
#include "dcv.h"
#include "error.h"
#include "resolver.h"
#include "target.h"

struct mpic_curl_loop;

struct mpic_dcv_ctx {
    struct event_base *base;
    struct mpic_resolver *resolver;
    bool allow_private_targets;     /* agent.allow_private_targets (test labs only) */
    unsigned timeout_ms;            /* budget of one check (HTTP/TLS transfers stay within it) */
    struct mpic_curl_loop *curl;    /* HTTP checks: the agent's one curl multi handle (curl_loop.h) */
    enum mpic_dnssec_mode dnssec;   /* agent.dns.dnssec: DNS checks under "require" accept only answers
                                     * that are Secure (AD=1) or proven Insecure */
};

/* What a check produced. errors: NULL (-> null) or a JSON array of
 * {"error_type","error_message"}; details: the method's details object built
 * with the mpic_dcv_*_details_json writers of wire.h. The callback may take
 * ownership of errors/details by setting the pointers to NULL. */
struct mpic_dcv_outcome {
    bool completed;
    bool passed;
    json_t *errors;
    json_t *details;
};

typedef void (*mpic_dcv_cb)(struct mpic_dcv_outcome *o, void *arg);

/* Each start function: target is the request's domain_or_ip_target as sent
 * (ti says what it is); p stays valid until the callback or cancel. The
 * callback fires exactly once, from the loop, unless cancelled. */
struct mpic_dcv_dns;
struct mpic_dcv_dns *mpic_dcv_dns_start(const struct mpic_dcv_ctx *ctx, const char *target,
                                        const struct mpic_target *ti, const struct mpic_dcv_params *p,
                                        mpic_dcv_cb cb, void *arg, struct mpic_error *err);
void mpic_dcv_dns_cancel(struct mpic_dcv_dns *c);

struct mpic_dcv_http;
struct mpic_dcv_http *mpic_dcv_http_start(const struct mpic_dcv_ctx *ctx, const char *target,
                                          const struct mpic_target *ti, const struct mpic_dcv_params *p,
                                          mpic_dcv_cb cb, void *arg, struct mpic_error *err);
void mpic_dcv_http_cancel(struct mpic_dcv_http *c);

struct mpic_dcv_alpn;
struct mpic_dcv_alpn *mpic_dcv_alpn_start(const struct mpic_dcv_ctx *ctx, const char *target,
                                          const struct mpic_target *ti, const struct mpic_dcv_params *p,
                                          mpic_dcv_cb cb, void *arg, struct mpic_error *err);
void mpic_dcv_alpn_cancel(struct mpic_dcv_alpn *c);

#endif
