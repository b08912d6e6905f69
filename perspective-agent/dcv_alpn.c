/* acme-tls-alpn-01 (RFC 8737; RFC 8738 for IP identifiers, BR 3.2.2.4.20 and
 * 3.2.2.5.7): connect to port 443 of the target, offer only ALPN acme-tls/1
 * with SNI = the identifier (its reverse-DNS name for an IP), and judge the
 * self-signed certificate the server presents. No chain validation: the
 * certificate proves control through its acmeIdentifier extension, not
 * through a CA.
 *
 * Names are resolved as addr_lookup.h says (the same policy as HTTP): all
 * A and AAAA addresses, IPv4 first; every address is put through the SSRF
 * guard before the first connect. Addresses are tried in turn while
 * connecting or handshaking fails; a completed handshake decides the check.
 * Everything runs on the libevent loop (own non-blocking socket, SSL_connect
 * retried on readiness), under one deadline of ctx->timeout_ms.
 *
 * Error types, one errors[] entry each:
 *   completed false (no verdict about the certificate):
 *     mpic_error:dcv_checker:lookup                  A/AAAA lookup failed (NXDOMAIN included)
 *                                                    or found no address
 *     mpic_error:dcv_checker:tls_alpn:target_refused an address is reserved (SSRF guard)
 *     mpic_error:dcv_checker:tls_alpn:connect        connect or handshake failed on every
 *                                                    address, or the deadline passed
 *   completed true, passed false (the certificate was judged; every failure found is listed):
 *     mpic_error:dcv_checker:tls_alpn:certificate:alpn_not_negotiated   (alone: without
 *                                                    acme-tls/1 the certificate is no challenge)
 *     ...:certificate:san_count               not exactly one subjectAltName entry
 *     ...:certificate:san_mismatch            the one entry is not the identifier
 *     ...:certificate:extension_missing       no 1.3.6.1.5.5.7.1.31
 *     ...:certificate:extension_not_critical  present but not critical
 *     ...:certificate:hash_mismatch           value is not OCTET STRING(key_authorization_hash),
 *                                             or the extension appears twice */
#include "dcv_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr_lookup.h"
#include "alpn_cert.h"
#include "log.h"
#include "netaddr.h"
#include "tls.h"
#include "wire.h"

#define ALPN_PORT 443
#define DEFAULT_TIMEOUT_MS 10000

static const char *const lookup_error = MPIC_ERR_DCV_LOOKUP;
static const char *const refused_error = MPIC_ERR_TLS_ALPN_TARGET_REFUSED;
static const char *const connect_error = MPIC_ERR_TLS_ALPN_CONNECT;

/* The ALPN protocol list in wire form: one length-prefixed name. */
static const unsigned char alpn_wire[] = "\x0a" "acme-tls/1";
#define ALPN_WIRE_LEN (sizeof alpn_wire - 1)

enum stage { STAGE_RESOLVE, STAGE_CONNECT, STAGE_HANDSHAKE };

struct mpic_dcv_alpn {
    mpic_dcv_cb cb;
    void *arg;
    struct event_base *base;
    bool allow_private;
    unsigned timeout_ms;
    char *target;
    char *sni;
    struct mpic_alpn_expect expect; /* what the certificate must show */

    struct mpic_addr_lookup *lookup;   /* NULL once answered */
    struct mpic_addr_list addrs;    /* to try, in order */
    size_t next_addr;
    const struct mpic_addr *cur;
    char last_failure[400];         /* why the last address failed */
    enum stage stage;

    int fd;
    SSL_CTX *ssl_ctx;
    SSL *ssl;
    struct event *io;       /* the socket, one direction at a time */
    struct event *deadline;
    struct event *kick;     /* an IP target starts from the loop */
};

