/* Non-blocking stub resolver on the agent's event loop: ldns builds and parses
 * messages, libevent waits on the sockets. Talks only to the configured
 * recursive resolvers, UDP first (EDNS0, 1232 bytes) and TCP when the answer
 * is truncated; per-attempt timeout, tries rotated across servers. */
#ifndef MPIC_RESOLVER_H
#define MPIC_RESOLVER_H

#include <event2/event.h>
#include <ldns/ldns.h>
#include <stdbool.h>

#include "config.h"
#include "error.h"

struct mpic_resolver;
struct mpic_dns_query;

enum mpic_dns_status {
    MPIC_DNS_OK,            /* a complete, matching response arrived (any rcode): see pkt */
    MPIC_DNS_TIMEOUT,       /* every try timed out */
    MPIC_DNS_NETWORK,       /* socket / connect / TCP read errors on every try */
    MPIC_DNS_BAD_RESPONSE,  /* unparseable or mismatched responses only */
};

struct mpic_dns_result {
    enum mpic_dns_status status;
    ldns_pkt *pkt;          /* owned by the resolver; the callback may take it and set NULL */
    bool via_tcp;
    unsigned tries;         /* tries used */
    char error[256];        /* set when status != MPIC_DNS_OK, e.g. "timeout after 2 tries to 127.0.0.1:5353" */
    char server[64];        /* "IP:PORT" that answered, or that was tried last */
};

/* Called exactly once per query, always from the event loop (never from inside
 * mpic_resolver_query), unless the query was cancelled first. */
typedef void (*mpic_dns_cb)(struct mpic_dns_result *res, void *arg);

struct mpic_resolver *mpic_resolver_new(struct event_base *base, const struct mpic_dns_config *cfg,
                                        struct mpic_error *err);
void mpic_resolver_free(struct mpic_resolver *r);   /* cancels what is still pending */
/* The loop the resolver runs on, for callers that must defer their own callbacks. */
struct event_base *mpic_resolver_base(const struct mpic_resolver *r);

/* name without trailing dot. Sets RD and AD (RFC 6840 §5.7) and the DO bit so
 * that a validating resolver reports the AD flag. NULL on immediate failure. */
struct mpic_dns_query *mpic_resolver_query(struct mpic_resolver *r, const char *name,
                                           ldns_rr_type type, mpic_dns_cb cb, void *arg,
                                           struct mpic_error *err);
void mpic_resolver_cancel(struct mpic_dns_query *q);

#endif
