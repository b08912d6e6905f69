/* acme-http-01 and website-change (BR 3.2.2.4.18/.19, 3.2.2.5.1/.6): one GET,
 * redirects followed by hand. curl never resolves a name and never follows a
 * Location: every hop (the first included) is parsed with curl's URL API,
 * checked (http/https, port 80/443, a valid host, no loop, at most 10
 * redirects, only 301/302/307/308), resolved through the agent's own
 * resolver, checked against the SSRF guard (netaddr.h), and only then pinned
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
 * is evaluated. A name with A and AAAA records is fetched over IPv4
 * first, IPv6 when the IPv4 connect fails. */
#include "dcv_check.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "curl_loop.h"
#include "dnsanswer.h"
#include "log.h"
#include "netaddr.h"
#include "wire.h"

#define MAX_REDIRECTS 10
#define MAX_URL_LEN 2000          /* Boulder's limit on a redirect path */
#define HTTP01_BODY_MAX 1024u
#define WEBSITE_BODY_MAX (64u * 1024u)
#define PAGE_BYTES 100            /* response_page: base64 of this many bytes */
#define USER_AGENT "mpic-agent"

static const char *const err_http = "mpic_error:http";
static const char *const err_redirect = "mpic_error:redirect:invalid";
static const char *const err_lookup = "mpic_error:dcv_checker:lookup";
static const char *const err_param = "mpic_error:dcv_checker:parameter";

enum { FAM_V4, FAM_V6 };

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
    struct mpic_dns_query *query[2];
    bool answered[2];
    char addr[2][INET6_ADDRSTRLEN]; /* first A / AAAA, "" when none */
    char lookup_error[2][1024];
    int fam;                        /* family being fetched */
    CURL *easy;
    struct curl_slist *connect_to;
    char curl_error[CURL_ERROR_SIZE];
    char *body;                     /* body_max + 1 bytes, NUL-terminated */
    size_t body_len, body_max;
    bool truncated;

    /* what the responses so far showed */
    char *seen[MAX_REDIRECTS + 1];  /* URLs requested, for loop detection */
    size_t n_seen;
    json_t *history;                /* redirects followed */
    char *response_url;             /* last response */
    long response_status;           /* -1 before any response */

    struct mpic_dcv_outcome pending;
};

static void free_hop_io(struct mpic_dcv_http *c)
{
    for (int i = 0; i < 2; i++) {
        mpic_resolver_cancel(c->query[i]);
        c->query[i] = NULL;
    }
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

/* Length of the well-formed UTF-8 sequence (RFC 3629) at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Messages quote what the server sent (a Location) and are cut to fit a
 * buffer; a JSON string must be UTF-8, and jansson drops one that is not,
 * which left the error without its message. Other octets become '?'. */
static void make_utf8(char *msg)
{
    unsigned char *s = (unsigned char *)msg;
    while (*s != '\0') {
        size_t n = utf8_len(s);
        if (n == 0) {
            *s++ = '?';
            continue;
        }
        s += n;
    }
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
        make_utf8(msg);
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
    if (c->query[0] != NULL || c->query[1] != NULL)
        finish(c, false, false, err_lookup, "no address for %s within %u ms", c->host, c->ctx.timeout_ms);
    else
        finish(c, false, false, err_http, "GET %s did not complete within %u ms", c->url, c->ctx.timeout_ms);
}

/* ---- request headers ---- */

static bool header_name_valid(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s) != NULL))
            return false;
    return true;
}

static bool header_dropped(const char *name)
{
    static const char *const dropped[] = {
        "host", "content-length", "transfer-encoding", "connection", "keep-alive",
        "upgrade", "te", "trailer", "proxy-connection", "expect",
    };
    for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
        if (strcasecmp(name, dropped[i]) == 0)
            return true;
    return false;
}

static int build_headers(struct mpic_dcv_http *c, char *why, size_t why_len)
{
    const struct mpic_strv *names = &c->p->http_header_names, *values = &c->p->http_header_values;
    bool accept_given = false;
    for (size_t i = 0; i < names->n && i < values->n; i++) {
        const char *name = names->v[i], *value = values->v[i];
        if (!header_name_valid(name)) {
            snprintf(why, why_len, "http_headers: \"%.64s\" is not a valid header name", name);
            return -1;
        }
        if (strpbrk(value, "\r\n") != NULL) {
            snprintf(why, why_len, "http_headers: the value of %.64s contains CR or LF", name);
            return -1;
        }
        if (header_dropped(name)) {
            mpic_log(MPIC_LOG_DEBUG, "dcv_http_header_dropped", "name=%s", name);
            continue;
        }
        if (strcasecmp(name, "accept") == 0)
            accept_given = true;
        size_t len = strlen(name) + strlen(value) + 3;
        char *line = malloc(len);
        if (line == NULL)
            goto oom;
        /* "Name;" is curl's way to send an empty value ("Name:" would remove it). */
        if (*value == '\0')
            snprintf(line, len, "%s;", name);
        else
            snprintf(line, len, "%s: %s", name, value);
        struct curl_slist *l = curl_slist_append(c->headers, line);
        free(line);
        if (l == NULL)
            goto oom;
        c->headers = l;
    }
    if (!accept_given) {
        struct curl_slist *l = curl_slist_append(c->headers, "Accept: */*");
        if (l == NULL)
            goto oom;
        c->headers = l;
    }
    return 0;
oom:
    snprintf(why, why_len, "out of memory");
    return -1;
}

