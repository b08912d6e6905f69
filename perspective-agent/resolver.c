/* The agent's stub resolver. Every query runs as a small state machine on the
 * agent's event loop, so one slow or silent server never holds up another
 * query: nothing here blocks, and servers are literal addresses (no name
 * lookups of our own). Invariants:
 *  - a query owns at most one socket at a time (a fresh one per try, so the
 *    kernel picks a fresh random source port each time), plus its events;
 *  - a try has one timeout budget, shared by its UDP exchange and the TCP
 *    exchange that follows a truncated answer;
 *  - only a reply whose ID and question match ours is accepted; over UDP the
 *    others are ignored while we keep waiting, and a truncated answer is
 *    never handed out;
 *  - the callback runs at most once, always from the loop, and never after
 *    mpic_resolver_cancel(). */
#include "resolver.h"

#include "dnsanswer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsanswer.h"
#include "log.h"

#define EDNS_UDP_SIZE 1232
#define MAX_MESSAGE 65535


struct mpic_resolver {
    struct event_base *base;
    struct mpic_dns_server *servers;
    size_t n_servers;
    unsigned timeout_ms;
    unsigned tries;
    struct mpic_dns_query *pending;     /* doubly linked, so free() can cancel them */
    /* Query IDs drawn ahead from the CSPRNG: each RAND_bytes call costs a
     * getpid() (OpenSSL's fork check), one per query was measurable. */
    uint8_t ids[256];
    size_t ids_left;
    /* Where queries are encoded: ldns_pkt2wire takes a fresh 64 KB buffer
     * each time, and freeing it shrank the heap (a brk() per query). */
    ldns_buffer *enc;
    uint8_t udp_buf[MAX_MESSAGE];       /* scratch for one datagram at a time */
};

enum try_phase { PHASE_IDLE, PHASE_UDP, PHASE_TCP_CONNECT, PHASE_TCP_WRITE, PHASE_TCP_READ };
enum try_failure { FAIL_TIMEOUT, FAIL_NETWORK, FAIL_BAD };

struct mpic_dns_query {
    struct mpic_resolver *r;
    struct mpic_dns_query *prev, *next;
    mpic_dns_cb cb;
    void *arg;
    char *name;
    ldns_rr_type type;
    ldns_pkt *question;         /* the query, for matching replies */
    uint16_t id;                /* the current try's */
    uint8_t *wire;              /* the query encoded once; each try writes its ID in */
    size_t wire_len;
    unsigned tries_used;
    const struct mpic_dns_server *server;
    int fd;
    enum try_phase phase;
    struct event io;            /* on fd; assigned per socket, valid while io_set */
    bool io_set;
    struct event *timer;        /* the current try's timeout */
    struct event *kick;         /* zero delay: starts the first try from the loop */
    bool bad_seen;              /* the current try saw replies we rejected */
    /* TCP exchange: the 2-byte length prefix each way (RFC 1035 §4.2.2). */
    uint8_t *out;
    size_t out_len, out_off;
    uint8_t len_hdr[2];
    size_t hdr_got;
    uint8_t *in;
    size_t in_len, in_got;
    enum try_failure last_failure;
    char last_detail[128];
};

static void try_next(struct mpic_dns_query *q);
static void on_udp_readable(evutil_socket_t fd, short what, void *arg);
static void on_tcp_event(evutil_socket_t fd, short what, void *arg);

struct mpic_resolver *mpic_resolver_new(struct event_base *base, const struct mpic_dns_config *cfg,
                                        struct mpic_error *err)
{
    if (base == NULL || cfg == NULL) {
        mpic_error_set(err, "DNS resolver: no event base or configuration");
        return NULL;
    }
    if (cfg->resolvers.n == 0) {
        mpic_error_set(err, "DNS resolver: no servers configured");
        return NULL;
    }
    if (cfg->tries == 0 || cfg->timeout_ms == 0) {
        mpic_error_set(err, "DNS resolver: tries and timeout_ms must be at least 1");
        return NULL;
    }
    struct mpic_resolver *r = calloc(1, sizeof *r);
    if (r == NULL) {
        mpic_error_set(err, "DNS resolver: out of memory");
        return NULL;
    }
    r->servers = calloc(cfg->resolvers.n, sizeof *r->servers);
    r->enc = ldns_buffer_new(512);
    if (r->servers == NULL || r->enc == NULL) {
        mpic_error_set(err, "DNS resolver: out of memory");
        goto fail;
    }
    memcpy(r->servers, cfg->servers, cfg->resolvers.n * sizeof *r->servers);
    r->n_servers = cfg->resolvers.n;
    r->base = base;
    r->timeout_ms = cfg->timeout_ms;
    r->tries = cfg->tries;
    return r;

fail:
    if (r->enc != NULL)
        ldns_buffer_free(r->enc);
    free(r->servers);
    free(r);
    return NULL;
}

