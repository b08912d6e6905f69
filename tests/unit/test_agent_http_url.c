/* Unit tests for the HTTP DCV check's URL and header rules
 * (perspective-agent/dcv_http_url.c): the challenge URL of each method, which
 * URL a hop may request, which redirect is followed and where it leads, and
 * which of the request's http_headers go to which hop (issue 12: credentials
 * only to the first URL's origin). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dcv_http_url.h"

/* ---- helpers ---- */

static CURLU *parse(const char *url)
{
    CURLU *u = curl_url();
    assert_non_null(u);
    assert_int_equal(curl_url_set(u, CURLUPART_URL, url, 0), CURLUE_OK);
    return u;
}

/* mpic_http_url_check of url with no URL seen before: 0 or -1, why in why. */
static int check(const char *url, struct mpic_http_hop *hop, char *why, size_t len)
{
    CURLU *u = parse(url);
    int rc = mpic_http_url_check(u, NULL, 0, hop, why, len);
    curl_url_cleanup(u);
    return rc;
}

static void refused_because(const char *url, const char *reason)
{
    struct mpic_http_hop hop;
    char why[300];
    assert_int_equal(check(url, &hop, why, sizeof why), -1);
    if (strstr(why, reason) == NULL)
        fail_msg("%s: \"%s\" lacks \"%s\"", url, why, reason);
    mpic_http_hop_clear(&hop);
}

/* The URL a challenge of method m for target asks for, as text (malloc'd). */
static char *challenge(enum mpic_dcv_method m, const char *target, const char *tail, bool https)
{
    struct mpic_target ti;
    struct mpic_error err;
    assert_int_equal(mpic_target_parse(target, &ti, &err), 0);
    struct mpic_dcv_params p = { .method = m, .url_scheme_https = https };
    if (m == MPIC_DCV_ACME_HTTP_01)
        p.token = (char *)tail;
    else
        p.http_token_path = (char *)tail;
    CURLU *u = mpic_http_challenge_url(target, &ti, &p);
    if (u == NULL)
        return NULL;
    char *s = NULL;
    assert_int_equal(curl_url_get(u, CURLUPART_URL, &s, 0), CURLUE_OK);
    curl_url_cleanup(u);
    char *out = strdup(s);
    curl_free(s);
    return out;
}

