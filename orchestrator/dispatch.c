#include "dispatch.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "curl_loop.h"
#include "log.h"
#include "tls.h"

#define MAX_REPLY_BYTES (4u << 20)
/* At most agent_connections calls (the configuration's) run at once to one
 * agent, each on a keep-alive connection of its own; later calls wait in the
 * agent's lane, holding only their body. Waiting here rather than in curl
 * matters for memory: a running call holds a curl handle and a TLS connection
 * (tens of KB), and 1000 requests in flight are 6000 calls. */
#define MAX_AGENTS 64u   /* beyond this many agents, curl's cache closes idle connections */

/* The calls of one agent (keyed by its base URL): how many run, and the FIFO
 * of those waiting for one of them to finish. */
struct agent_lane {
    struct mpic_dispatch *d;
    char *url;
    unsigned running;
    struct mpic_call *head, *tail;
};

struct mpic_dispatch {
    struct mpic_curl_loop *loop;
    CURLSH *share;   /* TLS sessions, so that a new connection resumes one */
    struct mpic_tls_files tls;
    unsigned per_agent;
    struct curl_slist *headers;
    struct agent_lane **lanes;   /* one per agent called so far */
    size_t n_lanes;
    struct handle **idle;        /* of finished calls, configured, for the next */
    size_t n_idle, cap_idle;
};

/* A curl handle and what curl writes beside it while a call runs on it: only
 * running calls hold one, waiting calls stay small. */
struct handle {
    CURL *easy;
    char error[CURL_ERROR_SIZE];
};

/* New connections to agents and how many of them needed a full handshake
 * (the others resumed a session); logged at exit. One dispatcher per process. */
static unsigned long n_connections, n_full_handshakes;

struct mpic_call {
    struct mpic_dispatch *d;
    struct agent_lane *lane;
    struct mpic_call *next;      /* in the lane's queue while waiting */
    struct handle *h;            /* NULL while waiting */
    char *url, *body;
    bool get;
    unsigned timeout_ms;
    int64_t posted_ns;
    const char *expected_code;   /* the config's string: it outlives cached connections */
    char *reply;
    size_t reply_len;
    bool too_large;
    mpic_call_cb cb;
    void *arg;
};

static int ex_index_of_dispatch = -1;

static void start_next(struct agent_lane *lane);

/* Back to the idle list (configured: the next call sets only what differs),
 * or cleaned up when the list cannot grow. */
static void handle_free(struct handle *h)
{
    curl_easy_cleanup(h->easy);
    free(h);
}

static void handle_release(struct mpic_dispatch *d, struct handle *h)
{
    if (d->n_idle == d->cap_idle) {
        size_t cap = d->cap_idle ? 2 * d->cap_idle : 16;
        struct handle **p = realloc(d->idle, cap * sizeof *p);
        if (p == NULL) {
            handle_free(h);
            return;
        }
        d->idle = p;
        d->cap_idle = cap;
    }
    d->idle[d->n_idle++] = h;
}

static void call_free(struct mpic_call *c)
{
    free(c->url);
    free(c->body);
    free(c->reply);
    free(c);
}

/* A running call leaves its lane: its handle goes idle and its place is free
 * for the first waiting call (start_next, once the call is done with). */
static void leave_lane(struct mpic_call *c)
{
    handle_release(c->d, c->h);
    c->h = NULL;
    c->lane->running--;
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
    struct mpic_call *c = arg;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    char error[CURL_ERROR_SIZE + 64];
    const char *e = NULL;
    if (c->too_large) {
        snprintf(error, sizeof error, "agent reply larger than %u bytes", MAX_REPLY_BYTES);
        e = error;
    } else if (rc != CURLE_OK) {
        snprintf(error, sizeof error, "%s", c->h->error[0] ? c->h->error : curl_easy_strerror(rc));
        e = error;
    }
    /* Off the lane before the callback, which may post or cancel other calls of it. */
    struct agent_lane *lane = c->lane;
    leave_lane(c);
    c->cb(e ? 0 : status, c->reply ? c->reply : "", c->reply_len, e, c->arg);
    call_free(c);
    start_next(lane);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct mpic_call *c = userp;
    size_t n = size * nmemb;
    if (c->reply_len + n > MAX_REPLY_BYTES) {
        c->too_large = true;
        return 0;   /* aborts the transfer */
    }
    char *p = realloc(c->reply, c->reply_len + n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + c->reply_len, data, n);
    c->reply = p;
    c->reply_len += n;
    p[c->reply_len] = '\0';
    return n;
}

