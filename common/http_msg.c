#include "http_msg.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ITEM_NONE, ITEM_URL, ITEM_NAME, ITEM_VALUE };

#define NO_VALUE UINT32_MAX
/* A body buffer larger than this is not kept for the connection's next request. */
#define BODY_KEEP_BYTES 16384

static int refuse(struct mpic_http_msg *m, int status, const char *error)
{
    if (m->status == 0) {
        m->status = status;
        m->error = error;
    }
    return -1;
}

static int reserve(char **buf, size_t *cap, size_t need, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : first;
    while (n < need)
        n *= 2;
    char *p = realloc(*buf, n);
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

/* RFC 9110 5.6.2. The parser, built without its strict mode, lets a space
 * into a field name: "Content-Length : 5" must not reach anyone who would
 * read it differently from a proxy in front of us. */
static bool token_ok(const char *s, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              (ch != '\0' && strchr(extra, ch) != NULL)))
            return false;
    }
    return true;
}

/* Ends the item head currently ends with: a field name must be a token, a
 * value loses its trailing whitespace (the parser keeps it), and every item
 * gets its NUL. */
static int close_item(struct mpic_http_msg *m)
{
    if (m->last == ITEM_NONE)
        return 0;
    if (m->last == ITEM_NAME) {
        size_t start = m->fields[m->n_fields - 1].name;
        if (!token_ok(m->head + start, m->head_len - start))
            return refuse(m, 400, "invalid character in a header field name");
    }
    if (m->last == ITEM_VALUE) {
        size_t start = m->fields[m->n_fields - 1].value;
        while (m->head_len > start && (m->head[m->head_len - 1] == ' ' || m->head[m->head_len - 1] == '\t'))
            m->head_len--;
    }
    m->head[m->head_len++] = '\0';
    m->last = ITEM_NONE;
    return 0;
}

static int head_add(struct mpic_http_msg *m, int item, const char *at, size_t len)
{
    /* +2: this item's NUL and the one closing the item before it. */
    if (reserve(&m->head, &m->head_cap, m->head_len + len + 2, 512) < 0)
        return refuse(m, 500, "out of memory");
    if (m->last != item) {
        if (close_item(m) < 0)
            return -1;
        if (item == ITEM_NAME) {
            if (m->n_fields >= m->lim.max_headers)
                return refuse(m, 431, "too many header fields");
            if (m->fields == NULL && (m->fields = calloc(m->lim.max_headers, sizeof *m->fields)) == NULL)
                return refuse(m, 500, "out of memory");
            m->fields[m->n_fields++] = (struct mpic_http_field){ (uint32_t)m->head_len, NO_VALUE };
        } else if (item == ITEM_VALUE && m->n_fields > 0) {
            m->fields[m->n_fields - 1].value = (uint32_t)m->head_len;
        }
        m->last = item;
    }
    memcpy(m->head + m->head_len, at, len);
    m->head_len += len;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    return head_add(p->data, ITEM_URL, at, len);
}

/* Trailer fields of a chunked body come through the same callbacks after the
 * head: not kept, but held to the head's size limit. */