/* The event goes before its descriptor, whose number socket() may reuse. */
static void drop_io(struct mpic_dns_query *q)
{
    if (q->io_set) {
        event_del(&q->io);
        q->io_set = false;
    }
}

/* Releases what the current try holds: socket, I/O event, TCP buffers, timer. */
static void end_try(struct mpic_dns_query *q)
{
    drop_io(q);
    if (q->fd >= 0) {
        close(q->fd);
        q->fd = -1;
    }
    if (q->timer != NULL)
        evtimer_del(q->timer);
    free(q->out);
    q->out = NULL;
    free(q->in);
    q->in = NULL;
    q->out_len = q->out_off = q->hdr_got = q->in_len = q->in_got = 0;
    q->phase = PHASE_IDLE;
}

static void query_free(struct mpic_dns_query *q)
{
    end_try(q);
    if (q->timer != NULL)
        event_free(q->timer);
    if (q->kick != NULL)
        event_free(q->kick);
    ldns_pkt_free(q->question);
    free(q->wire);
    free(q->name);
    free(q);
}

static void unlink_query(struct mpic_dns_query *q)
{
    if (q->r == NULL)
        return;
    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        q->r->pending = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
    q->r = NULL;
}

/* Hands res to the caller and frees q. The caller may cancel other queries or
 * free the resolver from its callback: q is unlinked first and touches
 * nothing of the resolver afterwards. */
static void finish(struct mpic_dns_query *q, struct mpic_dns_result *res)
{
    mpic_dns_cb cb = q->cb;
    void *arg = q->arg;
    end_try(q);
    unlink_query(q);
    query_free(q);
    cb(res, arg);
    ldns_pkt_free(res->pkt);
}

static void finish_ok(struct mpic_dns_query *q, ldns_pkt *pkt, bool via_tcp)
{
    struct mpic_dns_result res;
    memset(&res, 0, sizeof res);
    res.status = MPIC_DNS_OK;
    res.pkt = pkt;
    res.via_tcp = via_tcp;
    res.tries = q->tries_used;
    snprintf(res.server, sizeof res.server, "%s", q->server->text);
    finish(q, &res);
}

static void finish_failed(struct mpic_dns_query *q)
{
    static const char *const what[] = {
        [FAIL_TIMEOUT] = "timeout", [FAIL_NETWORK] = "network error", [FAIL_BAD] = "bad response",
    };
    static const enum mpic_dns_status status[] = {
        [FAIL_TIMEOUT] = MPIC_DNS_TIMEOUT, [FAIL_NETWORK] = MPIC_DNS_NETWORK,
        [FAIL_BAD] = MPIC_DNS_BAD_RESPONSE,
    };
    struct mpic_dns_result res;
    memset(&res, 0, sizeof res);
    res.status = status[q->last_failure];
    res.tries = q->tries_used;
    if (q->server != NULL)
        snprintf(res.server, sizeof res.server, "%s", q->server->text);
    snprintf(res.error, sizeof res.error, "%s after %u %s (last to %s%s%s)", what[q->last_failure],
             q->tries_used, q->tries_used == 1 ? "try" : "tries",
             q->server != NULL ? q->server->text : "no server", q->last_detail[0] ? ": " : "",
             q->last_detail);
    finish(q, &res);
}

/* The current try failed: note why and move on to the next one. */
static void try_failed(struct mpic_dns_query *q, enum try_failure f, const char *detail)
{
    if (f == FAIL_TIMEOUT && q->bad_seen) {
        f = FAIL_BAD;
        detail = "only mismatched or unparseable replies";
    }
    q->last_failure = f;
    snprintf(q->last_detail, sizeof q->last_detail, "%s", detail ? detail : "");
    mpic_log(MPIC_LOG_DEBUG, "dns_try_failed", "name=%s type=%d server=%s try=%u detail=\"%s\"",
             q->name, (int)q->type, q->server->text, q->tries_used, q->last_detail);
    end_try(q);
    try_next(q);
}

