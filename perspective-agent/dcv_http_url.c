/* The HTTP DCV check's handling of what it sends and what it is told
 * (dcv_http.c runs the hops and curl): building and validating the URL of
 * each hop, the Location of a redirect, the request headers the request may
 * add, and the response_page and UTF-8 clean-up of what a server sent. Kept
 * apart so that the rules a URL or header must meet read in one place. */
#include "dcv_http_internal.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "netaddr.h"
#include "target.h"

#define MAX_URL_LEN 2000          /* Boulder's limit on a redirect path */
#define PAGE_BYTES 100            /* response_page: base64 of this many bytes */

/* base64 of the first PAGE_BYTES of the last body; NULL before any response. */
char *mpic_dcv_http_response_page(const struct mpic_dcv_http *c)
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
size_t mpic_dcv_http_on_body(char *data, size_t size, size_t nmemb, void *userp)
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
void mpic_dcv_http_make_utf8(char *msg)
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

int mpic_dcv_http_build_headers(struct mpic_dcv_http *c, char *why, size_t why_len)
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

/* Validates the URL held by u and makes it the next hop: url, host, port.
 * A problem is reported as type (redirect:invalid for a Location, a
 * parameter error for the URL built from the request). */
int mpic_dcv_http_take_url(struct mpic_dcv_http *c, CURLU *u, const char *type)
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
    if (!mpic_addr_is_literal(host) && (mpic_target_parse(host, &ti, &terr) != 0 || ti.wildcard)) {
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
    mpic_dcv_http_finish(c, type == mpic_dcv_http_err_redirect, false, type, "%s %.600s %s",
                         type == mpic_dcv_http_err_redirect ? "redirect to" : "URL", url ? url : "(unparseable)",
                         bad);
    curl_free(url);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(zone);
    return -1;
}

/* The final value of the Location header without surrounding whitespace
 * (curl 7.88 leaves the CR of an empty value), malloc'd; NULL when absent. */
char *mpic_dcv_http_location_of(CURL *easy)
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

/* The URL of the challenge: http://<target>/.well-known/acme-challenge/<token>
 * or <scheme>://<target>/.well-known/pki-validation/<path>. */
CURLU *mpic_dcv_http_challenge_url(const char *target, const struct mpic_target *ti,
                                   const struct mpic_dcv_params *p)
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
