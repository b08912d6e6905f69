#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "clock.h"
#include "http_msg.h"
#include "httpd.h"
#include "log.h"

/* After an accept error (out of descriptors or memory) the listener rests
 * this long: long enough not to spin, short enough not to be noticed. */
#define ACCEPT_RETRY_MS 250
/* An accept-error episode ends after this long without an error: while
 * connections come and go at the descriptor limit it is one episode. */
#define ACCEPT_CALM_MS 2000
/* After a closing answer, how long what the client still sends (an unread
 * body) is read and dropped, so that closing does not reset the connection
 * before the answer is read. */
#define LINGER_MS 2000
/* Descriptors the daemon needs besides its clients (agents, resolver, logs). */
#define FD_RESERVE 64
/* libevent's OpenSSL bufferevent hands SSL_write at most this much of its
 * output at a time (MAX_SINGLE_WRITE_DEFAULT): an answer sent at once must fit,
 * so that, queued after a failed SSL_write, it is retried with the same
 * length, as OpenSSL requires. */
#define TLS_SEND_NOW_MAX 16384

enum conn_state {
    ST_IDLE,      /* keep-alive: waiting for the first byte of the next request */
    ST_HEAD,      /* reading a request head */
    ST_BODY,      /* reading its body */
    ST_HANDLER,   /* the daemon holds the request */
    ST_WRITE,     /* the answer is being sent */
    ST_LINGER,    /* sent and half-closed; dropping what the client still sends */
};

/* A connection and the request it is on: one at a time, so one struct. */
struct mpic_http_request {
    struct mpic_http_server *srv;
    struct bufferevent *bev;       /* NULL once the client left while the daemon holds the request */
    struct event *timer;           /* the deadline of the current state */
    struct mpic_http_msg msg;
    enum conn_state state;
    bool inflight;                 /* counted in srv->inflight */
    bool close;                    /* close after the answer */
    char extra[192];               /* header fields added by mpic_http_add_header */
    size_t extra_len;
    struct mpic_http_request *prev, *next;
};

struct mpic_http_server {
    struct mpic_http_server_config cfg;
    struct mpic_http_limits lim;
    struct mpic_http_msg_limits msg_lim;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *retry;           /* re-enables the listener after an accept error */
    struct event *calm;            /* ends an accept-error episode */
    struct mpic_http_request *conns;
    unsigned n_conns, inflight;
    bool full;                     /* paused at max_connections */
    bool erroring;                 /* in an accept-error episode */
    bool draining;                 /* no new connections or requests: finish what is in flight */
    unsigned long episode_errors;
    int64_t episode_start_ns, episode_last_ns;    /* monotonic */
};

static void free_buffer(const void *data, size_t len, void *arg)
{
    free((void *)data);
}

static void arm(struct event *ev, unsigned ms)
{
    struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };
    evtimer_add(ev, &tv);
}

static void listener_update(struct mpic_http_server *s)
{
    if (s->listener == NULL)
        return;
    if (s->full || evtimer_pending(s->retry, NULL))
        evconnlistener_disable(s->listener);
    else
        evconnlistener_enable(s->listener);
}

static void release_inflight(struct mpic_http_request *c)
{
    if (c->inflight) {
        c->srv->inflight--;
        c->inflight = false;
    }
}

static void conn_free(struct mpic_http_request *c)
{
    struct mpic_http_server *s = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    release_inflight(c);
    event_free(c->timer);
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    mpic_http_msg_free(&c->msg);
    free(c);
    s->n_conns--;
    if (s->full && s->n_conns < s->lim.max_connections) {
        s->full = false;
        listener_update(s);
    }
}

/* RFC 9110 5.6.7, recomputed once a second. */
static const char *http_date(void)
{
    static char buf[40];
    static time_t at = -1;
    time_t now = mpic_clock_now();
    if (now != at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        at = now;
    }
    return buf;
}

