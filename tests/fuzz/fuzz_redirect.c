/* Feeds a chain of redirects to the HTTP DCV check's URL rules
 * (perspective-agent/dcv_http_url.c), as a hostile web server could send
 * them: each line after the first is one response, its first octet choosing
 * the status (and whether a Location is sent at all), the rest its Location;
 * the first line is the URL of the challenge. Besides no crash and no leak,
 * it holds the rules to what they promise: a URL taken is http or https on
 * port 80 or 443, at most MPIC_HTTP_MAX_URL_LEN long, never taken twice, and
 * no more than MPIC_DCV_HTTP_MAX_REDIRECTS redirects are followed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dcv_http_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = { 301, 302, 307, 308, 303, 300, 200, 399 };

/* Aborts when a taken URL breaks a promise of mpic_http_url_check. */
static void promise(const struct mpic_http_hop *hop, char *const *seen, size_t n_seen)
{
    if (hop->port != 80 && hop->port != 443)
        abort();
    if (strlen(hop->url) > MPIC_HTTP_MAX_URL_LEN || hop->host == NULL || hop->host[0] == '\0')
        abort();
    if (strncmp(hop->url, "http://", 7) != 0 && strncmp(hop->url, "https://", 8) != 0)
        abort();
    for (size_t i = 0; i < n_seen; i++)
        if (strcmp(seen[i], hop->url) == 0)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';   /* an embedded NUL ends that line early, as a C string would */

    char *seen[MPIC_DCV_HTTP_MAX_REDIRECTS + 1];
    size_t n_seen = 0, followed = 0;
    char why[1024];
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    CURLU *u = curl_url();
    if (line == NULL || u == NULL || curl_url_set(u, CURLUPART_URL, line, 0) != CURLUE_OK)
        goto done;
    struct mpic_http_hop hop;
    if (mpic_http_url_check(u, seen, n_seen, &hop, why, sizeof why) != 0) {
        mpic_http_make_utf8(why);
        mpic_http_hop_clear(&hop);
        goto done;
    }
    promise(&hop, seen, n_seen);
    seen[n_seen++] = strdup(hop.url);
    mpic_http_hop_clear(&hop);

    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        uint8_t op = (uint8_t)line[0];
        long status = statuses[op & 7];
        const char *loc = op & 8 ? NULL : line + 1;
        CURLU *next = NULL;
        enum mpic_http_next n = mpic_http_redirect(status, seen[n_seen - 1], loc, followed, &next, why, sizeof why);
        if (n != MPIC_HTTP_FOLLOW) {
            if (next != NULL || (n == MPIC_HTTP_REFUSED && why[0] == '\0'))
                abort();
            mpic_http_make_utf8(why);
            break;
        }
        if (followed >= MPIC_DCV_HTTP_MAX_REDIRECTS)
            abort();
        int rc = mpic_http_url_check(next, seen, n_seen, &hop, why, sizeof why);
        curl_url_cleanup(next);
        if (rc != 0) {
            mpic_http_make_utf8(why);
            mpic_http_hop_clear(&hop);
            break;
        }
        promise(&hop, seen, n_seen);
        (void)mpic_http_same_origin(seen[0], hop.url);
        seen[n_seen++] = strdup(hop.url);
        followed++;
        mpic_http_hop_clear(&hop);
        if (seen[n_seen - 1] == NULL)
            break;
    }
done:
    curl_url_cleanup(u);
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i]);
    free(text);
    return 0;
}
