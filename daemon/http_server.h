/* The HTTP/1.1 server both daemons serve with: libevent's listener and
 * bufferevents (plain or OpenSSL), requests parsed by common/http_msg.c.
 * It answers every refusal itself, in JSON: malformed (400), over a limit
 * (413, 431), unserved expectation (417) or version (505), over capacity (503
 * with Retry-After), too slow (408). Requests on a connection are handled one
 * at a time, in order. Each request has a total deadline for its head and
 * one for its body; connections are capped, and an accept error (out of file
 * descriptors) pauses the listener instead of spinning. */
#ifndef MPIC_HTTP_SERVER_H
#define MPIC_HTTP_SERVER_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

struct mpic_http_server;
/* One request, valid from the on_head call until it is answered (or the
 * server is freed). */
struct mpic_http_request;

typedef void (*mpic_http_cb)(struct mpic_http_request *req, void *arg);

struct mpic_http_server_config {
    const char *host;
    uint16_t port;
    SSL_CTX *ssl_ctx;                       /* NULL: plain HTTP */
    const struct mpic_http_limits *limits;
    size_t max_body_bytes;
    /* Descriptors the daemon holds besides its clients' beyond a small reserve
     * (the orchestrator's connections to its agents), for the start-up check
     * of the open-file limit. */
    unsigned other_fds;
    /* The head is in and passed the server's checks: answer now to refuse
     * (the body is then never read, and the connection closes when one was
     * announced), or return without answering to have the body read. */
    mpic_http_cb on_head;
    /* The body is in: answer exactly once, now or later. */
    mpic_http_cb on_request;
    void *arg;
};

/* Binds and listens; raises the soft RLIMIT_NOFILE to the hard limit first.
 * NULL with err on failure. */
struct mpic_http_server *mpic_http_server_new(struct event_base *base, const struct mpic_http_server_config *cfg,
                                              struct mpic_error *err);
/* Closes every connection; requests not yet answered go with them. */
void mpic_http_server_free(struct mpic_http_server *s);

/* Connections accepted from now on use ctx (the caller keeps its reference:
 * each connection holds one of its own, so the previous context may be
 * freed at once). */
void mpic_http_server_set_ssl_ctx(struct mpic_http_server *s, SSL_CTX *ctx);
/* Shutdown: closes the listener and idle connections; requests already
 * begun are served, each connection closing after its answer. */
void mpic_http_server_drain(struct mpic_http_server *s);
/* Requests begun and not yet fully answered. */
unsigned mpic_http_server_busy(const struct mpic_http_server *s);

const char *mpic_http_method(const struct mpic_http_request *req);
/* The path of the request target, without query: "/v1/mpic". */
const char *mpic_http_path(const struct mpic_http_request *req);
/* The first value of the header field name (case-insensitive) or NULL;
 * *count (when not NULL) gets how many fields have that name. */
const char *mpic_http_header(const struct mpic_http_request *req, const char *name, unsigned *count);
/* In on_request: the body, NUL-terminated (length in *len). */
const char *mpic_http_body(const struct mpic_http_request *req, size_t *len);

/* Adds "name: value" to the answer about to be sent (a few short fields). */
void mpic_http_add_header(struct mpic_http_request *req, const char *name, const char *value);
/* Answers with body as application/json; req is gone afterwards. */
void mpic_http_reply(struct mpic_http_request *req, int code, const char *reason, const char *body, size_t len);
/* The same with another media type (the Prometheus exposition is text/plain). */
void mpic_http_reply_as(struct mpic_http_request *req, int code, const char *reason, const char *type,
                        const char *body, size_t len);
/* Closes the connection without an answer; req is gone afterwards. */
void mpic_http_abort(struct mpic_http_request *req);

#endif
