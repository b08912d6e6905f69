/* Unit tests for the request reader (common/http_msg.c): what reaches a
 * handler, what is refused with which status, and that it does not matter how
 * the bytes are split across reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_msg.h"

static const struct mpic_http_msg_limits LIM = { 1024, 16, 100 };

/* Feeds text in pieces of step bytes (0: all at once) until a step other than
 * MORE; the HEAD step is passed over. *rest gets the bytes not consumed. */
static enum mpic_http_step run(struct mpic_http_msg *m, const char *text, size_t step, size_t *rest)
{
    size_t len = strlen(text), off = 0;
    enum mpic_http_step s = MPIC_HTTP_MORE;
    while (off < len) {
        size_t n = step == 0 || len - off < step ? len - off : step, used;
        s = mpic_http_msg_feed(m, text + off, n, &used);
        off += used;
        if (s == MPIC_HTTP_BAD || s == MPIC_HTTP_COMPLETE)
            break;
        if (s == MPIC_HTTP_MORE && used < n)
            fail_msg("MORE without consuming everything");
    }
    if (rest != NULL)
        *rest = len - off;
    return s;
}

static int status_of(const char *text, size_t step)
{
    struct mpic_http_msg m;
    mpic_http_msg_init(&m, &LIM);
    enum mpic_http_step s = run(&m, text, step, NULL);
    int status = s == MPIC_HTTP_BAD ? m.status : s == MPIC_HTTP_COMPLETE ? 200 : 0;
    mpic_http_msg_free(&m);
    return status;
}

static void test_post_with_body_in_any_split(void **state)
{
    static const char req[] = "POST /v1/mpic?x=1 HTTP/1.1\r\nHost: a\r\nX-Api-Key:  k1 \t\r\n"
                              "Content-Length: 5\r\n\r\nhello";
    for (size_t step = 0; step < 8; step++) {
        struct mpic_http_msg m;
        mpic_http_msg_init(&m, &LIM);
        size_t rest;
        assert_int_equal(run(&m, req, step, &rest), MPIC_HTTP_COMPLETE);
        assert_int_equal(rest, 0);
        assert_string_equal(mpic_http_msg_method(&m), "POST");
        assert_string_equal(m.path, "/v1/mpic");
        unsigned n;
        assert_string_equal(mpic_http_msg_header(&m, "x-api-key", &n), "k1");   /* whitespace trimmed */
        assert_int_equal(n, 1);
        assert_null(mpic_http_msg_header(&m, "expect", &n));
        assert_int_equal(n, 0);
        assert_int_equal(m.body_len, 5);
        assert_string_equal(m.body, "hello");
        assert_true(mpic_http_msg_keep_alive(&m));
        mpic_http_msg_free(&m);
    }
}

static void test_pipelined_requests_and_reset(void **state)
{
    static const char two[] = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.0\r\n\r\n";
    struct mpic_http_msg m;
    mpic_http_msg_init(&m, &LIM);
    size_t rest;
    assert_int_equal(run(&m, two, 0, &rest), MPIC_HTTP_COMPLETE);
    assert_string_equal(m.path, "/healthz");
    assert_int_equal(rest, strlen("GET /b HTTP/1.0\r\n\r\n"));
    mpic_http_msg_reset(&m);
    assert_int_equal(run(&m, two + strlen(two) - rest, 0, &rest), MPIC_HTTP_COMPLETE);
    assert_string_equal(m.path, "/b");
    assert_false(mpic_http_msg_keep_alive(&m));   /* HTTP/1.0 without keep-alive */
    mpic_http_msg_free(&m);
}