/* ---- one hop ---- */

static void resolve(struct mpic_dcv_http *c);
static void on_done(CURL *easy, CURLcode rc, void *arg);

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

static bool is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static bool same_address(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    if (inet_pton(AF_INET, a, x) == 1)
        return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
    return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
}

/* Validates the URL held by u and makes it the next hop: url, host, port.
 * A problem is reported as type (redirect:invalid for a Location, a
 * parameter error for the URL built from the request). */
static int take_url(struct mpic_dcv_http *c, CURLU *u, const char *type)
{
    char *url = NULL, *scheme = NULL, *host = NULL, *port = NULL, *zone = NULL;
    const char *bad = NULL;
    char detail[300] = "";
    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    curl_url_set(u, CURLUPART_USER, NULL, 0);       /* never send credentials from a Location */
    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    if (curl_url_get(u, CURLUPART_URL, &url, CURLU_NO_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        bad = "cannot be parsed";
        goto refuse;
    }
    if (strlen(url) > MAX_URL_LEN) {
        bad = "is longer than 2000 bytes";
        goto refuse;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        bad = "is neither http nor https";
        goto refuse;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        (strcmp(port, "80") != 0 && strcmp(port, "443") != 0)) {
        snprintf(detail, sizeof detail, "has port %s, not 80 or 443", port ? port : "?");
        bad = detail;
        goto refuse;
    }
    if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
        bad = "has an IPv6 zone";
        goto refuse;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
        bad = "has no host";
        goto refuse;
    }
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    } else if (hl > 1 && host[hl - 1] == '.') {
        host[hl - 1] = '\0';
    }
    struct mpic_target ti;
    struct mpic_error terr;
    if (!is_ip_literal(host) && (mpic_target_parse(host, &ti, &terr) != 0 || ti.wildcard)) {
        snprintf(detail, sizeof detail, "has an invalid host name \"%.200s\"", host);
        bad = detail;
        goto refuse;
    }
    for (size_t i = 0; i < c->n_seen; i++)
        if (strcmp(c->seen[i], url) == 0) {
            bad = "was already requested (redirect loop)";
            goto refuse;
        }
    if ((c->seen[c->n_seen] = strdup(url)) == NULL) {
        bad = "cannot be stored (out of memory)";
        goto refuse;
    }
    c->n_seen++;
    curl_free(c->url);
    curl_free(c->host);
    c->url = url;
    c->host = host;
    c->port = strcmp(port, "80") == 0 ? 80 : 443;
    curl_free(scheme);
    curl_free(port);
    return 0;
refuse:
    finish(c, type == err_redirect, false, type, "%s %.600s %s", type == err_redirect ? "redirect to" : "URL",
           url ? url : "(unparseable)", bad);
    curl_free(url);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(zone);
    return -1;
}

/* Connects to the address of family c->fam, if the SSRF guard allows it. */
static void fetch(struct mpic_dcv_http *c)
{
    free_hop_io(c);     /* the previous hop's transfer, if any */
    const char *addr = c->addr[c->fam];
    const char *why = NULL;
    if (!c->ctx.allow_private_targets && mpic_addr_is_reserved(addr, &why)) {
        if (strcmp(addr, c->host) == 0)
            finish(c, false, false, err_http, "refused to connect to %s (%s): reserved address for %s",
                   addr, why ? why : "reserved", c->url);
        else
            finish(c, false, false, err_http, "refused to connect to %s (%s): address of %s for %s",
                   addr, why ? why : "reserved", c->host, c->url);
        return;
    }
    long left = remaining_ms(c);
    if (left <= 0) {
        finish(c, false, false, err_http, "GET %s did not complete within %u ms", c->url, c->ctx.timeout_ms);
        return;
    }
    char pin[INET6_ADDRSTRLEN + 16];
    snprintf(pin, sizeof pin, c->fam == FAM_V6 ? "::[%s]:%u" : "::%s:%u", addr, c->port);
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
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_error);
    struct mpic_error err;
    char q[256];
    mpic_log(MPIC_LOG_DEBUG, "dcv_http_get", "url=%s addr=%s", mpic_log_quote(c->url, q, sizeof q), addr);
    if (mpic_curl_loop_add(c->ctx.curl, e, on_done, c, &err) != 0)
        finish(c, false, false, err_http, "%s", err.msg);
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