static int trailer(struct mpic_http_msg *m, size_t len)
{
    m->trailer_bytes += len;
    return m->trailer_bytes > m->lim.max_head_bytes ? refuse(m, 431, "chunked trailer fields too large") : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct mpic_http_msg *m = p->data;
    return m->head_done ? trailer(m, len) : head_add(m, ITEM_NAME, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct mpic_http_msg *m = p->data;
    return m->head_done ? trailer(m, len) : head_add(m, ITEM_VALUE, at, len);
}

static int set_path(struct mpic_http_msg *m)
{
    struct http_parser_url u;
    m->path = "";
    http_parser_url_init(&u);
    if (http_parser_parse_url(m->head, strlen(m->head), 0, &u) != 0)
        return refuse(m, 400, "malformed request target");
    if (u.field_set & (1 << UF_PATH)) {
        m->head[u.field_data[UF_PATH].off + u.field_data[UF_PATH].len] = '\0';   /* cuts off ?query */
        m->path = m->head + u.field_data[UF_PATH].off;
    }
    return 0;
}

/* Framing the parser lets through but a request must not have (RFC 9112
 * 6.1, 6.3): a transfer coding other than chunked alone, or with a length. */
static int check_framing(struct mpic_http_msg *m)
{
    unsigned n_te, n_cl;
    const char *te = mpic_http_msg_header(m, "transfer-encoding", &n_te);
    mpic_http_msg_header(m, "content-length", &n_cl);
    if (n_cl > 1)
        return refuse(m, 400, "repeated Content-Length");
    if (te != NULL && n_cl > 0)
        return refuse(m, 400, "Content-Length together with Transfer-Encoding");
    if (te != NULL && (n_te > 1 || strcasecmp(te, "chunked") != 0))
        return refuse(m, 400, "unsupported Transfer-Encoding (only chunked is served)");
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct mpic_http_msg *m = p->data;
    if (m->head == NULL)
        return refuse(m, 400, "no request target");
    if (close_item(m) < 0)   /* head_add left room for its NUL */
        return -1;
    m->head_done = true;
    if (p->http_major != 1)
        return refuse(m, 505, "only HTTP/1.0 and HTTP/1.1 are served");
    if (p->method == HTTP_CONNECT)   /* no tunnels here, and no path to route it by */
        return refuse(m, 405, "CONNECT is not served");
    if (set_path(m) < 0 || check_framing(m) < 0)
        return -1;
    unsigned n;
    const char *expect = mpic_http_msg_header(m, "expect", &n);
    if (expect != NULL) {
        if (n > 1 || strcasecmp(expect, "100-continue") != 0)
            return refuse(m, 417, "the only expectation served is 100-continue");
        m->expect_continue = p->http_minor >= 1;   /* an HTTP/1.0 client cannot be sent a 100 */
    }
    bool chunked = p->flags & F_CHUNKED;
    bool length = p->content_length != ULLONG_MAX;
    m->has_body = chunked || (length && p->content_length > 0);
    if (!chunked && length && p->content_length > m->lim.max_body_bytes)
        return refuse(m, 413, "the request body is larger than this server accepts");
    http_parser_pause(p, 1);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct mpic_http_msg *m = p->data;
    if (len > m->lim.max_body_bytes - m->body_len)
        return refuse(m, 413, "the request body is larger than this server accepts");
    if (reserve(&m->body, &m->body_cap, m->body_len + len + 1, 1024) < 0)
        return refuse(m, 500, "out of memory");
    memcpy(m->body + m->body_len, at, len);
    m->body_len += len;
    m->body[m->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct mpic_http_msg *m = p->data;
    m->complete = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void mpic_http_msg_init(struct mpic_http_msg *m, const struct mpic_http_msg_limits *lim)
{
    memset(m, 0, sizeof *m);
    m->lim = *lim;
    mpic_http_msg_reset(m);
}

void mpic_http_msg_reset(struct mpic_http_msg *m)
{
    http_parser_init(&m->parser, HTTP_REQUEST);
    m->parser.data = m;
    if (m->body_cap > BODY_KEEP_BYTES) {
        free(m->body);
        m->body = NULL;
        m->body_cap = 0;
    }
    m->head_len = m->body_len = m->head_bytes = m->trailer_bytes = 0;
    m->n_fields = 0;
    m->path = "";
    m->last = ITEM_NONE;
    m->started = m->head_done = m->complete = m->expect_continue = m->has_body = false;
    m->status = 0;
    m->error = NULL;
    if (m->body != NULL)
        m->body[0] = '\0';
}

void mpic_http_msg_free(struct mpic_http_msg *m)
{
    free(m->head);
    free(m->fields);
    free(m->body);
    memset(m, 0, sizeof *m);
}

enum mpic_http_step mpic_http_msg_feed(struct mpic_http_msg *m, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (m->status != 0)
        return MPIC_HTTP_BAD;
    if (m->complete)
        return MPIC_HTTP_COMPLETE;
    if (HTTP_PARSER_ERRNO(&m->parser) == HPE_PAUSED)
        http_parser_pause(&m->parser, 0);
    /* The head is parsed at most one byte past its limit, so a flood is
     * refused without being read. */
    size_t n = len;
    if (!m->head_done && n > m->lim.max_head_bytes + 1 - m->head_bytes)
        n = m->lim.max_head_bytes + 1 - m->head_bytes;
    size_t done = http_parser_execute(&m->parser, &settings, data, n);
    *used = done;
    if (done > 0)
        m->started = true;
    if (!m->head_done)
        m->head_bytes += done;
    if (m->status != 0)
        return MPIC_HTTP_BAD;
    enum http_errno e = HTTP_PARSER_ERRNO(&m->parser);
    if (e == HPE_PAUSED)
        return m->complete ? MPIC_HTTP_COMPLETE : MPIC_HTTP_HEAD;
    if (e != HPE_OK) {
        refuse(m, e == HPE_HEADER_OVERFLOW ? 431 : 400, http_errno_description(e));
        return MPIC_HTTP_BAD;
    }
    if (!m->head_done && m->head_bytes > m->lim.max_head_bytes) {
        refuse(m, 431, "the request head (request line and header fields) is too large");
        return MPIC_HTTP_BAD;
    }
    return MPIC_HTTP_MORE;
}

const char *mpic_http_msg_method(const struct mpic_http_msg *m)
{
    return http_method_str((enum http_method)m->parser.method);
}

const char *mpic_http_msg_header(const struct mpic_http_msg *m, const char *name, unsigned *count)
{
    const char *first = NULL;
    unsigned n = 0;
    for (unsigned i = 0; i < m->n_fields; i++) {
        if (strcasecmp(m->head + m->fields[i].name, name) != 0)
            continue;
        if (n++ == 0)
            first = m->fields[i].value == NO_VALUE ? "" : m->head + m->fields[i].value;
    }
    if (count != NULL)
        *count = n;
    return first;
}

bool mpic_http_msg_keep_alive(const struct mpic_http_msg *m)
{
    return http_should_keep_alive(&m->parser) && !m->parser.upgrade;
}