/* Runs after OpenSSL's own chain check, for each certificate of the chain:
 * the leaf must name the perspective this connection was opened for. */
static int verify_identity(int ok, X509_STORE_CTX *store)
{
    if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
        return ok;
    n_full_handshakes++;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    const char *expected = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ex_index_of_dispatch);
    char cn[256];
    if (expected == NULL || mpic_tls_cert_cn(X509_STORE_CTX_get_current_cert(store), cn, sizeof cn) != 0 ||
        strcmp(cn, expected) != 0) {
        mpic_log(MPIC_LOG_WARN, "agent_identity_mismatch", "expected=%s", expected ? expected : "-");
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    return 1;
}

/* curl creates one SSL_CTX per connection and hands it to us before the
 * handshake; connections are keyed by host and port, so an identity checked
 * here holds for every later request reusing the connection. */
static CURLcode ssl_ctx_cb(CURL *easy, void *ssl_ctx, void *userp)
{
    struct mpic_call *c = userp;
    SSL_CTX *ctx = ssl_ctx;
    n_connections++;
    SSL_CTX_set_ex_data(ctx, ex_index_of_dispatch, (void *)c->expected_code);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_identity);
    return CURLE_OK;
}

/* What every call sets alike, once per handle. */
static struct handle *handle_new(struct mpic_dispatch *d)
{
    struct handle *h = calloc(1, sizeof *h);
    CURL *e = h ? curl_easy_init() : NULL;
    if (e == NULL) {
        free(h);
        return NULL;
    }
    h->easy = e;
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    /* An agent's reply is a few KB: curl's default 16 KB receive buffer per handle is memory
     * that every running call holds. */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(e, CURLOPT_CAINFO, d->tls.ca);
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(e, CURLOPT_SSLCERT, d->tls.cert);
    curl_easy_setopt(e, CURLOPT_SSLKEY, d->tls.key);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    curl_easy_setopt(e, CURLOPT_PROXY, "");   /* never through an environment proxy */
    curl_easy_setopt(e, CURLOPT_SHARE, d->share);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->error);
    return h;
}

/* Hands the call to curl on a handle of its own. Its deadline runs from when
 * it was posted: time spent waiting in the lane counts. */
static int call_start(struct mpic_call *c)
{
    struct mpic_dispatch *d = c->d;
    struct handle *h = d->n_idle > 0 ? d->idle[--d->n_idle] : handle_new(d);
    if (h == NULL)
        return -1;
    CURL *e = h->easy;
    h->error[0] = '\0';
    int64_t waited_ms = (mpic_clock_mono_ns() - c->posted_ns) / 1000000;
    long timeout = waited_ms < (int64_t)c->timeout_ms ? (long)c->timeout_ms - (long)waited_ms : 1L;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    if (c->get)
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    else
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, c);
    if (mpic_curl_loop_add(d->loop, e, on_done, c, NULL) != 0) {
        handle_release(d, h);
        return -1;
    }
    c->h = h;
    c->lane->running++;
    return 0;
}

/* Starts waiting calls while the lane has room. One that cannot start (out
 * of memory) stays first in line for the next free place; its caller's
 * request deadline bounds the wait. */
static void start_next(struct agent_lane *lane)
{
    while (lane->head != NULL && lane->running < lane->d->per_agent) {
        struct mpic_call *c = lane->head;
        if (call_start(c) != 0)
            return;
        lane->head = c->next;
        if (lane->head == NULL)
            lane->tail = NULL;
        c->next = NULL;
    }
}

static struct agent_lane *lane_for(struct mpic_dispatch *d, const char *url)
{
    for (size_t i = 0; i < d->n_lanes; i++)
        if (strcmp(d->lanes[i]->url, url) == 0)
            return d->lanes[i];
    struct agent_lane **lanes = realloc(d->lanes, (d->n_lanes + 1) * sizeof *lanes);
    if (lanes == NULL)
        return NULL;
    d->lanes = lanes;
    struct agent_lane *lane = calloc(1, sizeof *lane);
    if (lane == NULL || (lane->url = strdup(url)) == NULL) {
        free(lane);
        return NULL;
    }
    lane->d = d;
    d->lanes[d->n_lanes++] = lane;
    return lane;
}