static void try_failed_errno(struct mpic_dns_query *q, const char *op, int e)
{
    char detail[96];
    snprintf(detail, sizeof detail, "%s: %s", op, strerror(e));
    try_failed(q, FAIL_NETWORK, detail);
}

/* Parses a reply and checks that it answers our question with our ID.
 * Returns the packet, or NULL (and why) when it is not ours or unparseable. */
static ldns_pkt *matching_reply(const struct mpic_dns_query *q, const uint8_t *buf, size_t len,
                                const char **why)
{
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK) {
        *why = "unparseable reply";
        return NULL;
    }
    const ldns_rr *ours = ldns_rr_list_rr(ldns_pkt_question(q->question), 0);
    const ldns_rr_list *qs = ldns_pkt_question(pkt);
    const ldns_rr *theirs = qs != NULL && ldns_rr_list_rr_count(qs) == 1 ? ldns_rr_list_rr(qs, 0) : NULL;
    if (!ldns_pkt_qr(pkt) || ldns_pkt_id(pkt) != q->id || ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) {
        *why = "reply with another ID";
        ldns_pkt_free(pkt);
        return NULL;
    }
    if (theirs == NULL || ldns_rr_get_type(theirs) != ldns_rr_get_type(ours) ||
        ldns_rr_get_class(theirs) != ldns_rr_get_class(ours) ||
        ldns_dname_compare(ldns_rr_owner(theirs), ldns_rr_owner(ours)) != 0) {
        *why = "reply to another question";
        ldns_pkt_free(pkt);
        return NULL;
    }
    return pkt;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dns_query *q = arg;
    try_failed(q, FAIL_TIMEOUT, q->phase == PHASE_UDP ? "no reply over UDP" : "no complete reply over TCP");
}

static int set_io(struct mpic_dns_query *q, short events, event_callback_fn fn)
{
    drop_io(q);
    if (event_assign(&q->io, q->r->base, q->fd, events | EV_PERSIST, fn, q) < 0 || event_add(&q->io, NULL) < 0)
        return -1;
    q->io_set = true;
    return 0;
}