static void challenge_is(enum mpic_dcv_method m, const char *target, const char *tail, bool https,
                         const char *want)
{
    char *got = challenge(m, target, tail, https);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* ---- the challenge URL of each method ---- */

static void http01_url_is_the_acme_challenge_path_over_http(void **state)
{
    challenge_is(MPIC_DCV_ACME_HTTP_01, "example.test", "tok-123", false,
                 "http://example.test/.well-known/acme-challenge/tok-123");
    /* http-01 is always plain http, whatever url_scheme says */
    challenge_is(MPIC_DCV_ACME_HTTP_01, "example.test", "tok-123", true,
                 "http://example.test/.well-known/acme-challenge/tok-123");
}

static void website_change_url_takes_the_path_with_or_without_a_leading_slash(void **state)
{
    const char *want = "http://example.test/.well-known/pki-validation/file.txt";
    challenge_is(MPIC_DCV_WEBSITE_CHANGE, "example.test", "file.txt", false, want);
    challenge_is(MPIC_DCV_WEBSITE_CHANGE, "example.test", "/file.txt", false, want);
    challenge_is(MPIC_DCV_WEBSITE_CHANGE, "example.test", "//file.txt", false, want);
    challenge_is(MPIC_DCV_WEBSITE_CHANGE, "example.test", "file.txt", true,
                 "https://example.test/.well-known/pki-validation/file.txt");
}

static void challenge_url_of_ip_targets_and_escaped_paths(void **state)
{
    challenge_is(MPIC_DCV_ACME_HTTP_01, "203.0.113.5", "t", false, "http://203.0.113.5/.well-known/acme-challenge/t");
    challenge_is(MPIC_DCV_ACME_HTTP_01, "2001:db8::5", "t", false, "http://[2001:db8::5]/.well-known/acme-challenge/t");
    /* a space in the path is sent percent-encoded, not cut */
    challenge_is(MPIC_DCV_WEBSITE_CHANGE, "example.test", "a b.txt", false,
                 "http://example.test/.well-known/pki-validation/a%20b.txt");
}

static void challenge_url_without_token_is_refused(void **state)
{
    assert_null(challenge(MPIC_DCV_ACME_HTTP_01, "example.test", NULL, false));
    assert_null(challenge(MPIC_DCV_WEBSITE_CHANGE, "example.test", NULL, false));
}

/* ---- which URL a hop may request ---- */

static void url_http_and_https_on_80_and_443_are_taken(void **state)
{
    struct mpic_http_hop hop;
    char why[300];
    assert_int_equal(check("http://Example.Test./a#frag", &hop, why, sizeof why), 0);
    assert_string_equal(hop.host, "Example.Test");   /* no final dot */
    assert_int_equal(hop.port, 80);
    assert_null(strchr(hop.url, '#'));                 /* the fragment is never sent */
    mpic_http_hop_clear(&hop);
    assert_int_equal(check("https://example.test:443/a", &hop, why, sizeof why), 0);
    assert_int_equal(hop.port, 443);
    assert_string_equal(hop.url, "https://example.test/a");
    mpic_http_hop_clear(&hop);
    assert_int_equal(check("http://example.test:443/", &hop, why, sizeof why), 0);   /* explicit 443 over http */
    assert_int_equal(hop.port, 443);
    mpic_http_hop_clear(&hop);
    assert_int_equal(check("https://[2001:db8::1]/", &hop, why, sizeof why), 0);
    assert_string_equal(hop.host, "2001:db8::1");     /* without brackets */
    mpic_http_hop_clear(&hop);
}

static void url_credentials_are_removed(void **state)
{
    struct mpic_http_hop hop;
    char why[300];
    assert_int_equal(check("http://user:pw@example.test/x", &hop, why, sizeof why), 0);
    assert_string_equal(hop.url, "http://example.test/x");
    mpic_http_hop_clear(&hop);
}

static void url_other_scheme_refused(void **state)
{
    refused_because("ftp://example.test/x", "neither http nor https");
    refused_because("file:///etc/passwd", "neither http nor https");
}

static void url_other_port_refused(void **state)
{
    refused_because("http://example.test:8080/x", "has port 8080, not 80 or 443");
    refused_because("https://example.test:8443/x", "has port 8443");
    refused_because("http://example.test:22/x", "has port 22");
}

static void url_bad_hosts_refused(void **state)
{
    refused_because("http://-bad.example.test/x", "invalid host name");
    refused_because("http://exa_mple.test/x", "invalid host name");
    refused_because("http://localhost/x", "invalid host name");   /* one label: not a public name */
    refused_because("http://[fe80::1%25eth0]/x", "IPv6 zone");
}

static void url_longer_than_2000_bytes_refused(void **state)
{
    char url[2100];
    int n = snprintf(url, sizeof url, "http://example.test/");
    memset(url + n, 'a', MPIC_HTTP_MAX_URL_LEN - (size_t)n);
    url[MPIC_HTTP_MAX_URL_LEN] = '\0';
    struct mpic_http_hop hop;
    char why[300];
    assert_int_equal(check(url, &hop, why, sizeof why), 0);   /* exactly the limit */
    mpic_http_hop_clear(&hop);
    url[MPIC_HTTP_MAX_URL_LEN] = 'a';
    url[MPIC_HTTP_MAX_URL_LEN + 1] = '\0';
    refused_because(url, "longer than 2000 bytes");
}

static void url_already_requested_is_a_loop(void **state)
{
    char *seen[] = { "http://example.test/a", "http://example.test/b" };
    struct mpic_http_hop hop;
    char why[300];
    CURLU *u = parse("http://example.test:80/b#x");   /* the same URL once normalised */
    assert_int_equal(mpic_http_url_check(u, seen, 2, &hop, why, sizeof why), -1);
    assert_non_null(strstr(why, "redirect loop"));
    assert_string_equal(hop.url, "http://example.test/b");   /* named in the message */
    mpic_http_hop_clear(&hop);
    curl_url_cleanup(u);
    u = parse("http://example.test/c");
    assert_int_equal(mpic_http_url_check(u, seen, 2, &hop, why, sizeof why), 0);
    mpic_http_hop_clear(&hop);
    curl_url_cleanup(u);
}

/* ---- redirects ---- */

static enum mpic_http_next redirect(long status, const char *loc, size_t followed, char *next_url, char *why)
{
    CURLU *next = NULL;
    why[0] = next_url[0] = '\0';
    enum mpic_http_next n = mpic_http_redirect(status, "http://example.test/dir/page?q=1", loc, followed, &next,
                                               why, 300);
    if (n == MPIC_HTTP_FOLLOW) {
        char *s = NULL;
        assert_int_equal(curl_url_get(next, CURLUPART_URL, &s, 0), CURLUE_OK);
        snprintf(next_url, 300, "%s", s);
        curl_free(s);
    } else {
        assert_null(next);
    }
    curl_url_cleanup(next);
    return n;
}

static void redirect_301_302_307_308_are_followed(void **state)
{
    char url[300], why[300];
    const long ok[] = { 301, 302, 307, 308 };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(redirect(ok[i], "http://other.test/x", 0, url, why), MPIC_HTTP_FOLLOW);
        assert_string_equal(url, "http://other.test/x");
    }
}

