/* acme-http-01 and website-change (BR 3.2.2.4.18/.19, 3.2.2.5.1/.6): one GET,
 * redirects followed by hand. curl never resolves a name and never follows a
 * Location: every hop (the first included) is parsed with curl's URL API,
 * checked (http/https, port 80/443, a valid host, no loop, at most 10
 * redirects, only 301/302/307/308), resolved as addr_lookup.h says (the same
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
 * Trailer, Proxy-Connection, Expect), which are dropped. No Accept-Encoding is
 * sent and bodies are not decoded. HTTPS: TLS >= 1.2, HTTP/1.1, certificate
 * not verified (website-change over https proves control of the content, not
 * PKI). Body reads stop at 1 KiB (http-01) or 64 KiB (website-change); an
 * http-01 body longer than that fails, of a website-change body the part read
 * is evaluated. A name's addresses are tried in turn, IPv4 first, while
 * connecting fails. */
#include "dcv_http_internal.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curl_loop.h"
#include "dnsanswer.h"
#include "log.h"
#include "netaddr.h"
#include "wire.h"

#define HTTP01_BODY_MAX 1024u
#define WEBSITE_BODY_MAX (64u * 1024u)
#define USER_AGENT "mpic-agent"

static const char *const err_http = "mpic_error:http";
const char *const mpic_dcv_http_err_redirect = "mpic_error:redirect:invalid";
static const char *const err_lookup = "mpic_error:dcv_checker:lookup";
static const char *const err_param = "mpic_error:dcv_checker:parameter";

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
void mpic_dcv_http_finish(struct mpic_dcv_http *c, bool completed, bool passed, const char *type,
                          const char *fmt, ...)
{
    char msg[1024] = "";
    if (fmt != NULL) {   /* first: arguments may point into the transfer freed below */
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        mpic_dcv_http_make_utf8(msg);
    }
    free_hop_io(c);
    evtimer_del(c->timer);
    char *page = mpic_dcv_http_response_page(c);
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
        mpic_dcv_http_finish(c, false, false, err_lookup, "no address for %s within %u ms", c->host,
                             c->ctx.timeout_ms);
    else
        mpic_dcv_http_finish(c, false, false, err_http, "GET %s did not complete within %u ms", c->url,
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
        mpic_dcv_http_finish(c, false, false, err_http, "GET %s did not complete within %u ms", c->url,
                             c->ctx.timeout_ms);
        return;
    }
    char pin[INET6_ADDRSTRLEN + 16];
    snprintf(pin, sizeof pin, a->family == AF_INET6 ? "::[%s]:%u" : "::%s:%u", addr, c->port);
    c->connect_to = curl_slist_append(NULL, pin);
    c->easy = curl_easy_init();
    if (c->connect_to == NULL || c->easy == NULL) {
        mpic_dcv_http_finish(c, false, false, err_http, "out of memory");
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
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mpic_dcv_http_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_error);
    struct mpic_error err;
    char q[256];
    mpic_log(MPIC_LOG_DEBUG, "dcv_http_get", "url=%s addr=%s", mpic_log_quote(c->url, q, sizeof q), addr);
    if (mpic_curl_loop_add(c->ctx.curl, e, on_done, c, &err) != 0)
        mpic_dcv_http_finish(c, false, false, err_http, "%s", err.msg);
}