static void close_connection(struct mpic_dcv_alpn *c)
{
    if (c->io != NULL) {
        event_free(c->io);
        c->io = NULL;
    }
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

static void check_free(struct mpic_dcv_alpn *c)
{
    if (c == NULL)
        return;
    mpic_addr_lookup_cancel(c->lookup);
    close_connection(c);
    if (c->deadline != NULL)
        event_free(c->deadline);
    if (c->kick != NULL)
        event_free(c->kick);
    SSL_CTX_free(c->ssl_ctx);
    free(c->target);
    free(c->sni);
    free(c);
}

void mpic_dcv_alpn_cancel(struct mpic_dcv_alpn *c)
{
    check_free(c);
}

/* Reports and ends the check; takes errors. Only ever called from a loop callback. */
static void finish(struct mpic_dcv_alpn *c, bool completed, bool passed, json_t *errors, const char *common_name)
{
    struct mpic_dcv_outcome o = {
        .completed = completed,
        .passed = passed,
        .errors = errors,
        .details = mpic_dcv_alpn_details_json(common_name),
    };
    mpic_log(MPIC_LOG_DEBUG, "dcv_alpn_done", "target=%s completed=%d passed=%d address=%s", c->target,
             completed, passed, c->cur != NULL ? c->cur->text : "-");
    mpic_dcv_cb cb = c->cb;
    void *arg = c->arg;
    close_connection(c);
    cb(&o, arg);
    json_decref(o.errors);
    json_decref(o.details);
    check_free(c);
}

static void fail(struct mpic_dcv_alpn *c, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct mpic_dcv_alpn *c, const char *type, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    finish(c, false, false, mpic_error_list_append(NULL, type, msg), NULL);
}

/* The handshake is done: the verdict. */
static void judge(struct mpic_dcv_alpn *c)
{
    char cn[256];
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    bool has_cn = cert != NULL && mpic_tls_cert_cn(cert, cn, sizeof cn) == 0;

    const unsigned char *proto = NULL;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
    json_t *errors = mpic_alpn_judge(&c->expect, c->cur->text, proto, proto_len, cert);
    X509_free(cert);
    finish(c, true, errors == NULL, errors, has_cn ? cn : NULL);
}

/* ---- the connection ---- */

static void try_next_address(struct mpic_dcv_alpn *c);
static void handshake_step(struct mpic_dcv_alpn *c);

static int wait_for(struct mpic_dcv_alpn *c, short what, event_callback_fn fn)
{
    if (c->io != NULL)
        event_free(c->io);
    c->io = event_new(c->base, c->fd, what, fn, c);
    return c->io != NULL && event_add(c->io, NULL) == 0 ? 0 : -1;
}

static void on_handshake_io(evutil_socket_t fd, short what, void *arg)
{
    handshake_step(arg);
}

/* Why SSL_connect failed, for the message. */
static void describe_ssl_failure(struct mpic_dcv_alpn *c, int r, char *buf, size_t len)
{
    int e = SSL_get_error(c->ssl, r);
    char ossl[256];
    mpic_tls_last_error(ossl, sizeof ossl);
    if (ossl[0] != '\0')
        snprintf(buf, len, "%s", ossl);
    else if (e == SSL_ERROR_SYSCALL && errno != 0)
        snprintf(buf, len, "%s", strerror(errno));
    else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
        snprintf(buf, len, "connection closed by the server");
    else
        snprintf(buf, len, "SSL error %d", e);
}

static void handshake_step(struct mpic_dcv_alpn *c)
{
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(c->ssl);
    if (r == 1) {
        judge(c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (wait_for(c, e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE, on_handshake_io) == 0)
            return;
        snprintf(c->last_failure, sizeof c->last_failure, "TLS handshake with %s: cannot wait on the socket",
                 c->cur->text);
    } else {
        char why[300];
        describe_ssl_failure(c, r, why, sizeof why);
        snprintf(c->last_failure, sizeof c->last_failure, "TLS handshake with %s:%d failed: %s", c->cur->text,
                 ALPN_PORT, why);
    }
    try_next_address(c);
}

static void start_tls(struct mpic_dcv_alpn *c)
{
    c->stage = STAGE_HANDSHAKE;
    c->ssl = SSL_new(c->ssl_ctx);
    /* SSL_set_alpn_protos returns 0 on success, unlike its neighbours. */
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_set_tlsext_host_name(c->ssl, c->sni) != 1 ||
        SSL_set_alpn_protos(c->ssl, alpn_wire, ALPN_WIRE_LEN) != 0) {
        char why[256];
        snprintf(c->last_failure, sizeof c->last_failure, "cannot set up TLS to %s: %s", c->cur->text,
                 mpic_tls_last_error(why, sizeof why));
        try_next_address(c);
        return;
    }
    SSL_set_connect_state(c->ssl);
    handshake_step(c);
}

static void on_connected(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dcv_alpn *c = arg;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr != 0) {
        snprintf(c->last_failure, sizeof c->last_failure, "connect to %s port %d failed: %s", c->cur->text,
                 ALPN_PORT, strerror(soerr));
        try_next_address(c);
        return;
    }
    start_tls(c);
}