static void follow(struct mpic_dcv_http *c, CURL *easy, long status)
{
    char *loc = location_of(easy);
    if (loc == NULL || *loc == '\0') {
        free(loc);
        finish(c, true, false, err_redirect, "%ld from %s without a Location", status, c->url);
        return;
    }
    if (c->n_seen > MAX_REDIRECTS) {
        free(loc);
        finish(c, true, false, err_redirect, "more than %d redirects (last from %s)", MAX_REDIRECTS, c->url);
        return;
    }
    CURLU *u = curl_url();
    if (u == NULL || curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, loc, CURLU_URLENCODE) != CURLUE_OK) {
        curl_url_cleanup(u);
        finish(c, true, false, err_redirect, "Location \"%.300s\" from %s cannot be parsed", loc, c->url);
        free(loc);
        return;
    }
    free(loc);
    json_t *entry = mpic_http_history_entry_json(status, c->url);
    int rc = take_url(c, u, err_redirect);
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
        finish(c, true, false, err_http, "GET %s answered %ld, %s is required", c->url, s,
               http01 ? "200" : "a 2xx status");
        return;
    }
    if (http01) {
        /* The body must be the key authorization (RFC 8555 §8.3): a prefix of a
         * longer body that happens to equal it proves nothing (Boulder refuses
         * an oversized body too). */
        if (c->truncated) {
            finish(c, true, false, err_http, "GET %s answered a body longer than %zu bytes; it must be the key "
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
        if (rc == CURLE_COULDNT_CONNECT && c->fam == FAM_V4 && c->addr[FAM_V6][0] != '\0') {
            c->fam = FAM_V6;
            fetch(c);
            return;
        }
        if (rc == CURLE_OPERATION_TIMEDOUT)
            finish(c, false, false, err_http, "GET %s (%s) did not complete within %u ms", c->url,
                   c->addr[c->fam], c->ctx.timeout_ms);
        else
            finish(c, false, false, err_http, "GET %s (%s): %s", c->url, c->addr[c->fam],
               c->curl_error[0] ? c->curl_error : curl_easy_strerror(rc));
        return;
    }
    char *ip = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_PRIMARY_IP, &ip) != CURLE_OK || ip == NULL ||
        !same_address(ip, c->addr[c->fam])) {
        finish(c, false, false, err_http, "GET %s went to %s instead of the resolved %s", c->url,
               ip ? ip : "an unknown address", c->addr[c->fam]);
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
    char *loc = status >= 300 && status <= 399 ? location_of(easy) : NULL;
    if (loc != NULL) {
        free(loc);
        finish(c, true, false, err_redirect, "%ld from %s is not an allowed redirect (301, 302, 307, 308)",
               status, c->url);
        return;
    }
    evaluate(c);
}

/* ---- name resolution ---- */

static void addresses_known(struct mpic_dcv_http *c)
{
    if (c->addr[FAM_V4][0] != '\0')
        c->fam = FAM_V4;
    else if (c->addr[FAM_V6][0] != '\0')
        c->fam = FAM_V6;
    else if (c->lookup_error[FAM_V4][0] != '\0' || c->lookup_error[FAM_V6][0] != '\0') {
        finish(c, false, false, err_lookup, "%s",
               c->lookup_error[FAM_V4][0] ? c->lookup_error[FAM_V4] : c->lookup_error[FAM_V6]);
        return;
    } else {
        finish(c, false, false, err_lookup, "%s has no A or AAAA records", c->host);
        return;
    }
    fetch(c);
}