void mpic_http_add_header(struct mpic_http_request *req, const char *name, const char *value)
{
    size_t room = sizeof req->extra - req->extra_len;
    int n = snprintf(req->extra + req->extra_len, room, "%s: %s\r\n", name, value);
    if (n > 0 && (size_t)n < room)
        req->extra_len += (size_t)n;
    else
        req->extra[req->extra_len] = '\0';
}

/* Sends an answer at once where the socket takes it (an answer on an idle
 * connection nearly always fits), without waiting a loop turn for the socket
 * to be reported writable: that wait cost adding and removing the write event
 * (two epoll_ctl) per answer. What is not sent goes to the bufferevent, which
 * sends it when it can and reports errors as before. */
static void send_answer(struct mpic_http_request *c, const char *head, size_t head_len, const char *body, size_t len)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    bool queued = evbuffer_get_length(out) > 0;   /* order first: after a 100 Continue not yet sent */
    if (ssl == NULL && !queued) {
        struct iovec iov[2] = { { (void *)head, head_len }, { (void *)body, len } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
        ssize_t n = sendmsg(bufferevent_getfd(c->bev), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        size_t sent = n > 0 ? (size_t)n : 0;
        if (sent < head_len) {
            evbuffer_add(out, head + sent, head_len - sent);
            evbuffer_add(out, body, len);
        } else if (sent < head_len + len) {
            evbuffer_add(out, body + (sent - head_len), head_len + len - sent);
        } else {
            bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
        }
        return;
    }
    size_t total = head_len + len;
    if (ssl != NULL && !queued && total <= TLS_SEND_NOW_MAX) {
        /* One buffer, so that the answer is one TLS record and one write(). */
        char *buf = malloc(total);
        if (buf != NULL) {
            memcpy(buf, head, head_len);
            memcpy(buf + head_len, body, len);
            ERR_clear_error();
            if (SSL_write(ssl, buf, (int)total) == (int)total) {
                free(buf);
                bufferevent_trigger(c->bev, EV_WRITE, BEV_TRIG_DEFER_CALLBACKS);
                return;
            }
            ERR_clear_error();
            /* Exactly these bytes, as one piece: the retry OpenSSL requires. */
            if (evbuffer_add_reference(out, buf, total, free_buffer, NULL) == 0)
                return;
            free(buf);
        }
    }
    evbuffer_add(out, head, head_len);
    evbuffer_add(out, body, len);
}

void mpic_http_reply(struct mpic_http_request *c, int code, const char *reason, const char *body, size_t len)
{
    mpic_http_reply_as(c, code, reason, "application/json", body, len);
}

void mpic_http_reply_as(struct mpic_http_request *c, int code, const char *reason, const char *type,
                        const char *body, size_t len)
{
    release_inflight(c);
    if (c->bev == NULL) {   /* the client left while the daemon worked on its request */
        conn_free(c);
        return;
    }
    /* A body not read (an answer before it) leaves the connection unusable. */
    bool keep = !c->close && !c->srv->draining && c->msg.head_done && (c->msg.complete || !c->msg.has_body) &&
                mpic_http_msg_keep_alive(&c->msg);
    const char *connection = !keep ? "Connection: close\r\n"
                             : c->msg.parser.http_minor == 0 ? "Connection: keep-alive\r\n" : "";
    /* The status line, our constant type and reason, the date and the added
     * fields (at most sizeof extra) fit with room to spare. */
    char head[320 + sizeof c->extra];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Date: %s\r\n%s%.*s\r\n", code, reason, type, len, http_date(), connection, (int)c->extra_len,
                     c->extra);
    c->extra_len = 0;
    c->close = !keep;
    c->state = ST_WRITE;
    arm(c->timer, c->srv->lim.body_timeout_ms);   /* for a client that does not read its answer */
    send_answer(c, head, n > 0 && (size_t)n < sizeof head ? (size_t)n : 0, body, len);
}

/* The server's own refusals: JSON like every other answer, then close. */
static void refuse(struct mpic_http_request *c, int code, const char *message)
{
    c->close = true;
    if (code == 405)
        mpic_http_add_header(c, "Allow", "GET, POST");
    mpic_http_send_message(c, code, http_status_str((enum http_status)code), message);
}

