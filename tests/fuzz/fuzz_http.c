/* libFuzzer target for common/http_msg.c, the request reader both daemons'
 * HTTP servers feed: a byte stream in pieces, several requests in a row, and
 * the properties the server relies on checked at every step.
 *
 * Input layout: one byte giving the size of the pieces the stream is fed in
 * (0: all at once), then the stream. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mpic_http_msg_limits LIM = { 2048, 16, 512 };

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void check_head(const struct mpic_http_msg *m)
{
    check(m->head_done && m->n_fields <= LIM.max_headers);
    check(m->path != NULL && strlen(m->path) <= m->head_len);
    check(mpic_http_msg_method(m) != NULL);
    for (unsigned i = 0; i < m->n_fields; i++) {
        const char *name = m->head + m->fields[i].name;
        check(*name != '\0');
        for (const char *p = name; *p; p++)
            check(tchar(*p));
        unsigned n = 0;
        const char *v = mpic_http_msg_header(m, name, &n);
        check(v != NULL && n >= 1);
        size_t len = strlen(v);
        check(len == 0 || (v[len - 1] != ' ' && v[len - 1] != '\t'));
    }
    unsigned n_cl, n_te;
    mpic_http_msg_header(m, "content-length", &n_cl);
    mpic_http_msg_header(m, "transfer-encoding", &n_te);
    check(n_cl <= 1 && (n_cl == 0 || n_te == 0));   /* what reaches a handler is framed one way */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = data[0];
    const char *in = (const char *)data + 1;
    size_t len = size - 1, off = 0;
    struct mpic_http_msg m;
    mpic_http_msg_init(&m, &LIM);
    for (int requests = 0; off < len && requests < 8;) {
        size_t n = step == 0 || len - off < step ? len - off : step, used = 0;
        enum mpic_http_step s = mpic_http_msg_feed(&m, in + off, n, &used);
        check(used <= n);
        off += used;
        if (s == MPIC_HTTP_BAD) {
            check(m.status == 400 || m.status == 405 || m.status == 413 || m.status == 417 || m.status == 431 ||
                  m.status == 505);
            check(m.error != NULL && *m.error != '\0');
            break;
        }
        if (s == MPIC_HTTP_MORE) {
            check(used == n);
            check(m.head_done || m.head_bytes <= LIM.max_head_bytes);
            continue;
        }
        check_head(&m);
        if (s == MPIC_HTTP_COMPLETE) {
            check(m.body_len <= LIM.max_body_bytes);
            check(m.body == NULL ? m.body_len == 0 : m.body[m.body_len] == '\0');
            if (!mpic_http_msg_keep_alive(&m))
                break;
            mpic_http_msg_reset(&m);
            requests++;
        }
    }
    mpic_http_msg_free(&m);
    return 0;
}