static void answered(struct mpic_dcv_http *c, int fam, struct mpic_dns_result *res)
{
    const char *tname = fam == FAM_V4 ? "A" : "AAAA";
    ldns_rr_type type = fam == FAM_V4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
    char *err = c->lookup_error[fam];
    size_t elen = sizeof c->lookup_error[fam];
    c->query[fam] = NULL;
    c->answered[fam] = true;
    if (res->status != MPIC_DNS_OK) {
        snprintf(err, elen, "%s lookup of %s failed: %s", tname, c->host, res->error);
    } else {
        ldns_pkt_rcode rcode = ldns_pkt_get_rcode(res->pkt);
        if (rcode == LDNS_RCODE_NXDOMAIN) {
            snprintf(err, elen, "%s does not exist (NXDOMAIN)", c->host);
        } else if (rcode != LDNS_RCODE_NOERROR) {
            ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
            snprintf(err, elen, "%s lookup of %s answered %s from %s", tname, c->host,
                     t ? t->name : "an error", res->server);
        } else {
            struct mpic_dns_rrset set;
            struct mpic_error xerr;
            if (mpic_dns_answer_extract(res->pkt, c->host, type, &set, &xerr) != 0) {
                snprintf(err, elen, "%s lookup of %s: %s", tname, c->host, xerr.msg);
            } else {
                if (ldns_rr_list_rr_count(set.rrs) > 0) {
                    const ldns_rdf *rd = ldns_rr_rdf(ldns_rr_list_rr(set.rrs, 0), 0);
                    size_t want = fam == FAM_V4 ? 4 : 16;
                    if (rd != NULL && ldns_rdf_size(rd) == want)
                        inet_ntop(fam == FAM_V4 ? AF_INET : AF_INET6, ldns_rdf_data(rd), c->addr[fam],
                                  sizeof c->addr[fam]);
                }
                mpic_dns_rrset_free(&set);
            }
        }
    }
    if (c->answered[FAM_V4] && c->answered[FAM_V6])
        addresses_known(c);
}

static void on_a(struct mpic_dns_result *res, void *arg)
{
    answered(arg, FAM_V4, res);
}

static void on_aaaa(struct mpic_dns_result *res, void *arg)
{
    answered(arg, FAM_V6, res);
}

/* Finds the address of c->host (or takes the literal) and fetches. */
static void resolve(struct mpic_dcv_http *c)
{
    free_hop_io(c);
    for (int i = 0; i < 2; i++) {
        c->answered[i] = false;
        c->addr[i][0] = '\0';
        c->lookup_error[i][0] = '\0';
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET, c->host, buf) == 1 || inet_pton(AF_INET6, c->host, buf) == 1) {
        c->fam = strchr(c->host, ':') != NULL ? FAM_V6 : FAM_V4;
        snprintf(c->addr[c->fam], sizeof c->addr[c->fam], "%s", c->host);
        fetch(c);
        return;
    }
    struct mpic_error err;
    c->query[FAM_V4] = mpic_resolver_query(c->ctx.resolver, c->host, LDNS_RR_TYPE_A, on_a, c, &err);
    if (c->query[FAM_V4] == NULL) {
        finish(c, false, false, err_lookup, "A lookup of %s: %s", c->host, err.msg);
        return;
    }
    c->query[FAM_V6] = mpic_resolver_query(c->ctx.resolver, c->host, LDNS_RR_TYPE_AAAA, on_aaaa, c, &err);
    if (c->query[FAM_V6] == NULL)
        finish(c, false, false, err_lookup, "AAAA lookup of %s: %s", c->host, err.msg);
}

/* ---- start / cancel ---- */

/* The URL of the challenge: http://<target>/.well-known/acme-challenge/<token>
 * or <scheme>://<target>/.well-known/pki-validation/<path>. */
static CURLU *challenge_url(const char *target, const struct mpic_target *ti, const struct mpic_dcv_params *p)
{
    bool http01 = p->method == MPIC_DCV_ACME_HTTP_01;
    const char *tail = http01 ? p->token : p->http_token_path;
    if (tail == NULL)
        return NULL;
    size_t len = strlen(target) + strlen(tail) + 40;
    char *host = malloc(len), *path = malloc(len);
    CURLU *u = curl_url();
    if (host == NULL || path == NULL || u == NULL)
        goto fail;
    snprintf(host, len, ti->kind == MPIC_TARGET_IPV6 ? "[%s]" : "%s", target);
    while (*tail == '/')
        tail++;
    snprintf(path, len, "/.well-known/%s/%s", http01 ? "acme-challenge" : "pki-validation", tail);
    if (curl_url_set(u, CURLUPART_SCHEME, !http01 && p->url_scheme_https ? "https" : "http", 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_HOST, host, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_PATH, path, CURLU_URLENCODE) != CURLUE_OK)
        goto fail;
    free(host);
    free(path);
    return u;
fail:
    curl_url_cleanup(u);
    free(host);
    free(path);
    return NULL;
}

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
        finish(c, false, false, err_param, "%s is not an HTTP method", mpic_dcv_method_name(p->method));
    } else if (ti->wildcard) {
        finish(c, false, false, err_param, "%s cannot validate the wildcard target %s",
               mpic_dcv_method_name(p->method), target);
    } else if (build_headers(c, why, sizeof why) != 0) {
        finish(c, false, false, err_param, "%s", why);
    } else if ((u = challenge_url(target, ti, p)) == NULL) {
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
