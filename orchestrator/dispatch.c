#include "dispatch.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_loop.h"
#include "log.h"
#include "tls.h"

#define MAX_REPLY_BYTES (4u << 20)
/* Keep-alive connections to one agent: calls beyond these wait in curl for
 * one to come free instead of opening (and later closing) a connection with a
 * TLS handshake each. An agent answers a check in about a millisecond of CPU
 * plus its resolver's time, so 64 keep a 2-core agent busy at any load; idle
 * ones stay open for up to MAX_AGENTS agents. */
#define CONNECTIONS_PER_AGENT 64L
#define MAX_AGENTS 64L

struct mpic_dispatch {
    struct mpic_curl_loop *loop;
    CURLSH *share;   /* TLS sessions, so that a new connection resumes one */
    struct mpic_tls_files tls;
};

/* New connections to agents and how many of them needed a full handshake
 * (the others resumed a session); logged at exit. One dispatcher per process. */
static unsigned long n_connections, n_full_handshakes;

struct mpic_call {
    struct mpic_dispatch *d;
    CURL *easy;
    struct curl_slist *headers;
    char *url, *body;
    const char *expected_code;   /* the config's string: it outlives cached connections */
    char *reply;
    size_t reply_len;
    bool too_large;
    mpic_call_cb cb;
    void *arg;
    char curl_error[CURL_ERROR_SIZE];
};

static int ex_index_of_dispatch = -1;

static void call_free(struct mpic_call *c)
{
    if (c->easy != NULL)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->body);
    free(c->reply);
    free(c);
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
        snprintf(error, sizeof error, "%s", c->curl_error[0] ? c->curl_error : curl_easy_strerror(rc));
        e = error;
    }
    c->cb(e ? 0 : status, c->reply ? c->reply : "", c->reply_len, e, c->arg);
    call_free(c);
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

struct mpic_dispatch *mpic_dispatch_new(struct event_base *base, const struct mpic_tls_files *tls,
                                        struct mpic_error *err)
{
    if (ex_index_of_dispatch < 0)
        ex_index_of_dispatch = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    struct mpic_dispatch *d = calloc(1, sizeof *d);
    if (d == NULL) {
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    d->tls = *tls;   /* borrowed strings: the config outlives the dispatcher */
    if ((d->loop = mpic_curl_loop_new(base, err)) == NULL) {
        free(d);
        return NULL;
    }
    mpic_curl_loop_pool(d->loop, CONNECTIONS_PER_AGENT, CONNECTIONS_PER_AGENT * MAX_AGENTS);
    /* The multi handle shares connections among its transfers but not TLS
     * sessions: each easy handle would keep its own, and ours live for one call. */
    if ((d->share = curl_share_init()) == NULL ||
        curl_share_setopt(d->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        mpic_dispatch_free(d);
        mpic_error_set(err, "cannot create the HTTP client (curl share handle)");
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
    if (d->share != NULL)
        curl_share_cleanup(d->share);
    mpic_curl_loop_free(d->loop);
    free(d);
}

struct mpic_call *mpic_dispatch_post(struct mpic_dispatch *d, const struct mpic_perspective *p, const char *path,
                                     const char *body, unsigned timeout_ms, mpic_call_cb cb, void *arg)
{
    struct mpic_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    size_t ulen = strlen(p->url) + strlen(path) + 1;
    c->d = d;
    c->cb = cb;
    c->arg = arg;
    c->url = malloc(ulen);
    c->body = strdup(body != NULL ? body : "");
    c->expected_code = p->code;
    c->easy = curl_easy_init();
    /* "Expect:" off: no extra round trip for a 100 Continue before larger bodies. */
    c->headers = curl_slist_append(curl_slist_append(NULL, "Content-Type: application/json"), "Expect:");
    if (c->url == NULL || c->body == NULL || c->easy == NULL || c->headers == NULL)
        goto fail;
    snprintf(c->url, ulen, "%s%s", p->url, path);
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    if (body != NULL)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_error);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
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
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, c);
    curl_easy_setopt(e, CURLOPT_PROXY, "");   /* never through an environment proxy */
    curl_easy_setopt(e, CURLOPT_SHARE, d->share);
    if (mpic_curl_loop_add(d->loop, e, on_done, c, NULL) != 0)
        goto fail;
    return c;
fail:
    call_free(c);
    return NULL;
}

void mpic_call_cancel(struct mpic_call *c)
{
    mpic_curl_loop_remove(c->d->loop, c->easy);
    call_free(c);
}