static void redirect_other_3xx_with_location_refused(void **state)
{
    char url[300], why[300];
    const long bad[] = { 300, 303, 304, 305, 306, 399 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(redirect(bad[i], "http://other.test/x", 0, url, why), MPIC_HTTP_REFUSED);
        assert_non_null(strstr(why, "is not an allowed redirect (301, 302, 307, 308)"));
    }
    /* without a Location it is a final answer (the status check fails it) */
    assert_int_equal(redirect(303, NULL, 0, url, why), MPIC_HTTP_FINAL);
    assert_int_equal(redirect(200, "http://other.test/x", 0, url, why), MPIC_HTTP_FINAL);
    assert_int_equal(redirect(404, NULL, 0, url, why), MPIC_HTTP_FINAL);
}

static void redirect_without_location_refused(void **state)
{
    char url[300], why[300];
    assert_int_equal(redirect(302, NULL, 0, url, why), MPIC_HTTP_REFUSED);
    assert_string_equal(why, "302 from http://example.test/dir/page?q=1 without a Location");
    assert_int_equal(redirect(301, "", 0, url, why), MPIC_HTTP_REFUSED);
}

/* The redirect of a 302 with Location loc leads to want. */
static void follows_to(const char *loc, const char *want)
{
    char url[300], why[300];
    assert_int_equal(redirect(302, loc, 0, url, why), MPIC_HTTP_FOLLOW);
    assert_string_equal(url, want);
}

static void redirect_location_is_relative_to_the_current_url(void **state)
{
    follows_to("other", "http://example.test/dir/other");
    follows_to("/top", "http://example.test/top");
    follows_to("../up", "http://example.test/up");
    follows_to("//host.test/p", "http://host.test/p");
    follows_to("?r=2", "http://example.test/dir/page?r=2");
    follows_to("/a b", "http://example.test/a%20b");   /* a space is sent encoded */
}

static void redirect_unparseable_location_refused(void **state)
{
    char url[300], why[300];
    assert_int_equal(redirect(302, "http://[::1", 0, url, why), MPIC_HTTP_REFUSED);
    assert_non_null(strstr(why, "cannot be parsed"));
}