/* The UDP answer was truncated: same server, same try and budget, over TCP. */
static void start_tcp(struct mpic_dns_query *q)
{
    drop_io(q);
    close(q->fd);
    q->fd = socket(q->server->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (q->fd < 0) {
        try_failed_errno(q, "TCP socket", errno);
        return;
    }
    q->out_len = q->wire_len + 2;
    q->out = malloc(q->out_len);
    if (q->out == NULL) {
        try_failed(q, FAIL_NETWORK, "out of memory");
        return;
    }
    q->out[0] = (uint8_t)(q->wire_len >> 8);
    q->out[1] = (uint8_t)q->wire_len;
    memcpy(q->out + 2, q->wire, q->wire_len);
    if (connect(q->fd, (const struct sockaddr *)&q->server->addr, q->server->addr_len) < 0 &&
        errno != EINPROGRESS) {
        try_failed_errno(q, "TCP connect", errno);
        return;
    }
    q->phase = PHASE_TCP_CONNECT;
    if (set_io(q, EV_WRITE, on_tcp_event) < 0)
        try_failed(q, FAIL_NETWORK, "cannot watch the TCP socket");
}

static void on_udp_readable(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dns_query *q = arg;
    uint8_t *buf = q->r->udp_buf;
    for (;;) {
        ssize_t n = recv(fd, buf, MAX_MESSAGE, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            try_failed_errno(q, "UDP receive", errno);
            return;
        }
        const char *why = NULL;
        ldns_pkt *pkt = matching_reply(q, buf, (size_t)n, &why);
        if (pkt == NULL) {
            q->bad_seen = true;     /* maybe spoofed or late: keep waiting */
            mpic_log(MPIC_LOG_DEBUG, "dns_reply_ignored", "name=%s server=%s why=\"%s\"", q->name,
                     q->server->text, why);
            continue;
        }
        if (ldns_pkt_tc(pkt)) {
            ldns_pkt_free(pkt);
            start_tcp(q);
            return;
        }
        finish_ok(q, pkt, false);
        return;
    }
}

static void tcp_reply_complete(struct mpic_dns_query *q)
{
    const char *why = NULL;
    ldns_pkt *pkt = matching_reply(q, q->in, q->in_len, &why);
    if (pkt == NULL) {
        try_failed(q, FAIL_BAD, why);
        return;
    }
    if (ldns_pkt_tc(pkt)) {
        ldns_pkt_free(pkt);
        try_failed(q, FAIL_BAD, "truncated reply over TCP");
        return;
    }
    finish_ok(q, pkt, true);
}

static void on_tcp_event(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dns_query *q = arg;

    if (q->phase == PHASE_TCP_CONNECT) {
        int e = 0;
        socklen_t elen = sizeof e;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
            e = errno;
        if (e != 0) {
            try_failed_errno(q, "TCP connect", e);
            return;
        }
        q->phase = PHASE_TCP_WRITE;
    }
    if (q->phase == PHASE_TCP_WRITE) {
        while (q->out_off < q->out_len) {
            ssize_t n = send(fd, q->out + q->out_off, q->out_len - q->out_off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    return;
                try_failed_errno(q, "TCP send", errno);
                return;
            }
            q->out_off += (size_t)n;
        }
        q->phase = PHASE_TCP_READ;
        if (set_io(q, EV_READ, on_tcp_event) < 0)
            try_failed(q, FAIL_NETWORK, "cannot watch the TCP socket");
        return;
    }

    /* PHASE_TCP_READ: the length prefix, then the message, in as many reads as it takes. */
    for (;;) {
        uint8_t *dst;
        size_t want;
        if (q->hdr_got < 2) {
            dst = q->len_hdr + q->hdr_got;
            want = 2 - q->hdr_got;
        } else {
            dst = q->in + q->in_got;
            want = q->in_len - q->in_got;
        }
        ssize_t n = recv(fd, dst, want, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            try_failed_errno(q, "TCP receive", errno);
            return;
        }
        if (n == 0) {
            try_failed(q, FAIL_NETWORK, "TCP connection closed before the whole reply");
            return;
        }
        if (q->hdr_got < 2) {
            q->hdr_got += (size_t)n;
            if (q->hdr_got == 2) {
                q->in_len = (size_t)q->len_hdr[0] << 8 | q->len_hdr[1];
                if (q->in_len < 12) {
                    try_failed(q, FAIL_BAD, "TCP reply shorter than a DNS header");
                    return;
                }
                q->in = malloc(q->in_len);
                if (q->in == NULL) {
                    try_failed(q, FAIL_NETWORK, "out of memory");
                    return;
                }
            }
        } else {
            q->in_got += (size_t)n;
            if (q->in_got == q->in_len) {
                tcp_reply_complete(q);
                return;
            }
        }
    }
}

/* Opens the try's UDP socket and sends the query; -1 (errno-style detail in
 * q->last_detail) when the try cannot even start. */
static int start_udp(struct mpic_dns_query *q)
{
    struct mpic_resolver *r = q->r;
    if (r->ids_left < sizeof q->id) {
        if (RAND_bytes(r->ids, sizeof r->ids) != 1) {
            snprintf(q->last_detail, sizeof q->last_detail, "no random query ID");
            return -1;
        }
        r->ids_left = sizeof r->ids;
    }
    r->ids_left -= sizeof q->id;
    q->id = ldns_read_uint16(r->ids + r->ids_left);
    ldns_write_uint16(q->wire, q->id);
    q->fd = socket(q->server->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const char *op = "UDP socket";
    if (q->fd < 0)
        goto fail;
    op = "UDP connect";
    if (connect(q->fd, (const struct sockaddr *)&q->server->addr, q->server->addr_len) < 0)
        goto fail;
    op = "UDP send";
    ssize_t n = send(q->fd, q->wire, q->wire_len, 0);
    if (n < 0 || (size_t)n != q->wire_len)
        goto fail;
    q->phase = PHASE_UDP;
    if (set_io(q, EV_READ, on_udp_readable) < 0) {
        snprintf(q->last_detail, sizeof q->last_detail, "cannot watch the UDP socket");
        return -1;
    }
    return 0;

fail:
    snprintf(q->last_detail, sizeof q->last_detail, "%s: %s", op, strerror(errno));
    return -1;
}

/* Starts the next try on the next server in turn, or reports the failure. */
static void try_next(struct mpic_dns_query *q)
{
    struct mpic_resolver *r = q->r;
    while (q->tries_used < r->tries) {
        q->server = &r->servers[q->tries_used % r->n_servers];
        q->tries_used++;
        q->bad_seen = false;
        if (start_udp(q) == 0) {
            struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
            if (evtimer_add(q->timer, &tv) == 0)
                return;
            snprintf(q->last_detail, sizeof q->last_detail, "cannot arm the timer");
        }
        q->last_failure = FAIL_NETWORK;
        end_try(q);
    }
    finish_failed(q);
}

/* q->wire: the question in wire format, encoded in the resolver's buffer. */
static int encode_query(struct mpic_resolver *r, struct mpic_dns_query *q)
{
    ldns_buffer_clear(r->enc);
    if (ldns_pkt2buffer_wire(r->enc, q->question) != LDNS_STATUS_OK ||
        ldns_buffer_position(r->enc) < LDNS_HEADER_SIZE) {
        /* A buffer that once failed to grow stays failed: later queries get a new one. */
        ldns_buffer *fresh = ldns_buffer_new(512);
        if (fresh != NULL) {
            ldns_buffer_free(r->enc);
            r->enc = fresh;
        }
        return -1;
    }
    q->wire_len = ldns_buffer_position(r->enc);
    q->wire = malloc(q->wire_len);
    if (q->wire == NULL)
        return -1;
    memcpy(q->wire, ldns_buffer_begin(r->enc), q->wire_len);
    return 0;
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    try_next(arg);
}

struct mpic_dns_query *mpic_resolver_query(struct mpic_resolver *r, const char *name,
                                           ldns_rr_type type, mpic_dns_cb cb, void *arg,
                                           struct mpic_error *err)
{
    if (r == NULL || name == NULL || cb == NULL) {
        mpic_error_set(err, "DNS query: missing resolver, name or callback");
        return NULL;
    }
    struct mpic_dns_query *q = calloc(1, sizeof *q);
    if (q == NULL) {
        mpic_error_set(err, "DNS query for %s: out of memory", name);
        return NULL;
    }
    q->fd = -1;
    q->cb = cb;
    q->arg = arg;
    q->name = strdup(name);
    q->type = type;
    ldns_rdf *qname = mpic_dns_dname_absolute(name);
    if (qname == NULL) {
        mpic_error_set(err, "DNS query: \"%s\" is not a valid domain name", name);
        goto fail;
    }
    q->question = ldns_pkt_query_new(qname, type, LDNS_RR_CLASS_IN, LDNS_RD);
    if (q->question == NULL) {
        ldns_rdf_deep_free(qname);
        mpic_error_set(err, "DNS query for %s: cannot build the query", name);
        goto fail;
    }
    /* AD=1 asks a validating resolver to report authenticity (RFC 6840 §5.7);
     * DO=1 so that it does so even where AD alone is not honoured. */
    ldns_pkt_set_ad(q->question, true);
    ldns_pkt_set_edns_udp_size(q->question, EDNS_UDP_SIZE);
    ldns_pkt_set_edns_do(q->question, true);
    if (encode_query(r, q) < 0) {
        mpic_error_set(err, "DNS query for %s: cannot encode the query", name);
        goto fail;
    }
    q->timer = evtimer_new(r->base, on_timeout, q);
    q->kick = evtimer_new(r->base, on_kick, q);
    if (q->name == NULL || q->timer == NULL || q->kick == NULL) {
        mpic_error_set(err, "DNS query for %s: out of memory", name);
        goto fail;
    }
    struct timeval now = { 0, 0 };
    if (evtimer_add(q->kick, &now) < 0) {
        mpic_error_set(err, "DNS query for %s: cannot schedule", name);
        goto fail;
    }
    q->r = r;
    q->next = r->pending;
    if (r->pending != NULL)
        r->pending->prev = q;
    r->pending = q;
    return q;

fail:
    query_free(q);
    return NULL;
}

void mpic_resolver_cancel(struct mpic_dns_query *q)
{
    if (q == NULL)
        return;
    unlink_query(q);
    query_free(q);
}

struct event_base *mpic_resolver_base(const struct mpic_resolver *r)
{
    return r->base;
}

void mpic_resolver_free(struct mpic_resolver *r)
{
    if (r == NULL)
        return;
    while (r->pending != NULL)
        mpic_resolver_cancel(r->pending);
    ldns_buffer_free(r->enc);
    free(r->servers);
    free(r);
}
