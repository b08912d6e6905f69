/* libcurl's multi interface driven by the agent's libevent loop: one multi
 * handle per agent process, shared by every HTTP check. Callers configure
 * their own easy handles and get one callback per finished transfer. */
#ifndef MPIC_CURL_LOOP_H
#define MPIC_CURL_LOOP_H

#include <curl/curl.h>
#include <event2/event.h>

#include "error.h"

struct mpic_curl_loop;

/* Called from the loop once the transfer has ended, after the easy handle has
 * left the multi handle: the callback owns it again (may clean it up or add
 * new transfers). rc is the transfer's result. */
typedef void (*mpic_curl_done_cb)(CURL *easy, CURLcode rc, void *arg);

/* Calls curl_global_init; free it after every transfer was cancelled or done. */
struct mpic_curl_loop *mpic_curl_loop_new(struct event_base *base, struct mpic_error *err);
void mpic_curl_loop_free(struct mpic_curl_loop *l);

/* A keep-alive pool: at most per_host connections to one host (transfers
 * beyond wait in curl for one of them), at most total kept open when idle. */
void mpic_curl_loop_pool(struct mpic_curl_loop *l, long per_host, long total);

/* Starts the transfer. Uses the easy handle's CURLOPT_PRIVATE. */
int mpic_curl_loop_add(struct mpic_curl_loop *l, CURL *easy, mpic_curl_done_cb cb, void *arg,
                       struct mpic_error *err);
/* Stops a transfer that has not reported yet; the callback will not fire.
 * The caller still owns (and cleans up) the easy handle. */
void mpic_curl_loop_remove(struct mpic_curl_loop *l, CURL *easy);

#endif
