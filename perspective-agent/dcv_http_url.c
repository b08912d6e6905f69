/* The HTTP DCV check's rules for what it sends (dcv_http.c runs the hops
 * and curl): the URL of each hop, the Location of a redirect, and the request
 * headers the request may add. Pure: curl's URL API parses, nothing is sent,
 * so that the rules a URL or header must meet read in one place and unit
 * tests and a fuzzer reach them. */
#include "dcv_http_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netaddr.h"
#include "utf8.h"

/* Messages are cut to fit a buffer, maybe inside a sequence, and jansson
 * drops a string that is not UTF-8, which left an error without its message. */
void mpic_http_make_utf8(char *msg)
{
    uint8_t *s = (uint8_t *)msg;
    size_t left = strlen(msg);
    while (left > 0) {
        size_t n = mpic_utf8_seq_len(s, left);
        if (n == 0) {
            *s = '?';
            n = 1;
        }
        s += n;
        left -= n;
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

bool mpic_http_header_dropped(const char *name)
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

bool mpic_http_header_credential(const char *name)
{
    return strcasecmp(name, "authorization") == 0 || strcasecmp(name, "cookie") == 0 ||
           strcasecmp(name, "proxy-authorization") == 0;
}

static int append(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (l == NULL)
        return -1;
    *list = l;
    return 0;
}

int mpic_http_request_headers(const struct mpic_strv *names, const struct mpic_strv *values, bool credentials,
                              struct curl_slist **out, char *why, size_t why_len)
{
    struct curl_slist *list = NULL;
    bool accept_given = false;
    *out = NULL;
    for (size_t i = 0; i < names->n && i < values->n; i++) {
        const char *name = names->v[i], *value = values->v[i];
        if (!header_name_valid(name)) {
            snprintf(why, why_len, "http_headers: \"%.64s\" is not a valid header name", name);
            goto fail;
        }
        if (strpbrk(value, "\r\n") != NULL) {
            snprintf(why, why_len, "http_headers: the value of %.64s contains CR or LF", name);
            goto fail;
        }
        if (mpic_http_header_dropped(name) || (!credentials && mpic_http_header_credential(name)))
            continue;
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
        int rc = append(&list, line);
        free(line);
        if (rc != 0)
            goto oom;
    }
    if (!accept_given && append(&list, "Accept: */*") != 0)
        goto oom;
    *out = list;
    return 0;
oom:
    snprintf(why, why_len, "out of memory");
fail:
    curl_slist_free_all(list);
    return -1;
}

/* ---- URLs ---- */

void mpic_http_hop_clear(struct mpic_http_hop *hop)
{
    curl_free(hop->url);
    curl_free(hop->host);
    hop->url = hop->host = NULL;
    hop->port = 0;
}

/* host as curl gives it, without the brackets of an IPv6 literal or a final dot. */
static void bare_host(char *host)
{
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    } else if (hl > 1 && host[hl - 1] == '.') {
        host[hl - 1] = '\0';
    }
}

int mpic_http_url_check(CURLU *u, char *const *seen, size_t n_seen, struct mpic_http_hop *hop, char *why,
                        size_t why_len)
{
    char *scheme = NULL, *port = NULL, *zone = NULL;
    const char *bad = NULL;
    hop->url = hop->host = NULL;
    hop->port = 0;
    why[0] = '\0';
    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    curl_url_set(u, CURLUPART_USER, NULL, 0);       /* never send credentials from a Location */
    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
    if (curl_url_get(u, CURLUPART_URL, &hop->url, CURLU_NO_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
        bad = "cannot be parsed";
        goto refuse;
    }
    if (strlen(hop->url) > MPIC_HTTP_MAX_URL_LEN) {
        bad = "is longer than 2000 bytes";
        goto refuse;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        bad = "is neither http nor https";
        goto refuse;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        (strcmp(port, "80") != 0 && strcmp(port, "443") != 0)) {
        snprintf(why, why_len, "has port %s, not 80 or 443", port ? port : "?");
        goto refuse;
    }
    if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
        bad = "has an IPv6 zone";
        goto refuse;
    }
    if (curl_url_get(u, CURLUPART_HOST, &hop->host, 0) != CURLUE_OK || hop->host[0] == '\0') {
        bad = "has no host";
        goto refuse;
    }
    bare_host(hop->host);
    struct mpic_target ti;
    struct mpic_error terr;
    if (!mpic_addr_is_literal(hop->host) && (mpic_target_parse(hop->host, &ti, &terr) != 0 || ti.wildcard)) {
        snprintf(why, why_len, "has an invalid host name \"%.200s\"", hop->host);
        goto refuse;
    }
    for (size_t i = 0; i < n_seen; i++)
        if (strcmp(seen[i], hop->url) == 0) {
            bad = "was already requested (redirect loop)";
            goto refuse;
        }
    hop->port = strcmp(port, "80") == 0 ? 80 : 443;
    curl_free(scheme);
    curl_free(port);
    return 0;
refuse:
    if (bad != NULL)
        snprintf(why, why_len, "%s", bad);
    curl_free(hop->host);
    hop->host = NULL;
    curl_free(scheme);
    curl_free(port);
    curl_free(zone);
    return -1;
}

static bool redirect_status(long status)
{
    return status == 301 || status == 302 || status == 307 || status == 308;
}

enum mpic_http_next mpic_http_redirect(long status, const char *current_url, const char *location, size_t n_followed,
                                       CURLU **next, char *why, size_t why_len)
{
    *next = NULL;
    if (!redirect_status(status)) {
        if (status < 300 || status > 399 || location == NULL)
            return MPIC_HTTP_FINAL;
        snprintf(why, why_len, "%ld from %s is not an allowed redirect (301, 302, 307, 308)", status, current_url);
        return MPIC_HTTP_REFUSED;
    }
    if (location == NULL || *location == '\0') {
        snprintf(why, why_len, "%ld from %s without a Location", status, current_url);
        return MPIC_HTTP_REFUSED;
    }
    if (n_followed >= MPIC_DCV_HTTP_MAX_REDIRECTS) {
        snprintf(why, why_len, "more than %d redirects (last from %s)", MPIC_DCV_HTTP_MAX_REDIRECTS, current_url);
        return MPIC_HTTP_REFUSED;
    }
    CURLU *u = curl_url();
    if (u == NULL || curl_url_set(u, CURLUPART_URL, current_url, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, location, CURLU_URLENCODE) != CURLUE_OK) {
        curl_url_cleanup(u);
        snprintf(why, why_len, "Location \"%.300s\" from %s cannot be parsed", location, current_url);
        return MPIC_HTTP_REFUSED;
    }
    *next = u;
    return MPIC_HTTP_FOLLOW;
}

/* scheme, host and port of url; false when it cannot be parsed. */
static bool origin_of(const char *url, char **scheme, char **host, char **port)
{
    CURLU *u = curl_url();
    bool ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    curl_url_cleanup(u);
    if (ok)
        bare_host(*host);
    return ok;
}

bool mpic_http_same_origin(const char *a, const char *b)
{
    char *s[2] = { NULL, NULL }, *h[2] = { NULL, NULL }, *p[2] = { NULL, NULL };
    bool same = origin_of(a, &s[0], &h[0], &p[0]) && origin_of(b, &s[1], &h[1], &p[1]) &&
                strcasecmp(s[0], s[1]) == 0 && strcasecmp(h[0], h[1]) == 0 && strcmp(p[0], p[1]) == 0;
    for (int i = 0; i < 2; i++) {
        curl_free(s[i]);
        curl_free(h[i]);
        curl_free(p[i]);
    }
    return same;
}

CURLU *mpic_http_challenge_url(const char *target, const struct mpic_target *ti, const struct mpic_dcv_params *p)
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