static void redirect_twenty_followed_the_twenty_first_refused(void **state)
{
    char url[300], why[300];
    assert_int_equal(redirect(301, "/next", MPIC_DCV_HTTP_MAX_REDIRECTS - 1, url, why), MPIC_HTTP_FOLLOW);
    assert_int_equal(redirect(301, "/next", MPIC_DCV_HTTP_MAX_REDIRECTS, url, why), MPIC_HTTP_REFUSED);
    assert_string_equal(why, "more than 20 redirects (last from http://example.test/dir/page?q=1)");
}

/* A redirect's target is checked like any URL: a Location to another port
 * or scheme is followable as a redirect and then refused as a URL. */
static void redirect_target_to_port_8080_is_refused_by_the_url_check(void **state)
{
    CURLU *next = NULL;
    char why[300];
    assert_int_equal(mpic_http_redirect(302, "http://example.test/a", "http://example.test:8080/b", 0, &next, why,
                                        sizeof why),
                     MPIC_HTTP_FOLLOW);
    struct mpic_http_hop hop;
    assert_int_equal(mpic_http_url_check(next, NULL, 0, &hop, why, sizeof why), -1);
    assert_string_equal(why, "has port 8080, not 80 or 443");
    assert_string_equal(hop.url, "http://example.test:8080/b");
    mpic_http_hop_clear(&hop);
    curl_url_cleanup(next);
}

/* ---- request headers ---- */

/* The header lines for names/values (n of them), joined with '|'. */
static int header_lines(const char *const *names, const char *const *values, size_t n, bool credentials,
                        char *out, size_t len, char *why)
{
    struct mpic_strv nv = { (char **)names, n }, vv = { (char **)values, n };
    struct curl_slist *list = NULL;
    int rc = mpic_http_request_headers(&nv, &vv, credentials, &list, why, 300);
    out[0] = '\0';
    for (struct curl_slist *l = list; l != NULL; l = l->next)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "|" : "", l->data);
    curl_slist_free_all(list);
    return rc;
}

static void headers_are(const char *const *names, const char *const *values, size_t n, bool credentials,
                        const char *want)
{
    char out[512], why[300];
    assert_int_equal(header_lines(names, values, n, credentials, out, sizeof out, why), 0);
    assert_string_equal(out, want);
}

static void headers_framing_and_target_headers_are_dropped(void **state)
{
    const char *names[] = { "Host", "content-length", "Transfer-Encoding", "Connection", "Keep-Alive",
                            "Upgrade", "TE", "Trailer", "Proxy-Connection", "Expect", "X-Lab" };
    const char *values[] = { "evil.test", "5", "chunked", "close", "1", "h2c", "trailers", "x", "close",
                             "100-continue", "yes" };
    headers_are(names, values, 11, true, "X-Lab: yes|Accept: */*");
}

static void headers_accept_is_added_unless_given(void **state)
{
    const char *names[] = { "accept" }, *values[] = { "text/plain" };
    headers_are(names, values, 1, true, "accept: text/plain");
    headers_are(NULL, NULL, 0, true, "Accept: */*");
}

static void headers_empty_value_is_sent_empty(void **state)
{
    const char *names[] = { "X-Empty" }, *values[] = { "" };
    headers_are(names, values, 1, true, "X-Empty;|Accept: */*");   /* curl's spelling of an empty header */
}

static void headers_bad_name_or_value_refused(void **state)
{
    char out[512], why[300];
    const char *bad_names[] = { "", "X Space", "X:Colon", "X\r\nInjected" };
    for (size_t i = 0; i < 4; i++) {
        const char *names[] = { bad_names[i] }, *values[] = { "v" };
        assert_int_equal(header_lines(names, values, 1, true, out, sizeof out, why), -1);
        assert_non_null(strstr(why, "is not a valid header name"));
    }
    const char *bad_values[] = { "a\r\nX-Injected: 1", "a\nb", "a\rb" };
    for (size_t i = 0; i < 3; i++) {
        const char *names[] = { "X-Ok" }, *values[] = { bad_values[i] };
        assert_int_equal(header_lines(names, values, 1, true, out, sizeof out, why), -1);
        assert_string_equal(why, "http_headers: the value of X-Ok contains CR or LF");
    }
}

