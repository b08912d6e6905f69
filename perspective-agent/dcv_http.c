/* acme-http-01 and website-change (BR 3.2.2.4.18/.19, 3.2.2.5.1/.6): one GET,
 * redirects followed by hand. curl never resolves a name and never follows a
 * Location: every hop (the first included) is parsed with curl's URL API,
 * checked by the rules of dcv_http_url.h (http/https, port 80/443, a valid
 * host, no loop, at most MPIC_DCV_HTTP_MAX_REDIRECTS redirects, only
 * 301/302/307/308), resolved as addr_lookup.h says (the same
 * policy as TLS-ALPN), every address checked against the SSRF guard
 * (netaddr.h), and only then pinned
 * with CURLOPT_CONNECT_TO and fetched on a fresh connection. CONNECT_TO to
 * an IP literal rather than CURLOPT_RESOLVE: RESOLVE entries live in the DNS
 * cache of the shared multi handle, where one check's pin would outlive it;
 * curl never looks up a literal, and the address actually used
 * (CURLINFO_PRIMARY_IP) is checked against the pin after each transfer.
 *
 * Details: response_history lists the redirect responses that were followed
 * ({status_code, url}; null when none); response_url, response_status_code
 * and response_page describe the last response received, which for a refused
 * redirect is that redirect.
 *
 * Outcomes:
 *   pass / wrong body                 completed, passed true/false, errors null
 *   final status not 200 (http-01)
 *   or not 2xx (website-change)       completed, not passed, mpic_error:http naming the status
 *   http-01 body over the read limit  completed, not passed, mpic_error:http
 *   bad redirect                      completed, not passed, mpic_error:redirect:invalid
 *   name resolution failed            not completed, mpic_error:dcv_checker:lookup
 *   reserved address refused,
 *   connect/TLS/transfer error,
 *   timeout                           not completed, mpic_error:http
 *   wildcard target, bad header,
 *   bad or runaway regex              not completed, mpic_error:dcv_checker:parameter
 *
 * Request headers: User-Agent "mpic-agent" and an Accept of any type unless the
 * request's http_headers name them; the other http_headers are sent on every
 * hop except those that would change the target or the framing (Host,
 * Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE,
 * Trailer, Proxy-Connection, Expect), which are dropped. Those that carry
 * credentials (Authorization, Cookie, Proxy-Authorization) go only to hops
 * with the first URL's scheme, host and port, as curl treats its own
 * credentials on a redirect. No Accept-Encoding is
 * sent and bodies are not decoded. HTTPS: TLS >= 1.2, HTTP/1.1, certificate
 * not verified (website-change over https proves control of the content, not
 * PKI). Body reads stop at 1 KiB (http-01) or 64 KiB (website-change); an
 * http-01 body longer than that fails, of a website-change body the part read
 * is evaluated. A name's addresses are tried in turn, IPv4 first, while
 * connecting fails. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr_lookup.h"
#include "curl_loop.h"
#include "dcv_check.h"
#include "dcv_http_url.h"
#include "dnsanswer.h"
#include "log.h"
#include "netaddr.h"
#include "wire.h"

#define HTTP01_BODY_MAX 1024u
#define WEBSITE_BODY_MAX (64u * 1024u)
#define PAGE_BYTES 100            /* response_page: base64 of this many bytes */
#define USER_AGENT "mpic-agent"

static const char *const err_http = MPIC_ERR_HTTP;
static const char *const err_redirect = MPIC_ERR_REDIRECT_INVALID;
static const char *const err_lookup = MPIC_ERR_DCV_LOOKUP;
static const char *const err_param = MPIC_ERR_DCV_PARAMETER;

struct mpic_dcv_http {
    struct mpic_dcv_ctx ctx;
    const struct mpic_dcv_params *p;
    mpic_dcv_cb cb;
    void *arg;
    struct timespec deadline;
    struct event *timer;            /* the whole check's budget */
    struct event *later;            /* reports an outcome decided inside start */
    bool starting;                  /* still inside mpic_dcv_http_start */
    struct curl_slist *headers;     /* built once: to the first URL's origin */
    struct curl_slist *headers_elsewhere;   /* the same without credentials: to other origins */

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


/* base64 of the first PAGE_BYTES of the last body; NULL before any response. */
static char *response_page(const struct mpic_dcv_http *c)
{
    if (c->response_status < 0)
        return NULL;
    size_t n = c->body_len < PAGE_BYTES ? c->body_len : PAGE_BYTES;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)c->body, (int)n);
    return out;
}