static void try_next_address(struct mpic_dcv_alpn *c)
{
    close_connection(c);
    if (c->next_addr >= c->addrs.n) {
        fail(c, connect_error, "tls-alpn-01 for %s: %s", c->target, c->last_failure);
        return;
    }
    c->cur = &c->addrs.a[c->next_addr++];
    c->stage = STAGE_CONNECT;
    struct sockaddr_storage ss;
    socklen_t ss_len = mpic_addr_sockaddr(c->cur, ALPN_PORT, &ss);
    c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(c->last_failure, sizeof c->last_failure, "socket for %s: %s", c->cur->text, strerror(errno));
        try_next_address(c);
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)&ss, ss_len) == 0) {
        start_tls(c);
        return;
    }
    if (errno != EINPROGRESS) {
        snprintf(c->last_failure, sizeof c->last_failure, "connect to %s port %d failed: %s", c->cur->text,
                 ALPN_PORT, strerror(errno));
        try_next_address(c);
        return;
    }
    if (wait_for(c, EV_WRITE, on_connected) < 0) {
        snprintf(c->last_failure, sizeof c->last_failure, "connect to %s: cannot wait on the socket",
                 c->cur->text);
        try_next_address(c);
    }
}

/* The SSRF guard over every address, then the first connect. */
static void connect_addresses(struct mpic_dcv_alpn *c)
{
    const char *why = NULL;
    const struct mpic_addr *bad = mpic_addr_list_refused(&c->addrs, c->allow_private, &why);
    if (bad != NULL) {
        fail(c, refused_error, "tls-alpn-01 for %s refused: %s is a %s address, not a public one", c->target,
             bad->text, why);
        return;
    }
    snprintf(c->last_failure, sizeof c->last_failure, "no address to connect to");
    try_next_address(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_dcv_alpn *c = arg;
    static const char *const doing[] = { "resolving the name", "connecting to", "in the TLS handshake with" };
    const char *where = c->stage == STAGE_RESOLVE ? "" : c->cur != NULL ? c->cur->text : c->target;
    fail(c, c->stage == STAGE_RESOLVE ? lookup_error : connect_error,
         "tls-alpn-01 for %s: timed out after %u ms %s%s%s", c->target, c->timeout_ms, doing[c->stage],
         where[0] != '\0' ? " " : "", where);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    connect_addresses(arg);
}

/* ---- resolution ---- */

static void on_addresses(const struct mpic_addr_list *found, const char *error, void *arg)
{
    struct mpic_dcv_alpn *c = arg;
    c->lookup = NULL;   /* frees itself once we return */
    if (found == NULL) {
        fail(c, lookup_error, "tls-alpn-01: %s", error);
        return;
    }
    c->addrs = *found;
    connect_addresses(c);
}

/* ---- start ---- */

static SSL_CTX *client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    /* The certificate is self-signed by design: its extension is the proof, not its issuer. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return ctx;
}

struct mpic_dcv_alpn *mpic_dcv_alpn_start(const struct mpic_dcv_ctx *ctx, const char *target,
                                          const struct mpic_target *ti, const struct mpic_dcv_params *p,
                                          mpic_dcv_cb cb, void *arg, struct mpic_error *err)
{
    if (ctx == NULL || ctx->base == NULL || target == NULL || ti == NULL || p == NULL || cb == NULL) {
        mpic_error_set(err, "tls-alpn-01: missing context, target, parameters or callback");
        return NULL;
    }
    if (ti->kind == MPIC_TARGET_DNS && (ti->wildcard || ctx->resolver == NULL)) {
        mpic_error_set(err, ti->wildcard ? "tls-alpn-01 cannot validate the wildcard target %s"
                                         : "tls-alpn-01 for %s: no resolver", target);
        return NULL;
    }
    struct mpic_dcv_alpn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        mpic_error_set(err, "tls-alpn-01 for %s: out of memory", target);
        return NULL;
    }
    c->fd = -1;
    c->cb = cb;
    c->arg = arg;
    c->base = ctx->base;
    c->allow_private = ctx->allow_private_targets;
    c->timeout_ms = ctx->timeout_ms > 0 ? ctx->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->expect.kind = ti->kind;
    if (mpic_alpn_expected_value(p->key_authorization_hash, c->expect.value) < 0) {
        mpic_error_set(err, "tls-alpn-01 for %s: key_authorization_hash must be 64 hex digits (SHA-256)", target);
        goto fail;
    }
    c->target = strdup(target);
    c->expect.target = c->target;
    c->ssl_ctx = client_ctx();
    if (c->target == NULL || c->ssl_ctx == NULL) {
        char why[256];
        mpic_error_set(err, "tls-alpn-01 for %s: cannot set up TLS: %s", target,
                       mpic_tls_last_error(why, sizeof why));
        goto fail;
    }

    c->deadline = evtimer_new(c->base, on_deadline, c);
    struct timeval tv = { (time_t)(c->timeout_ms / 1000), (suseconds_t)(c->timeout_ms % 1000) * 1000 };
    if (c->deadline == NULL || evtimer_add(c->deadline, &tv) < 0) {
        mpic_error_set(err, "tls-alpn-01 for %s: cannot schedule the deadline", target);
        goto fail;
    }

    if (ti->kind != MPIC_TARGET_DNS) {
        int family = ti->kind == MPIC_TARGET_IPV4 ? AF_INET : AF_INET6;
        c->expect.ip_len = family == AF_INET ? 4 : 16;
        if (inet_pton(family, target, c->expect.ip) != 1 || mpic_addr_list_add_literal(&c->addrs, target) < 0) {
            mpic_error_set(err, "tls-alpn-01: \"%s\" is not an IP address", target);
            goto fail;
        }
        /* RFC 8738 §6: the SNI of an IP identifier is its reverse-DNS name. */
        char rev[80];
        c->sni = mpic_addr_reverse_name(target, rev, sizeof rev) == 0 ? strdup(rev) : NULL;
        c->stage = STAGE_CONNECT;
        struct timeval now = { 0, 0 };
        c->kick = evtimer_new(c->base, on_kick, c);
        if (c->sni == NULL || c->kick == NULL || evtimer_add(c->kick, &now) < 0) {
            mpic_error_set(err, "tls-alpn-01 for %s: cannot schedule", target);
            goto fail;
        }
        return c;
    }

    c->sni = strdup(target);
    if (c->sni == NULL) {
        mpic_error_set(err, "tls-alpn-01 for %s: out of memory", target);
        goto fail;
    }
    c->stage = STAGE_RESOLVE;
    struct mpic_error qerr = { { 0 } };
    c->lookup = mpic_addr_lookup_start(ctx->resolver, target, on_addresses, c, &qerr);
    if (c->lookup == NULL) {
        mpic_error_set(err, "tls-alpn-01 for %s: %s", target, qerr.msg);
        goto fail;
    }
    return c;

fail:
    check_free(c);
    return NULL;
}