void mpic_http_abort(struct mpic_http_request *c)
{
    conn_free(c);
}

static void dispatch(struct mpic_http_request *c)
{
    c->state = ST_HANDLER;
    evtimer_del(c->timer);
    c->srv->cfg.on_request(c, c->srv->cfg.arg);
}

static void head_in(struct mpic_http_request *c)
{
    struct mpic_http_server *s = c->srv;
    if (s->inflight >= s->lim.max_inflight) {
        mpic_http_add_header(c, "Retry-After", "1");
        refuse(c, 503, "this server has as many requests in flight as it takes; retry shortly");
        return;
    }
    s->inflight++;
    c->inflight = true;
    c->state = ST_HANDLER;
    s->cfg.on_head(c, s->cfg.arg);
    if (c->state != ST_HANDLER)
        return;   /* refused by the daemon */
    /* Only now, with the head accepted (the API key included), does the
     * client get to send its body. */
    if (c->msg.expect_continue && c->msg.has_body)
        bufferevent_write(c->bev, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    c->state = ST_BODY;
    arm(c->timer, s->lim.body_timeout_ms);
}

/* Parses what has arrived, up to the end of one request. */
static void process(struct mpic_http_request *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (c->state == ST_IDLE || c->state == ST_HEAD || c->state == ST_BODY) {
        struct evbuffer_iovec v;
        if (evbuffer_get_length(in) == 0 || evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            return;
        if (c->state == ST_IDLE) {
            c->state = ST_HEAD;
            arm(c->timer, c->srv->lim.head_timeout_ms);
        }
        size_t used;
        enum mpic_http_step step = mpic_http_msg_feed(&c->msg, v.iov_base, v.iov_len, &used);
        evbuffer_drain(in, used);
        switch (step) {
        case MPIC_HTTP_MORE:
            if (used == 0)
                return;
            break;
        case MPIC_HTTP_BAD:
            refuse(c, c->msg.status, c->msg.error);
            return;
        case MPIC_HTTP_HEAD:
            head_in(c);
            if (c->state == ST_WRITE && !c->close) {
                /* Answered from the head, no body: the parser still holds
                 * the head's last byte; take it so the next request starts
                 * clean. */
                mpic_http_msg_feed(&c->msg, (char *)v.iov_base + used, v.iov_len - used, &used);
                evbuffer_drain(in, used);
            }
            break;
        case MPIC_HTTP_COMPLETE:
            dispatch(c);
            return;
        }
    }
}

static void linger(struct mpic_http_request *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);   /* NULL on a plain connection */
    if (ssl != NULL)
        SSL_shutdown(ssl);   /* close_notify; the client's is not waited for */
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    c->state = ST_LINGER;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    arm(c->timer, LINGER_MS);
    bufferevent_enable(c->bev, EV_READ);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct mpic_http_request *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->state == ST_LINGER) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    /* Reading stays on while a request is held or answered (turning it off
     * and on cost two epoll_ctl per request): what arrives meanwhile waits
     * for the next request, and past a head's worth reading pauses until the
     * connection is idle again. */
    if ((c->state == ST_HANDLER || c->state == ST_WRITE) && evbuffer_get_length(in) >= c->srv->lim.max_header_bytes)
        bufferevent_disable(bev, EV_READ);
    process(c);
}