struct mpic_dispatch *mpic_dispatch_new(struct event_base *base, const struct mpic_tls_files *tls,
                                        unsigned per_agent, struct mpic_error *err)
{
    if (ex_index_of_dispatch < 0)
        ex_index_of_dispatch = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    struct mpic_dispatch *d = calloc(1, sizeof *d);
    if (d == NULL) {
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    d->tls = *tls;   /* borrowed strings: the config outlives the dispatcher */
    d->per_agent = per_agent;
    if ((d->loop = mpic_curl_loop_new(base, err)) == NULL) {
        free(d);
        return NULL;
    }
    /* Connections stay open for the lanes' calls; curl itself need not hold any back. */
    mpic_curl_loop_pool(d->loop, (long)per_agent, (long)per_agent * MAX_AGENTS);
    /* "Expect:" off: no extra round trip for a 100 Continue before larger bodies. */
    d->headers = curl_slist_append(curl_slist_append(NULL, "Content-Type: application/json"), "Expect:");
    /* The multi handle shares connections among its transfers but not TLS
     * sessions: each easy handle keeps its own, and would start cold. */
    if (d->headers == NULL || (d->share = curl_share_init()) == NULL ||
        curl_share_setopt(d->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        mpic_dispatch_free(d);
        mpic_error_set(err, "cannot create the HTTP client (out of memory)");
        return NULL;
    }
    return d;
}

void mpic_dispatch_free(struct mpic_dispatch *d)
{
    if (d == NULL)
        return;
    mpic_log(MPIC_LOG_INFO, "agent_connections", "opened=%lu full_handshakes=%lu", n_connections,
             n_full_handshakes);
    for (size_t i = 0; i < d->n_lanes; i++) {
        for (struct mpic_call *c = d->lanes[i]->head, *next; c != NULL; c = next) {
            next = c->next;
            call_free(c);
        }
        free(d->lanes[i]->url);
        free(d->lanes[i]);
    }
    free(d->lanes);
    for (size_t i = 0; i < d->n_idle; i++)
        handle_free(d->idle[i]);
    free(d->idle);
    curl_slist_free_all(d->headers);
    if (d->share != NULL)
        curl_share_cleanup(d->share);
    mpic_curl_loop_free(d->loop);
    free(d);
}

struct mpic_call *mpic_dispatch_post(struct mpic_dispatch *d, const struct mpic_perspective *p, const char *path,
                                     const char *body, unsigned timeout_ms, mpic_call_cb cb, void *arg)
{
    struct agent_lane *lane = lane_for(d, p->url);
    struct mpic_call *c = lane ? calloc(1, sizeof *c) : NULL;
    if (c == NULL)
        return NULL;
    size_t ulen = strlen(p->url) + strlen(path) + 1;
    c->d = d;
    c->lane = lane;
    c->cb = cb;
    c->arg = arg;
    c->get = body == NULL;
    c->timeout_ms = timeout_ms;
    c->posted_ns = mpic_clock_mono_ns();
    c->expected_code = p->code;
    c->url = malloc(ulen);
    c->body = strdup(body != NULL ? body : "");
    if (c->url == NULL || c->body == NULL) {
        call_free(c);
        return NULL;
    }
    snprintf(c->url, ulen, "%s%s", p->url, path);
    if (lane->running < d->per_agent && lane->head == NULL) {
        if (call_start(c) != 0) {
            call_free(c);
            return NULL;
        }
        return c;
    }
    if (lane->tail != NULL)
        lane->tail->next = c;
    else
        lane->head = c;
    lane->tail = c;
    return c;
}

void mpic_call_cancel(struct mpic_call *c)
{
    struct agent_lane *lane = c->lane;
    if (c->h != NULL) {
        mpic_curl_loop_remove(c->d->loop, c->h->easy);
        leave_lane(c);
        call_free(c);
        start_next(lane);
        return;
    }
    /* Still waiting: out of the queue. */
    struct mpic_call **pp = &lane->head, *prev = NULL;
    while (*pp != NULL && *pp != c) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == c) {
        *pp = c->next;
        if (lane->tail == c)
            lane->tail = prev;
    }
    call_free(c);
}
