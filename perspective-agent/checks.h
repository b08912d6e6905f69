/* The agent's checks behind one face: a table of the kinds (CAA, DCV over
 * DNS, HTTP and TLS-ALPN) says how each starts, is cancelled and times out,
 * and turns each engine's outcome into a check_response. main.c starts the
 * check a request asks for without knowing its kind. */
#ifndef MPIC_AGENT_CHECKS_H
#define MPIC_AGENT_CHECKS_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "error.h"
#include "resolver.h"
#include "wire.h"

struct mpic_curl_loop;

/* What checks may use; all outlive every check. */
struct mpic_agent_check_env {
    struct event_base *base;
    struct mpic_resolver *resolver;
    struct mpic_curl_loop *curl;
    const struct mpic_config *cfg;
};

/* A finished check. check_response is the callee's; the strings are valid
 * only during the call. */
struct mpic_agent_check_result {
    json_t *check_response;
    const char *outcome;    /* for the log line: "passed", "failed" or "error" */
    const char *detail;     /* first error message or the reason; may be NULL */
    const char *ad;         /* CAA: per-level AD summary; NULL for DCV */
};
typedef void (*mpic_agent_check_cb)(struct mpic_agent_check_result *res, void *arg);

struct mpic_agent_check;
/* Starts the check r asks for; cb runs exactly once, from the event loop,
 * unless the check is cancelled first. NULL with err when it cannot start. */
struct mpic_agent_check *mpic_agent_check_start(const struct mpic_agent_check_env *env, const struct mpic_request *r,
                                                mpic_agent_check_cb cb, void *arg, struct mpic_error *err);
void mpic_agent_check_cancel(struct mpic_agent_check *c);
/* The error_type of r's check when it runs out of time, by what it was doing. */
const char *mpic_agent_check_timeout_error(const struct mpic_request *r);

#endif