/* The output has drained. */
static void on_write(struct bufferevent *bev, void *arg)
{
    struct mpic_http_request *c = arg;
    /* Deferred callbacks can report a drain that a later write undid. */
    if (c->state != ST_WRITE || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
        return;
    if (c->close) {
        linger(c);
        return;
    }
    mpic_http_msg_reset(&c->msg);
    c->state = ST_IDLE;
    arm(c->timer, c->srv->lim.idle_timeout_ms);
    bufferevent_enable(bev, EV_READ);   /* after a pause in on_read; otherwise no system call */
    process(c);   /* a pipelined request may be waiting in the buffer already */
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct mpic_http_request *c = arg;
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
        return;
    /* The client has sent all it will (it may have half-closed): its answer
     * still goes out, and the connection closes after it. The OpenSSL
     * bufferevent stops writing at an EOF: an answer partly sent resumes. */
    if (what == (BEV_EVENT_EOF | BEV_EVENT_READING) && (c->state == ST_HANDLER || c->state == ST_WRITE)) {
        c->close = true;
        if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
            bufferevent_enable(bev, EV_WRITE);
        return;
    }
    if (c->state == ST_HANDLER) {   /* freed when the daemon answers */
        bufferevent_free(c->bev);
        c->bev = NULL;
        evtimer_del(c->timer);
        return;
    }
    conn_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_http_request *c = arg;
    char msg[96];
    if ((c->state == ST_HEAD || c->state == ST_BODY) && c->msg.started) {
        snprintf(msg, sizeof msg, "the request %s did not arrive within %u ms", c->state == ST_HEAD ? "head" : "body",
                 c->state == ST_HEAD ? c->srv->lim.head_timeout_ms : c->srv->lim.body_timeout_ms);
        refuse(c, 408, msg);
        return;
    }
    conn_free(c);   /* idle, silent, or not reading its answer */
}

static struct bufferevent *new_bev(struct mpic_http_server *s, evutil_socket_t fd)
{
    int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    if (s->cfg.ssl_ctx == NULL)
        return bufferevent_socket_new(s->base, fd, opts);
    SSL *ssl = SSL_new(s->cfg.ssl_ctx);
    if (ssl == NULL)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, opts);
    if (bev != NULL)   /* clients that leave without close_notify are common and harmless here */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    struct mpic_http_server *s = arg;
    struct mpic_http_request *c = calloc(1, sizeof *c);
    struct bufferevent *bev = c != NULL ? new_bev(s, fd) : NULL;
    if (c != NULL)
        c->timer = evtimer_new(s->base, on_timer, c);
    if (bev == NULL || c->timer == NULL) {
        mpic_log(MPIC_LOG_ERROR, "connection_dropped", "error=\"out of memory\"");
        if (bev != NULL)
            bufferevent_free(bev);
        else
            evutil_closesocket(fd);
        if (c != NULL && c->timer != NULL)
            event_free(c->timer);
        free(c);
        return;
    }
    c->srv = s;
    c->bev = bev;
    mpic_http_msg_init(&c->msg, &s->msg_lim);
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    if (++s->n_conns >= s->lim.max_connections) {
        s->full = true;
        listener_update(s);
    }
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    c->state = ST_HEAD;   /* the head deadline counts from the accept: the TLS handshake is in it */
    arm(c->timer, s->lim.head_timeout_ms);
}

