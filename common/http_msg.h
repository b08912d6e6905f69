/* One HTTP/1.x request read off a byte stream with Debian's http-parser (the
 * nodejs parser), with the limits and checks both daemons apply before any
 * handler sees it: head size and header count (431), Content-Length over the
 * body limit (413, before a byte of the body is read), chunked bodies over it
 * (413 as soon as the running total passes), an Expect other than
 * 100-continue (417), a version other than HTTP/1.x (505), and everything the
 * parser refuses (400: repeated or conflicting Content-Length,
 * Content-Length with Transfer-Encoding, bad tokens). Pure: no I/O, no clock;
 * daemon/http_server.c feeds it the bytes of one connection. */
#ifndef MPIC_HTTP_MSG_H
#define MPIC_HTTP_MSG_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mpic_http_msg_limits {
    size_t max_head_bytes;      /* request line and header fields, raw bytes */
    unsigned max_headers;       /* header fields */
    size_t max_body_bytes;      /* decoded body */
};

enum mpic_http_step {
    MPIC_HTTP_MORE,        /* every byte given was consumed: feed more */
    MPIC_HTTP_HEAD,        /* the head is in and passed the checks; feed on for the body */
    MPIC_HTTP_COMPLETE,    /* the whole request is in */
    MPIC_HTTP_BAD,         /* refuse with status and error; the connection cannot go on */
};

struct mpic_http_field {
    uint32_t name, value;   /* offsets into head, NUL-terminated */
};

struct mpic_http_msg {
    http_parser parser;
    struct mpic_http_msg_limits lim;
    char *head;                 /* URL, then name and value of each field, each NUL-terminated */
    size_t head_len, head_cap;
    struct mpic_http_field *fields;
    unsigned n_fields;
    const char *path;           /* into head, or "" */
    char *body;                 /* NUL-terminated */
    size_t body_len, body_cap;
    size_t head_bytes;          /* raw bytes of the head consumed so far */
    size_t trailer_bytes;       /* chunked trailers, held to the head limit */
    int last;                   /* what head ends with: 0 nothing, 1 URL, 2 name, 3 value */
    bool started;               /* a byte of this request was consumed */
    bool head_done, complete;
    bool expect_continue;       /* Expect: 100-continue */
    bool has_body;              /* Content-Length > 0 or chunked */
    int status;                 /* with MPIC_HTTP_BAD */
    const char *error;          /* with MPIC_HTTP_BAD: a static message */
};

void mpic_http_msg_init(struct mpic_http_msg *m, const struct mpic_http_msg_limits *lim);
/* Ready for the next request on the connection; keeps the buffers. */
void mpic_http_msg_reset(struct mpic_http_msg *m);
void mpic_http_msg_free(struct mpic_http_msg *m);

/* Parses from data[0..len) up to the next step; *used says how many bytes it
 * consumed (the rest belongs to a later call, or to the next request). */
enum mpic_http_step mpic_http_msg_feed(struct mpic_http_msg *m, const char *data, size_t len, size_t *used);

/* After MPIC_HTTP_HEAD: */
const char *mpic_http_msg_method(const struct mpic_http_msg *m);
/* The first value of the field called name (case-insensitive), or NULL;
 * *count (when not NULL) gets the number of fields of that name. */
const char *mpic_http_msg_header(const struct mpic_http_msg *m, const char *name, unsigned *count);
/* Whether the connection may carry another request after this one. */
bool mpic_http_msg_keep_alive(const struct mpic_http_msg *m);

#endif