/* curl's write callback: keeps the first body_max bytes and ends the transfer past them. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct mpic_dcv_http *c = userp;
    size_t n = size * nmemb, room = c->body_max - c->body_len;
    if (n > room) {
        memcpy(c->body + c->body_len, data, room);
        c->body_len += room;
        c->body[c->body_len] = '\0';
        c->truncated = true;
        return 0;   /* enough: ends the transfer with CURLE_WRITE_ERROR */
    }
    memcpy(c->body + c->body_len, data, n);
    c->body_len += n;
    c->body[c->body_len] = '\0';
    return n;
}

/* The final value of the Location header without surrounding whitespace
 * (curl 7.88 leaves the CR of an empty value), malloc'd; NULL when absent. */
static char *location_of(CURL *easy)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(easy, "Location", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return NULL;
    size_t last = h->amount - 1;
    if (last > 0 && curl_easy_header(easy, "Location", last, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return NULL;
    const char *v = h->value;
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    return strndup(v, n);
}

static void free_hop_io(struct mpic_dcv_http *c)
{
    mpic_addr_lookup_cancel(c->lookup);
    c->lookup = NULL;
    if (c->easy != NULL) {
        mpic_curl_loop_remove(c->ctx.curl, c->easy);
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
    }
    curl_slist_free_all(c->connect_to);
    c->connect_to = NULL;
}

static void check_free(struct mpic_dcv_http *c)
{
    free_hop_io(c);
    if (c->timer != NULL)
        event_free(c->timer);
    if (c->later != NULL)
        event_free(c->later);
    curl_slist_free_all(c->headers);
    curl_slist_free_all(c->headers_elsewhere);
    curl_free(c->url);
    curl_free(c->host);
    free(c->body);
    for (size_t i = 0; i < c->n_seen; i++)
        free(c->seen[i]);
    json_decref(c->history);
    free(c->response_url);
    json_decref(c->pending.errors);
    json_decref(c->pending.details);
    free(c);
}

static void deliver(struct mpic_dcv_http *c)
{
    c->cb(&c->pending, c->arg);
    check_free(c);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    deliver(arg);
}

/* Ends the check: stops what is in flight and reports, from the loop. type
 * NULL means no error. */
static void finish(struct mpic_dcv_http *c, bool completed, bool passed, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void finish(struct mpic_dcv_http *c, bool completed, bool passed, const char *type, const char *fmt, ...)
{
    char msg[1024] = "";
    if (fmt != NULL) {   /* first: arguments may point into the transfer freed below */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        mpic_http_make_utf8(msg);
    }
    free_hop_io(c);
    evtimer_del(c->timer);
    char *page = response_page(c);
    c->pending.completed = completed;
    c->pending.passed = passed;
    c->pending.errors = type != NULL ? mpic_error_list_append(NULL, type, msg) : NULL;
    c->pending.details = mpic_dcv_http_details_json(c->p->method, c->history, c->response_url,
                                                    c->response_status, page);
    c->history = NULL;
    free(page);
    char q1[256], q2[256];
    mpic_log(MPIC_LOG_INFO, "dcv_http_done", "method=%s completed=%d passed=%d url=%s error=%s",
             mpic_dcv_method_name(c->p->method), completed, passed,
             mpic_log_quote(c->response_url ? c->response_url : c->url, q1, sizeof q1),
             mpic_log_quote(type ? msg : NULL, q2, sizeof q2));
    if (c->starting)
        event_active(c->later, EV_TIMEOUT, 0);
    else
        deliver(c);
}

static long remaining_ms(const struct mpic_dcv_http *c)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (c->deadline.tv_sec - now.tv_sec) * 1000L + (c->deadline.tv_nsec - now.tv_nsec) / 1000000L;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dcv_http *c = arg;
    if (c->lookup != NULL)
        finish(c, false, false, err_lookup, "no address for %s within %u ms", c->host,
                             c->ctx.timeout_ms);
    else
        finish(c, false, false, err_http, "GET %s did not complete within %u ms", c->url,
                             c->ctx.timeout_ms);
}

/* ---- one hop ---- */

static void resolve(struct mpic_dcv_http *c);
static void on_done(CURL *easy, CURLcode rc, void *arg);

/* Fetches from address c->cur, which the SSRF guard has passed. */
static void fetch(struct mpic_dcv_http *c)
{
    free_hop_io(c);     /* the previous hop's or address's transfer, if any */
    const struct mpic_addr *a = &c->addrs.a[c->cur];
    const char *addr = a->text;
    long left = remaining_ms(c);
    if (left <= 0) {
        finish(c, false, false, err_http, "GET %s did not complete within %u ms", c->url,
                             c->ctx.timeout_ms);
        return;
    }
    char pin[INET6_ADDRSTRLEN + 16];
    snprintf(pin, sizeof pin, a->family == AF_INET6 ? "::[%s]:%u" : "::%s:%u", addr, c->port);
    c->connect_to = curl_slist_append(NULL, pin);
    c->easy = curl_easy_init();
    if (c->connect_to == NULL || c->easy == NULL) {
        finish(c, false, false, err_http, "out of memory");
        return;
    }
    c->body_len = 0;
    c->body[0] = '\0';
    c->truncated = false;
    c->curl_error[0] = '\0';
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);   /* a cached connection may lead elsewhere */
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, left);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, left);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
    /* Credentials the request gave are for the origin it named, not for where that sends us. */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                     mpic_http_same_origin(c->seen[0], c->url) ? c->headers : c->headers_elsewhere);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_error);
    struct mpic_error err;
    char q[256];
    mpic_log(MPIC_LOG_DEBUG, "dcv_http_get", "url=%s addr=%s", mpic_log_quote(c->url, q, sizeof q), addr);
    if (mpic_curl_loop_add(c->ctx.curl, e, on_done, c, &err) != 0)
        finish(c, false, false, err_http, "%s", err.msg);
}