/* EMFILE, ENFILE, ENOBUFS, ENOMEM...: retrying at once would spin. One log
 * line when an episode starts, one with the count when it ends. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct mpic_http_server *s = arg;
    int e = EVUTIL_SOCKET_ERROR();
    s->episode_last_ns = mpic_clock_mono_ns();
    s->episode_errors++;
    if (!s->erroring) {
        s->erroring = true;
        s->episode_errors = 1;
        s->episode_start_ns = s->episode_last_ns;
        mpic_log(MPIC_LOG_ERROR, "accept_paused", "error=\"%s\" connections=%u retry_ms=%d", strerror(e),
                 s->n_conns, ACCEPT_RETRY_MS);
    }
    arm(s->retry, ACCEPT_RETRY_MS);
    arm(s->calm, ACCEPT_CALM_MS);
    listener_update(s);
}

static void on_calm(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_http_server *s = arg;
    mpic_log(MPIC_LOG_WARN, "accept_resumed", "failed_accepts=%lu episode_ms=%lld connections=%u",
             s->episode_errors, (long long)((s->episode_last_ns - s->episode_start_ns) / 1000000), s->n_conns);
    s->erroring = false;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    listener_update(arg);
}

static void raise_nofile(unsigned max_connections, unsigned other_fds)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max_connections + other_fds + FD_RESERVE)
        mpic_log(MPIC_LOG_WARN, "fd_limit_low", "max_connections=%u other=%u nofile=%llu message=\"accept errors will"
                 " pause the listener, or calls fail, before max_connections is reached\"", max_connections, other_fds,
                 (unsigned long long)rl.rlim_cur);
}

struct mpic_http_server *mpic_http_server_new(struct event_base *base, const struct mpic_http_server_config *cfg,
                                              struct mpic_error *err)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t sslen;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(cfg->port);
        sslen = sizeof *v4;
    } else if (inet_pton(AF_INET6, cfg->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(cfg->port);
        sslen = sizeof *v6;
    } else {
        mpic_error_set(err, "cannot listen on %s: not an IP address", cfg->host);
        return NULL;
    }
    raise_nofile(cfg->limits->max_connections, cfg->other_fds);
    struct mpic_http_server *s = calloc(1, sizeof *s);
    if (s == NULL || (s->retry = evtimer_new(base, on_retry, s)) == NULL ||
        (s->calm = evtimer_new(base, on_calm, s)) == NULL) {
        if (s != NULL && s->retry != NULL)
            event_free(s->retry);
        free(s);
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->lim = *cfg->limits;
    s->msg_lim = (struct mpic_http_msg_limits){ s->lim.max_header_bytes, s->lim.max_headers, cfg->max_body_bytes };
    s->base = base;
    s->listener = evconnlistener_new_bind(base, on_accept, s,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 511,
                                          (struct sockaddr *)&ss, (int)sslen);
    if (s->listener == NULL) {
        mpic_error_set(err, "cannot listen on %s port %u: %s", cfg->host, cfg->port, strerror(errno));
        mpic_http_server_free(s);
        return NULL;
    }
    evconnlistener_set_error_cb(s->listener, on_accept_error);
    /* Accepted sockets inherit it: Nagle's algorithm would hold a reply's
     * last segment back until the peer's delayed ACK (about 40 ms). */
    int one = 1;
    setsockopt(evconnlistener_get_fd(s->listener), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

void mpic_http_server_free(struct mpic_http_server *s)
{
    if (s == NULL)
        return;
    if (s->listener != NULL)
        evconnlistener_free(s->listener);
    s->listener = NULL;
    while (s->conns != NULL)
        conn_free(s->conns);
    event_free(s->retry);
    event_free(s->calm);
    free(s);
}

void mpic_http_server_set_ssl_ctx(struct mpic_http_server *s, SSL_CTX *ctx)
{
    s->cfg.ssl_ctx = ctx;
}

/* An idle keep-alive connection, or one that has sent nothing yet, holds no
 * request: it is closed; every other one closes after its answer. */
void mpic_http_server_drain(struct mpic_http_server *s)
{
    s->draining = true;
    if (s->listener != NULL)
        evconnlistener_free(s->listener);
    s->listener = NULL;
    struct mpic_http_request *c = s->conns, *next;
    for (; c != NULL; c = next) {
        next = c->next;
        if (c->state == ST_IDLE || (c->state == ST_HEAD && !c->msg.started))
            conn_free(c);
    }
}

unsigned mpic_http_server_busy(const struct mpic_http_server *s)
{
    unsigned n = 0;
    for (const struct mpic_http_request *c = s->conns; c != NULL; c = c->next)
        n += c->state == ST_BODY || c->state == ST_HANDLER || c->state == ST_WRITE ||
             (c->state == ST_HEAD && c->msg.started);
    return n;
}

const char *mpic_http_method(const struct mpic_http_request *req)
{
    return mpic_http_msg_method(&req->msg);
}

const char *mpic_http_path(const struct mpic_http_request *req)
{
    return req->msg.path;
}

const char *mpic_http_header(const struct mpic_http_request *req, const char *name, unsigned *count)
{
    return mpic_http_msg_header(&req->msg, name, count);
}

const char *mpic_http_body(const struct mpic_http_request *req, size_t *len)
{
    *len = req->msg.body_len;
    return req->msg.body != NULL ? req->msg.body : "";
}