static void test_head_step_comes_before_the_body(void **state)
{
    static const char req[] = "POST /c HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\nabc";
    struct mpic_http_msg m;
    mpic_http_msg_init(&m, &LIM);
    size_t used;
    assert_int_equal(mpic_http_msg_feed(&m, req, strlen(req) - 3, &used), MPIC_HTTP_HEAD);
    assert_true(m.expect_continue);
    assert_true(m.has_body);
    assert_int_equal(m.body_len, 0);
    size_t off = used, used2;
    assert_int_equal(mpic_http_msg_feed(&m, req + off, strlen(req) - off, &used2), MPIC_HTTP_COMPLETE);
    assert_string_equal(m.body, "abc");
    mpic_http_msg_free(&m);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *text;
        int status;
    } cases[] = {
        { "GARBAGE\r\n\r\n", 400 },
        { "FETCH /x HTTP/1.1\r\n\r\n", 400 },
        { "POST /x HTTP/9.9\r\n\r\n", 505 },
        { "POST /x HTTP/2.0\r\n\r\n", 505 },
        { "CONNECT h:443 HTTP/1.1\r\n\r\n", 405 },
        { "CONNECT /v1/mpic HTTP/1.1\r\n\r\n", 405 },
        { "GET /x HTTP/1.1\r\nContent-Length : 0\r\n\r\n", 400 },
        { "POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413 },
        { "POST /x HTTP/1.1\r\nContent-Length: 999999999999999999\r\nExpect: 100-continue\r\n\r\n", 413 },
        { "POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400 },
        { "POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400 },
        { "POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400 },
        { "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400 },
        { "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400 },
        { "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 },
        { "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n"
          "0123456789012345678901234567890123456789012345678901234567890123\r\n"
          "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n0\r\n\r\n", 413 },
        { "POST /x HTTP/1.1\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\na", 417 },
        { "GET /x HTTP/1.1\r\nBad Header: 1\r\n\r\n", 400 },
        { "GET /x HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\nF: 1\r\nG: 1\r\nH: 1\r\nI: 1\r\n"
          "J: 1\r\nK: 1\r\nL: 1\r\nM: 1\r\nN: 1\r\nO: 1\r\nP: 1\r\nQ: 1\r\n\r\n", 431 },
        { "GET /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n\r\n", 200 },
        { "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t step = 0; step < 3; step++) {
            int got = status_of(cases[i].text, step);
            if (got != cases[i].status)
                fail_msg("case %zu (step %zu): %d, expected %d: %s", i, step, got, cases[i].status, cases[i].text);
        }
    }
}

static void test_head_over_the_byte_limit_is_refused_without_reading_on(void **state)
{
    char big[3000];
    int n = snprintf(big, sizeof big, "GET /x HTTP/1.1\r\nX-Long: ");
    memset(big + n, 'a', sizeof big - (size_t)n - 1);
    big[sizeof big - 1] = '\0';
    struct mpic_http_msg m;
    mpic_http_msg_init(&m, &LIM);
    size_t rest;
    assert_int_equal(run(&m, big, 0, &rest), MPIC_HTTP_BAD);
    assert_int_equal(m.status, 431);
    assert_true(sizeof big - 1 - rest <= LIM.max_head_bytes + 1);
    mpic_http_msg_free(&m);
}

static void test_repeated_fields_are_counted(void **state)
{
    static const char req[] = "GET / HTTP/1.1\r\nx-api-key: right\r\nX-API-KEY: wrong\r\nEmpty:\r\n\r\n";
    struct mpic_http_msg m;
    mpic_http_msg_init(&m, &LIM);
    assert_int_equal(run(&m, req, 1, NULL), MPIC_HTTP_COMPLETE);
    unsigned n;
    assert_string_equal(mpic_http_msg_header(&m, "X-Api-Key", &n), "right");
    assert_int_equal(n, 2);
    assert_string_equal(mpic_http_msg_header(&m, "empty", &n), "");
    assert_string_equal(m.path, "/");
    mpic_http_msg_free(&m);
}

static void test_absolute_form_and_connection_close(void **state)
{
    static const char req[] = "GET http://h:1/healthz?q#f HTTP/1.1\r\nConnection: close\r\n\r\n";
    struct mpic_http_msg m;
    mpic_http_msg_init(&m, &LIM);
    assert_int_equal(run(&m, req, 0, NULL), MPIC_HTTP_COMPLETE);
    assert_string_equal(m.path, "/healthz");
    assert_false(mpic_http_msg_keep_alive(&m));
    mpic_http_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_with_body_in_any_split),
        cmocka_unit_test(test_pipelined_requests_and_reset),
        cmocka_unit_test(test_head_step_comes_before_the_body),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_head_over_the_byte_limit_is_refused_without_reading_on),
        cmocka_unit_test(test_repeated_fields_are_counted),
        cmocka_unit_test(test_absolute_form_and_connection_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