/* Checks the URL held by u (dcv_http_url.h) and makes it the next hop. A
 * problem is reported as type: redirect:invalid for a Location, a parameter
 * error for the URL built from the request. */
static int take_url(struct mpic_dcv_http *c, CURLU *u, const char *type)
{
    struct mpic_http_hop hop;
    char why[300];
    if (mpic_http_url_check(u, c->seen, c->n_seen, &hop, why, sizeof why) != 0 ||
        (c->seen[c->n_seen] = strdup(hop.url)) == NULL) {
        if (hop.host != NULL)   /* it passed: the copy failed */
            snprintf(why, sizeof why, "cannot be stored (out of memory)");
        finish(c, type == err_redirect, false, type, "%s %.600s %s", type == err_redirect ? "redirect to" : "URL",
               hop.url ? hop.url : "(unparseable)", why);
        mpic_http_hop_clear(&hop);
        return -1;
    }
    c->n_seen++;
    curl_free(c->url);
    curl_free(c->host);
    c->url = hop.url;
    c->host = hop.host;
    c->port = hop.port;
    return 0;
}

static void follow(struct mpic_dcv_http *c, CURLU *u, long status)
{
    json_t *entry = mpic_http_history_entry_json(status, c->url);
    if (take_url(c, u, err_redirect) != 0) {
        json_decref(entry);
        return;
    }
    if (c->history == NULL)
        c->history = json_array();
    json_array_append_new(c->history, entry);
    resolve(c);
}

