/* What dcv_http.c (the check's lifecycle: hops, name resolution, curl) and
 * dcv_http_url.c (URLs, redirects, request headers, body helpers) share: the
 * state of one HTTP DCV check and the helpers each side calls on the other.
 * Private to the agent's HTTP check; the public interface is dcv_check.h. */
#ifndef MPIC_DCV_HTTP_INTERNAL_H
#define MPIC_DCV_HTTP_INTERNAL_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "addr_lookup.h"
#include "dcv_check.h"

/* Tells a refused redirect from a bad URL of the request by its address
 * (mpic_dcv_http_take_url), so there is one object for both files. */
extern const char *const mpic_dcv_http_err_redirect;

struct mpic_dcv_http {
    struct mpic_dcv_ctx ctx;
    const struct mpic_dcv_params *p;
    mpic_dcv_cb cb;
    void *arg;
    struct timespec deadline;
    struct event *timer;            /* the whole check's budget */
    struct event *later;            /* reports an outcome decided inside start */
    bool starting;                  /* still inside mpic_dcv_http_start */
    struct curl_slist *headers;     /* built once, sent on every hop */

    /* the hop in progress */
    char *url;                      /* normalised by curl, no fragment */
    char *host;                     /* without brackets or trailing dot */
    unsigned port;
    struct mpic_addr_lookup *lookup;   /* while the host's addresses are looked up */
    struct mpic_addr_list addrs;    /* the host's addresses (addr_lookup.h), tried in turn */
    size_t cur;                     /* the address being fetched */
    CURL *easy;
    struct curl_slist *connect_to;
    char curl_error[CURL_ERROR_SIZE];
    char *body;                     /* body_max + 1 bytes, NUL-terminated */
    size_t body_len, body_max;
    bool truncated;

    /* what the responses so far showed */
    char *seen[MPIC_DCV_HTTP_MAX_REDIRECTS + 1];  /* URLs requested, for loop detection */
    size_t n_seen;
    json_t *history;                /* redirects followed */
    char *response_url;             /* last response */
    long response_status;           /* -1 before any response */

    struct mpic_dcv_outcome pending;
};

/* dcv_http.c */
void mpic_dcv_http_finish(struct mpic_dcv_http *c, bool completed, bool passed, const char *type,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* dcv_http_url.c */
char *mpic_dcv_http_response_page(const struct mpic_dcv_http *c);
size_t mpic_dcv_http_on_body(char *data, size_t size, size_t nmemb, void *userp);
void mpic_dcv_http_make_utf8(char *msg);
int mpic_dcv_http_build_headers(struct mpic_dcv_http *c, char *why, size_t why_len);
int mpic_dcv_http_take_url(struct mpic_dcv_http *c, CURLU *u, const char *type);
char *mpic_dcv_http_location_of(CURL *easy);
CURLU *mpic_dcv_http_challenge_url(const char *target, const struct mpic_target *ti,
                                   const struct mpic_dcv_params *p);

#endif