static void headers_credentials_only_when_asked(void **state)
{
    const char *names[] = { "Authorization", "COOKIE", "proxy-authorization", "X-Lab" };
    const char *values[] = { "Bearer a", "c=1", "Basic p", "yes" };
    headers_are(names, values, 4, true,
                "Authorization: Bearer a|COOKIE: c=1|proxy-authorization: Basic p|X-Lab: yes|Accept: */*");
    headers_are(names, values, 4, false, "X-Lab: yes|Accept: */*");
    assert_true(mpic_http_header_credential("aUtHoRiZaTiOn"));
    assert_false(mpic_http_header_credential("X-Authorization"));
    assert_false(mpic_http_header_credential("Set-Cookie"));
}

/* Credentials follow a redirect only to the same scheme, host and port. */
static void same_origin_is_scheme_host_and_port(void **state)
{
    assert_true(mpic_http_same_origin("http://example.test/a", "http://example.test/b?c"));
    assert_true(mpic_http_same_origin("http://example.test/a", "http://EXAMPLE.test:80/b"));   /* implied port */
    assert_true(mpic_http_same_origin("http://example.test/a", "http://example.test./b"));     /* final dot */
    assert_true(mpic_http_same_origin("https://[2001:db8::1]/", "https://[2001:db8::1]:443/x"));
    assert_false(mpic_http_same_origin("http://example.test/a", "http://other.example.test/a"));
    assert_false(mpic_http_same_origin("http://example.test/a", "https://example.test/a"));     /* scheme */
    assert_false(mpic_http_same_origin("http://example.test/a", "http://example.test:443/a"));  /* port */
    assert_false(mpic_http_same_origin("http://example.test/a", "http://203.0.113.1/a"));
    assert_false(mpic_http_same_origin("http://example.test/a", "not a url"));
}

/* ---- messages ---- */

static void make_utf8_replaces_only_broken_sequences(void **state)
{
    char s[] = "ok \xc3\xa9 \xff bad \xe2\x82 cut \xed\xa0\x80 surrogate \xf0\x9f\x98\x80";
    mpic_http_make_utf8(s);
    assert_string_equal(s, "ok \xc3\xa9 ? bad ?? cut ??? surrogate \xf0\x9f\x98\x80");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http01_url_is_the_acme_challenge_path_over_http),
        cmocka_unit_test(website_change_url_takes_the_path_with_or_without_a_leading_slash),
        cmocka_unit_test(challenge_url_of_ip_targets_and_escaped_paths),
        cmocka_unit_test(challenge_url_without_token_is_refused),
        cmocka_unit_test(url_http_and_https_on_80_and_443_are_taken),
        cmocka_unit_test(url_credentials_are_removed),
        cmocka_unit_test(url_other_scheme_refused),
        cmocka_unit_test(url_other_port_refused),
        cmocka_unit_test(url_bad_hosts_refused),
        cmocka_unit_test(url_longer_than_2000_bytes_refused),
        cmocka_unit_test(url_already_requested_is_a_loop),
        cmocka_unit_test(redirect_301_302_307_308_are_followed),
        cmocka_unit_test(redirect_other_3xx_with_location_refused),
        cmocka_unit_test(redirect_without_location_refused),
        cmocka_unit_test(redirect_location_is_relative_to_the_current_url),
        cmocka_unit_test(redirect_unparseable_location_refused),
        cmocka_unit_test(redirect_twenty_followed_the_twenty_first_refused),
        cmocka_unit_test(redirect_target_to_port_8080_is_refused_by_the_url_check),
        cmocka_unit_test(headers_framing_and_target_headers_are_dropped),
        cmocka_unit_test(headers_accept_is_added_unless_given),
        cmocka_unit_test(headers_empty_value_is_sent_empty),
        cmocka_unit_test(headers_bad_name_or_value_refused),
        cmocka_unit_test(headers_credentials_only_when_asked),
        cmocka_unit_test(same_origin_is_scheme_host_and_port),
        cmocka_unit_test(make_utf8_replaces_only_broken_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