static void evaluate(struct mpic_dcv_http *c)
{
    const struct mpic_dcv_params *p = c->p;
    long s = c->response_status;
    bool http01 = p->method == MPIC_DCV_ACME_HTTP_01;
    if (http01 ? s != 200 : (s < 200 || s > 299)) {
        finish(c, true, false, err_http, "GET %s answered %ld, %s is required", c->url, s,
                             http01 ? "200" : "a 2xx status");
        return;
    }
    if (http01) {
        /* The body must be the key authorization (RFC 8555 §8.3): a prefix of a
         * longer body that happens to equal it proves nothing (Boulder refuses
         * an oversized body too). */
        if (c->truncated) {
            finish(c, true, false, err_http,
                                 "GET %s answered a body longer than %zu bytes; it must be the key "
                                 "authorization alone", c->url, c->body_max);
            return;
        }
        finish(c, true, mpic_dcv_http01_match(c->body, c->body_len, p->key_authorization), NULL, NULL);
        return;
    }
    if (!mpic_dcv_value_match(c->body, p->challenge_value, false, p->require_exact_case)) {
        finish(c, true, false, NULL, NULL);
        return;
    }
    if (p->match_regex == NULL) {
        finish(c, true, true, NULL, NULL);
        return;
    }
    char why[256] = "";
    int r = mpic_dcv_regex_match(p->match_regex, c->body, c->body_len, why, sizeof why);
    if (r < 0)
        finish(c, false, false, err_param, "%s", why);
    else
        finish(c, true, r == 1, NULL, NULL);
}

static void on_done(CURL *easy, CURLcode rc, void *arg)
{
    struct mpic_dcv_http *c = arg;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && c->truncated)) {
        if (rc == CURLE_COULDNT_CONNECT && c->cur + 1 < c->addrs.n) {
            c->cur++;
            fetch(c);
            return;
        }
        if (rc == CURLE_OPERATION_TIMEDOUT)
            finish(c, false, false, err_http, "GET %s (%s) did not complete within %u ms", c->url,
                                 c->addrs.a[c->cur].text, c->ctx.timeout_ms);
        else
            finish(c, false, false, err_http, "GET %s (%s): %s", c->url, c->addrs.a[c->cur].text,
                                 c->curl_error[0] ? c->curl_error : curl_easy_strerror(rc));
        return;
    }
    char *ip = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK || ip == NULL ||
        !mpic_addr_same(ip, c->addrs.a[c->cur].text)) {
        finish(c, false, false, err_http, "GET %s went to %s instead of the resolved %s", c->url,
                             ip ? ip : "an unknown address", c->addrs.a[c->cur].text);
        return;
    }
    free(c->response_url);
    c->response_url = strdup(c->url);
    c->response_status = status;
    char q[256];
    mpic_log(MPIC_LOG_DEBUG, "dcv_http_response", "url=%s status=%ld bytes=%zu%s",
             mpic_log_quote(c->url, q, sizeof q), status, c->body_len, c->truncated ? " truncated=1" : "");
    char *loc = status >= 300 && status <= 399 ? location_of(easy) : NULL;
    char why[1024];
    CURLU *next = NULL;
    enum mpic_http_next n = mpic_http_redirect(status, c->url, loc, c->n_seen - 1, &next, why, sizeof why);
    free(loc);
    if (n == MPIC_HTTP_REFUSED) {
        finish(c, true, false, err_redirect, "%s", why);
        return;
    }
    if (n == MPIC_HTTP_FOLLOW) {
        follow(c, next, status);
        curl_url_cleanup(next);
        return;
    }
    evaluate(c);
}

/* ---- name resolution ---- */

/* The SSRF guard over every address of the hop, then the first fetch. */
static void addresses_known(struct mpic_dcv_http *c)
{
    const char *why = NULL;
    const struct mpic_addr *bad = mpic_addr_list_refused(&c->addrs, c->ctx.allow_private_targets, &why);
    if (bad != NULL) {
        if (strcmp(bad->text, c->host) == 0)
            finish(c, false, false, err_http, "refused to connect to %s (%s): reserved address for %s",
                                 bad->text, why, c->url);
        else
            finish(c, false, false, err_http, "refused to connect to %s (%s): address of %s for %s",
                                 bad->text, why, c->host, c->url);
        return;
    }
    c->cur = 0;
    fetch(c);
}

static void on_addresses(const struct mpic_addr_list *found, const char *error, void *arg)
{
    struct mpic_dcv_http *c = arg;
    c->lookup = NULL;   /* frees itself once we return */
    if (found == NULL) {
        finish(c, false, false, err_lookup, "%s", error);
        return;
    }
    c->addrs = *found;
    addresses_known(c);
}

