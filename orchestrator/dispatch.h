/* Calls to perspective agents over mutual TLS: libcurl's multi interface
 * driven by the orchestrator's libevent loop, so that any number of calls run
 * in parallel on one thread and connections to each agent are reused. */
#ifndef MPIC_DISPATCH_H
#define MPIC_DISPATCH_H

#include <event2/event.h>

#include "config.h"
#include "error.h"

struct mpic_dispatch;
struct mpic_call;

/* status: HTTP status (0 when no response); error: NULL on a transport
 * success, else why the call failed. body is valid only during the call. */
typedef void (*mpic_call_cb)(long status, const char *body, size_t len, const char *error, void *arg);

/* per_agent: calls running at once to one agent; more wait in order. */
struct mpic_dispatch *mpic_dispatch_new(struct event_base *base, const struct mpic_tls_files *tls,
                                        unsigned per_agent, struct mpic_error *err);
void mpic_dispatch_free(struct mpic_dispatch *d);

/* POSTs body to p->url + path (GET when body is NULL). The agent's certificate must chain to the
 * configured CA and carry p->code as its subject CN. cb fires exactly once,
 * from the loop, unless the call is cancelled. */
struct mpic_call *mpic_dispatch_post(struct mpic_dispatch *d, const struct mpic_perspective *p, const char *path,
                                     const char *body, unsigned timeout_ms, mpic_call_cb cb, void *arg);
void mpic_call_cancel(struct mpic_call *c);

#endif