static void follow(struct mpic_dcv_http *c, CURL *easy, long status)
{
    char *loc = mpic_dcv_http_location_of(easy);
    if (loc == NULL || *loc == '\0') {
        free(loc);
        mpic_dcv_http_finish(c, true, false, mpic_dcv_http_err_redirect, "%ld from %s without a Location", status,
                             c->url);
        return;
    }
    if (c->n_seen > MPIC_DCV_HTTP_MAX_REDIRECTS) {
        free(loc);
        mpic_dcv_http_finish(c, true, false, mpic_dcv_http_err_redirect, "more than %d redirects (last from %s)",
                             MPIC_DCV_HTTP_MAX_REDIRECTS, c->url);
        return;
    }
    CURLU *u = curl_url();
    if (u == NULL || curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, loc, CURLU_URLENCODE) != CURLUE_OK) {
        curl_url_cleanup(u);
        mpic_dcv_http_finish(c, true, false, mpic_dcv_http_err_redirect,
                             "Location \"%.300s\" from %s cannot be parsed", loc, c->url);
        free(loc);
        return;
    }
    free(loc);
    json_t *entry = mpic_http_history_entry_json(status, c->url);
    int rc = mpic_dcv_http_take_url(c, u, mpic_dcv_http_err_redirect);
    curl_url_cleanup(u);
    if (rc != 0) {
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
        mpic_dcv_http_finish(c, true, false, err_http, "GET %s answered %ld, %s is required", c->url, s,
                             http01 ? "200" : "a 2xx status");
        return;
    }
    if (http01) {
        /* The body must be the key authorization (RFC 8555 §8.3): a prefix of a
         * longer body that happens to equal it proves nothing (Boulder refuses
         * an oversized body too). */
        if (c->truncated) {
            mpic_dcv_http_finish(c, true, false, err_http,
                                 "GET %s answered a body longer than %zu bytes; it must be the key "
                                 "authorization alone", c->url, c->body_max);
            return;
        }
        mpic_dcv_http_finish(c, true, mpic_dcv_http01_match(c->body, c->body_len, p->key_authorization), NULL, NULL);
        return;
    }
    if (!mpic_dcv_value_match(c->body, p->challenge_value, false, p->require_exact_case)) {
        mpic_dcv_http_finish(c, true, false, NULL, NULL);
        return;
    }
    if (p->match_regex == NULL) {
        mpic_dcv_http_finish(c, true, true, NULL, NULL);
        return;
    }
    char why[256] = "";
    int r = mpic_dcv_regex_match(p->match_regex, c->body, c->body_len, why, sizeof why);
    if (r < 0)
        mpic_dcv_http_finish(c, false, false, err_param, "%s", why);
    else
        mpic_dcv_http_finish(c, true, r == 1, NULL, NULL);
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
            mpic_dcv_http_finish(c, false, false, err_http, "GET %s (%s) did not complete within %u ms", c->url,
                                 c->addrs.a[c->cur].text, c->ctx.timeout_ms);
        else
            mpic_dcv_http_finish(c, false, false, err_http, "GET %s (%s): %s", c->url, c->addrs.a[c->cur].text,
                                 c->curl_error[0] ? c->curl_error : curl_easy_strerror(rc));
        return;
    }
    char *ip = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK || ip == NULL ||
        !mpic_addr_same(ip, c->addrs.a[c->cur].text)) {
        mpic_dcv_http_finish(c, false, false, err_http, "GET %s went to %s instead of the resolved %s", c->url,
                             ip ? ip : "an unknown address", c->addrs.a[c->cur].text);
        return;
    }
    free(c->response_url);
    c->response_url = strdup(c->url);
    c->response_status = status;
    char q[256];
    mpic_log(MPIC_LOG_DEBUG, "dcv_http_response", "url=%s status=%ld bytes=%zu%s",
             mpic_log_quote(c->url, q, sizeof q), status, c->body_len, c->truncated ? " truncated=1" : "");
    if (status == 301 || status == 302 || status == 307 || status == 308) {
        follow(c, easy, status);
        return;
    }
    char *loc = status >= 300 && status <= 399 ? mpic_dcv_http_location_of(easy) : NULL;
    if (loc != NULL) {
        free(loc);
        mpic_dcv_http_finish(c, true, false, mpic_dcv_http_err_redirect,
                             "%ld from %s is not an allowed redirect (301, 302, 307, 308)", status, c->url);
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
            mpic_dcv_http_finish(c, false, false, err_http, "refused to connect to %s (%s): reserved address for %s",
                                 bad->text, why, c->url);
        else
            mpic_dcv_http_finish(c, false, false, err_http, "refused to connect to %s (%s): address of %s for %s",
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
        mpic_dcv_http_finish(c, false, false, err_lookup, "%s", error);
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
        mpic_dcv_http_finish(c, false, false, err_lookup, "%s", err.msg);
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
    if (p->method != MPIC_DCV_ACME_HTTP_01 && p->method != MPIC_DCV_WEBSITE_CHANGE) {
        mpic_dcv_http_finish(c, false, false, err_param, "%s is not an HTTP method", mpic_dcv_method_name(p->method));
    } else if (ti->wildcard) {
        mpic_dcv_http_finish(c, false, false, err_param, "%s cannot validate the wildcard target %s",
                             mpic_dcv_method_name(p->method), target);
    } else if (mpic_dcv_http_build_headers(c, why, sizeof why) != 0) {
        mpic_dcv_http_finish(c, false, false, err_param, "%s", why);
    } else if ((u = mpic_dcv_http_challenge_url(target, ti, p)) == NULL) {
        mpic_dcv_http_finish(c, false, false, err_param, "cannot build the challenge URL for %s", target);
    } else if (mpic_dcv_http_take_url(c, u, err_param) == 0) {
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