/* Finds the addresses of c->host (or takes the literal) and fetches. */
static void resolve(struct mpic_dcv_http *c)
{
    free_hop_io(c);
    c->addrs.n = 0;
    if (mpic_addr_list_add_literal(&c->addrs, c->host) == 0) {
        addresses_known(c);
        return;
    }
    struct mpic_error err;
    c->lookup = mpic_addr_lookup_start(c->ctx.resolver, c->host, on_addresses, c, &err);
    if (c->lookup == NULL)
        finish(c, false, false, err_lookup, "%s", err.msg);
}

/* ---- start / cancel ---- */

struct mpic_dcv_http *mpic_dcv_http_start(const struct mpic_dcv_ctx *ctx, const char *target,
                                          const struct mpic_target *ti, const struct mpic_dcv_params *p,
                                          mpic_dcv_cb cb, void *arg, struct mpic_error *err)
{
    if (ctx->curl == NULL) {
        mpic_error_set(err, "HTTP checks need the agent's curl loop (mpic_dcv_ctx.curl)");
        return NULL;
    }
    struct mpic_dcv_http *c = calloc(1, sizeof *c);
    if (c == NULL) {
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    c->ctx = *ctx;
    c->p = p;
    c->cb = cb;
    c->arg = arg;
    c->starting = true;
    c->response_status = -1;
    c->body_max = p->method == MPIC_DCV_ACME_HTTP_01 ? HTTP01_BODY_MAX : WEBSITE_BODY_MAX;
    c->body = malloc(c->body_max + 1);
    c->timer = evtimer_new(ctx->base, on_deadline, c);
    c->later = evtimer_new(ctx->base, on_later, c);
    if (c->body == NULL || c->timer == NULL || c->later == NULL) {
        check_free(c);
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    c->body[0] = '\0';
    clock_gettime(CLOCK_MONOTONIC, &c->deadline);
    c->deadline.tv_sec += ctx->timeout_ms / 1000;
    c->deadline.tv_nsec += (long)(ctx->timeout_ms % 1000) * 1000000L;
    if (c->deadline.tv_nsec >= 1000000000L) {
        c->deadline.tv_sec++;
        c->deadline.tv_nsec -= 1000000000L;
    }
    struct timeval tv = { ctx->timeout_ms / 1000, (ctx->timeout_ms % 1000) * 1000 };
    evtimer_add(c->timer, &tv);

    char why[256];
    CURLU *u = NULL;
    for (size_t i = 0; i < p->http_header_names.n; i++)
        if (mpic_http_header_dropped(p->http_header_names.v[i]))
            mpic_log(MPIC_LOG_DEBUG, "dcv_http_header_dropped", "name=%s", p->http_header_names.v[i]);
    if (p->method != MPIC_DCV_ACME_HTTP_01 && p->method != MPIC_DCV_WEBSITE_CHANGE) {
        finish(c, false, false, err_param, "%s is not an HTTP method", mpic_dcv_method_name(p->method));
    } else if (ti->wildcard) {
        finish(c, false, false, err_param, "%s cannot validate the wildcard target %s",
                             mpic_dcv_method_name(p->method), target);
    } else if (mpic_http_request_headers(&p->http_header_names, &p->http_header_values, true, &c->headers, why,
                                         sizeof why) != 0 ||
               mpic_http_request_headers(&p->http_header_names, &p->http_header_values, false,
                                         &c->headers_elsewhere, why, sizeof why) != 0) {
        finish(c, false, false, err_param, "%s", why);
    } else if ((u = mpic_http_challenge_url(target, ti, p)) == NULL) {
        finish(c, false, false, err_param, "cannot build the challenge URL for %s", target);
    } else if (take_url(c, u, err_param) == 0) {
        resolve(c);
    }
    curl_url_cleanup(u);
    c->starting = false;
    return c;
}

void mpic_dcv_http_cancel(struct mpic_dcv_http *c)
{
    if (c != NULL)
        check_free(c);
}
