/* The rules an HTTP DCV hop's URL and request headers must meet, pure (curl's
 * URL API parses; nothing is sent): the challenge URL of each method, which
 * URL may be requested, which redirect may be followed and where it leads,
 * and which of the request's http_headers go on each hop. dcv_http.c runs the
 * hops; unit tests (tests/unit/test_agent_http_url.c) and fuzz_redirect reach
 * the rules here directly. */
#ifndef MPIC_DCV_HTTP_URL_H
#define MPIC_DCV_HTTP_URL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "dcv.h"
#include "target.h"

#define MPIC_HTTP_MAX_URL_LEN 2000   /* Boulder's limit on a redirect path */

/* The URL of the challenge: http://<target>/.well-known/acme-challenge/<token>
 * or <scheme>://<target>/.well-known/pki-validation/<http_token_path> (leading
 * '/'s of the path dropped). NULL when a parameter is missing or unusable. */
CURLU *mpic_http_challenge_url(const char *target, const struct mpic_target *ti, const struct mpic_dcv_params *p);

/* A URL that may be requested, as curl normalised it (url; host without
 * brackets or a final dot; port 80 or 443). Strings are curl_free'd by
 * mpic_http_hop_clear. */
struct mpic_http_hop {
    char *url;
    char *host;
    unsigned port;
};
void mpic_http_hop_clear(struct mpic_http_hop *hop);

/* Drops u's fragment and credentials, then checks it: http or https, port 80
 * or 443 (explicit or implied), a valid host name or IP literal without a
 * zone, at most MPIC_HTTP_MAX_URL_LEN bytes, not among seen[0..n_seen) (a
 * loop). 0 with hop filled; -1 with why (e.g. "is neither http nor https")
 * and hop->url set when the URL could be written out. */
int mpic_http_url_check(CURLU *u, char *const *seen, size_t n_seen, struct mpic_http_hop *hop, char *why,
                        size_t why_len);

enum mpic_http_next {
    MPIC_HTTP_FINAL,              /* evaluate this response */
    MPIC_HTTP_FOLLOW,             /* *next is the redirect's URL, still to be checked */
    MPIC_HTTP_REFUSED,            /* a redirect that must not be followed; why says so */
};

/* What the response with this status to current_url leads to, after
 * n_followed redirects: location is its Location header (NULL when absent).
 * Only 301, 302, 307 and 308 are followed, at most MPIC_DCV_HTTP_MAX_REDIRECTS
 * times; another 3xx with a Location is refused; the Location is resolved
 * relative to current_url. */
enum mpic_http_next mpic_http_redirect(long status, const char *current_url, const char *location, size_t n_followed,
                                       CURLU **next, char *why, size_t why_len);

/* Header names the request may not set (they would change the target or the
 * framing): dropped, not refused. */
bool mpic_http_header_dropped(const char *name);

/* Headers that carry credentials (Authorization, Cookie, Proxy-Authorization):
 * sent only to the origin of the first URL. */
bool mpic_http_header_credential(const char *name);

/* Whether two URLs have the same scheme, host and port (implied ports
 * counted): as curl decides whether its own credentials follow a redirect.
 * false when either cannot be parsed. */
bool mpic_http_same_origin(const char *a, const char *b);

/* The request's http_headers as curl header lines, without the dropped ones
 * and, unless credentials, without the credential ones, plus an Accept of any type
 * when the request names no Accept. 0 with *out (curl_slist_free_all; may be
 * NULL only if nothing is sent), or -1 with why (a header name that is no
 * token, a value with CR or LF, out of memory). */
int mpic_http_request_headers(const struct mpic_strv *names, const struct mpic_strv *values, bool credentials,
                              struct curl_slist **out, char *why, size_t why_len);

/* Replaces every octet of msg that is not part of well-formed UTF-8 with '?':
 * messages quote what a server sent, and a JSON string must be UTF-8. */
void mpic_http_make_utf8(char *msg);

#endif
