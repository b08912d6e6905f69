/* acme-tls-alpn-01 (RFC 8737; RFC 8738 for IP identifiers, BR 3.2.2.4.20 and
 * 3.2.2.5.7): connect to port 443 of the target, offer only ALPN acme-tls/1
 * with SNI = the identifier (its reverse-DNS name for an IP), and judge the
 * self-signed certificate the server presents. No chain validation: the
 * certificate proves control through its acmeIdentifier extension, not
 * through a CA.
 *
 * Names are resolved through the agent's own resolver (A, then AAAA
 * addresses), never the system's; a failed lookup of one family does not
 * matter when the other found addresses. Every address is put through the
 * SSRF guard before the first connect. Addresses are tried in turn while
 * connecting or handshaking fails; a completed handshake decides the check.
 * Everything runs on the libevent loop (own non-blocking socket, SSL_connect
 * retried on readiness), under one deadline of ctx->timeout_ms.
 *
 * Error types, one errors[] entry each:
 *   completed false (no verdict about the certificate):
 *     mpic_error:dcv_checker:lookup                  A/AAAA lookup failed or found no address
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

#include "dnsanswer.h"
#include "log.h"
#include "netaddr.h"
#include "tls.h"
#include "wire.h"

#define ALPN_PORT 443
#define MAX_ADDRS 16
#define DEFAULT_TIMEOUT_MS 10000
#define HASH_LEN 32
/* RFC 8737 §3: the extension's value is the DER OCTET STRING of the hash. */
#define EXT_VALUE_LEN (2 + HASH_LEN)
#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"

static const char *const lookup_error = MPIC_ERR_DCV_LOOKUP;
static const char *const refused_error = MPIC_ERR_TLS_ALPN_TARGET_REFUSED;
static const char *const connect_error = MPIC_ERR_TLS_ALPN_CONNECT;
#define CERT_ERROR(reason) MPIC_ERR_TLS_ALPN_CERTIFICATE(reason)

/* The ALPN protocol list in wire form: one length-prefixed name. */
static const unsigned char alpn_wire[] = "\x0a" "acme-tls/1";
#define ALPN_WIRE_LEN (sizeof alpn_wire - 1)

struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[INET6_ADDRSTRLEN];
};

enum stage { STAGE_RESOLVE, STAGE_CONNECT, STAGE_HANDSHAKE };

struct mpic_dcv_alpn {
    mpic_dcv_cb cb;
    void *arg;
    struct event_base *base;
    bool allow_private;
    unsigned timeout_ms;
    char *target;
    char *sni;
    enum mpic_target_kind kind;
    unsigned char ip[16];           /* IP target, network order */
    size_t ip_len;
    unsigned char expected[EXT_VALUE_LEN];

    struct mpic_dns_query *q[2];    /* A, AAAA; NULL once answered */
    struct addr found[2][MAX_ADDRS];
    size_t n_found[2];
    bool failed[2];                 /* that lookup failed (vs. answered, maybe empty) */
    char lookup_failure[300];

    struct addr addrs[MAX_ADDRS];   /* to try, in order */
    size_t n_addrs, next_addr;
    const struct addr *cur;
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
    for (size_t i = 0; i < 2; i++)
        mpic_resolver_cancel(c->q[i]);
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

/* ---- the certificate ---- */

static bool ascii_equal_nocase(const unsigned char *a, size_t alen, const char *b)
{
    if (alen != strlen(b))
        return false;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

/* What a SAN entry holds, printable, for the error message. */
static void describe_san(const GENERAL_NAME *g, char *buf, size_t len)
{
    if (g->type == GEN_DNS) {
        const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
        int n = ASN1_STRING_length(g->d.dNSName);
        size_t o = (size_t)snprintf(buf, len, "dNSName ");
        for (int i = 0; i < n && o + 1 < len; i++)
            buf[o++] = d[i] >= 0x21 && d[i] < 0x7f ? (char)d[i] : '?';
        buf[o < len ? o : len - 1] = '\0';
    } else if (g->type == GEN_IPADD) {
        const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
        int n = ASN1_STRING_length(g->d.iPAddress);
        char ip[INET6_ADDRSTRLEN] = "?";
        if (n == 4 || n == 16)
            inet_ntop(n == 4 ? AF_INET : AF_INET6, d, ip, sizeof ip);
        snprintf(buf, len, "iPAddress %s", ip);
    } else {
        snprintf(buf, len, "a name of type %d", g->type);
    }
}

static json_t *check_san(const struct mpic_dcv_alpn *c, X509 *cert, json_t *errors)
{
    char msg[400];
    int crit = -1;
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (sans == NULL) {
        const char *why = crit == -1 ? "no subjectAltName extension"
                          : crit == -2 ? "more than one subjectAltName extension"
                                       : "an unparseable subjectAltName extension";
        snprintf(msg, sizeof msg, "certificate from %s for %s has %s; exactly one entry naming it is required",
                 c->cur->text, c->target, why);
        return mpic_error_list_append(errors, CERT_ERROR("san_count"), msg);
    }
    int n = sk_GENERAL_NAME_num(sans);
    if (n != 1) {
        snprintf(msg, sizeof msg, "certificate from %s for %s has %d subjectAltName entries; exactly one is required",
                 c->cur->text, c->target, n);
        errors = mpic_error_list_append(errors, CERT_ERROR("san_count"), msg);
    } else {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, 0);
        bool ok;
        if (c->kind == MPIC_TARGET_DNS)
            ok = g->type == GEN_DNS && ascii_equal_nocase(ASN1_STRING_get0_data(g->d.dNSName),
                                                          (size_t)ASN1_STRING_length(g->d.dNSName), c->target);
        else
            ok = g->type == GEN_IPADD && (size_t)ASN1_STRING_length(g->d.iPAddress) == c->ip_len &&
                 memcmp(ASN1_STRING_get0_data(g->d.iPAddress), c->ip, c->ip_len) == 0;
        if (!ok) {
            char seen[300];
            describe_san(g, seen, sizeof seen);
            snprintf(msg, sizeof msg, "certificate from %s names %s, not %s %s", c->cur->text, seen,
                     c->kind == MPIC_TARGET_DNS ? "dNSName" : "iPAddress", c->target);
            errors = mpic_error_list_append(errors, CERT_ERROR("san_mismatch"), msg);
        }
    }
    GENERAL_NAMES_free(sans);
    return errors;
}

static json_t *check_acme_identifier(const struct mpic_dcv_alpn *c, X509 *cert, json_t *errors)
{
    char msg[400];
    ASN1_OBJECT *oid = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    if (oid == NULL)
        return mpic_error_list_append(errors, CERT_ERROR("extension_missing"),
                                      "cannot look for the acmeIdentifier extension: out of memory");
    int i = X509_get_ext_by_OBJ(cert, oid, -1);
    int again = i < 0 ? -1 : X509_get_ext_by_OBJ(cert, oid, i);
    ASN1_OBJECT_free(oid);
    if (i < 0) {
        snprintf(msg, sizeof msg,
                 "certificate from %s for %s has no acmeIdentifier extension (" ACME_IDENTIFIER_OID ")",
                 c->cur->text, c->target);
        return mpic_error_list_append(errors, CERT_ERROR("extension_missing"), msg);
    }
    /* RFC 5280 §4.2: an extension appears at most once; which copy would count is anyone's guess. */
    if (again >= 0) {
        snprintf(msg, sizeof msg, "certificate from %s for %s has the acmeIdentifier extension more than once",
                 c->cur->text, c->target);
        return mpic_error_list_append(errors, CERT_ERROR("hash_mismatch"), msg);
    }
    X509_EXTENSION *ext = X509_get_ext(cert, i);
    if (!X509_EXTENSION_get_critical(ext)) {
        snprintf(msg, sizeof msg,
                 "certificate from %s for %s has the acmeIdentifier extension, but not marked critical",
                 c->cur->text, c->target);
        errors = mpic_error_list_append(errors, CERT_ERROR("extension_not_critical"), msg);
    }
    const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ext);
    if (ASN1_STRING_length(v) != EXT_VALUE_LEN ||
        memcmp(ASN1_STRING_get0_data(v), c->expected, EXT_VALUE_LEN) != 0) {
        char hex[2 * 40 + 4];
        const unsigned char *d = ASN1_STRING_get0_data(v);
        int n = ASN1_STRING_length(v);
        size_t o = 0;
        for (int k = 0; k < n && k < 40; k++)
            o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x", d[k]);
        if (n > 40)
            snprintf(hex + o, sizeof hex - o, "...");
        snprintf(msg, sizeof msg,
                 "certificate from %s for %s: acmeIdentifier holds %s (%d bytes), not the DER OCTET STRING "
                 "of key_authorization_hash",
                 c->cur->text, c->target, n > 0 ? hex : "nothing", n);
        errors = mpic_error_list_append(errors, CERT_ERROR("hash_mismatch"), msg);
    }
    return errors;
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
    json_t *errors = NULL;
    char msg[400];
    if (proto_len != ALPN_WIRE_LEN - 1 || memcmp(proto, alpn_wire + 1, proto_len) != 0) {
        snprintf(msg, sizeof msg, "%s (%s) did not negotiate ALPN acme-tls/1 (%s)", c->target, c->cur->text,
                 proto_len == 0 ? "no protocol selected" : "another protocol selected");
        errors = mpic_error_list_append(errors, CERT_ERROR("alpn_not_negotiated"), msg);
    } else if (cert == NULL) {
        snprintf(msg, sizeof msg, "%s (%s) presented no certificate", c->target, c->cur->text);
        errors = mpic_error_list_append(errors, CERT_ERROR("extension_missing"), msg);
    } else {
        errors = check_san(c, cert, errors);
        errors = check_acme_identifier(c, cert, errors);
    }
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
    if (c->next_addr >= c->n_addrs) {
        fail(c, connect_error, "tls-alpn-01 for %s: %s", c->target, c->last_failure);
        return;
    }
    c->cur = &c->addrs[c->next_addr++];
    c->stage = STAGE_CONNECT;
    c->fd = socket(c->cur->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(c->last_failure, sizeof c->last_failure, "socket for %s: %s", c->cur->text, strerror(errno));
        try_next_address(c);
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)&c->cur->ss, c->cur->len) == 0) {
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
    for (size_t i = 0; i < c->n_addrs && !c->allow_private; i++) {
        const char *why = NULL;
        if (mpic_addr_is_reserved(c->addrs[i].text, &why)) {
            fail(c, refused_error, "tls-alpn-01 for %s refused: %s is a %s address, not a public one", c->target,
                 c->addrs[i].text, why != NULL ? why : "reserved");
            return;
        }
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

static void add_address(struct addr *a, int family, const unsigned char *bytes)
{
    memset(a, 0, sizeof *a);
    if (family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(ALPN_PORT);
        memcpy(&s->sin_addr, bytes, 4);
        a->len = sizeof *s;
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&a->ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(ALPN_PORT);
        memcpy(&s->sin6_addr, bytes, 16);
        a->len = sizeof *s;
    }
    inet_ntop(family, bytes, a->text, sizeof a->text);
}

/* Collects the addresses of one answer into c->found[i]; returns -1 with
 * c->lookup_failure set when the lookup failed. */
static int read_answer(struct mpic_dcv_alpn *c, size_t i, struct mpic_dns_result *res)
{
    const char *type = i == 0 ? "A" : "AAAA";
    if (res->status != MPIC_DNS_OK) {
        snprintf(c->lookup_failure, sizeof c->lookup_failure, "%s lookup for %s failed: %s", type, c->target,
                 res->error);
        return -1;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(res->pkt);
    if (rcode == LDNS_RCODE_NXDOMAIN)
        return 0;
    if (rcode != LDNS_RCODE_NOERROR) {
        const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
        snprintf(c->lookup_failure, sizeof c->lookup_failure, "%s lookup for %s failed: %s from %s", type,
                 c->target, t != NULL ? t->name : "unknown rcode", res->server);
        return -1;
    }
    struct mpic_dns_rrset set = { 0 };
    struct mpic_error err = { { 0 } };
    ldns_rr_type qtype = i == 0 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA;
    if (mpic_dns_answer_extract(res->pkt, c->target, qtype, &set, &err) < 0) {
        snprintf(c->lookup_failure, sizeof c->lookup_failure, "%s lookup for %s failed: %.200s (from %s)", type,
                 c->target, err.msg, res->server);
        return -1;
    }
    size_t want = i == 0 ? 4 : 16;
    for (size_t k = 0; k < ldns_rr_list_rr_count(set.rrs) && c->n_found[i] < MAX_ADDRS; k++) {
        const ldns_rdf *rd = ldns_rr_rdf(ldns_rr_list_rr(set.rrs, k), 0);
        if (rd == NULL || ldns_rdf_size(rd) != want)
            continue;
        add_address(&c->found[i][c->n_found[i]++], i == 0 ? AF_INET : AF_INET6, ldns_rdf_data(rd));
    }
    mpic_dns_rrset_free(&set);
    return 0;
}

static void on_answer(struct mpic_dcv_alpn *c, size_t i, struct mpic_dns_result *res)
{
    c->q[i] = NULL;   /* the resolver frees it once we return */
    char first[sizeof c->lookup_failure];
    memcpy(first, c->lookup_failure, sizeof first);
    if (read_answer(c, i, res) < 0) {
        c->failed[i] = true;
        if (first[0] != '\0')   /* report the first failure */
            memcpy(c->lookup_failure, first, sizeof first);
    }
    if (c->q[0] != NULL || c->q[1] != NULL)
        return;
    for (size_t k = 0; k < 2; k++)
        for (size_t j = 0; j < c->n_found[k] && c->n_addrs < MAX_ADDRS; j++)
            c->addrs[c->n_addrs++] = c->found[k][j];
    if (c->n_addrs == 0) {
        if (c->failed[0] || c->failed[1])
            fail(c, lookup_error, "tls-alpn-01: %s", c->lookup_failure);
        else
            fail(c, lookup_error, "tls-alpn-01: %s has no A or AAAA records", c->target);
        return;
    }
    /* One family answering is enough: the address we would use is known. */
    connect_addresses(c);
}

static void on_a(struct mpic_dns_result *res, void *arg)
{
    on_answer(arg, 0, res);
}

static void on_aaaa(struct mpic_dns_result *res, void *arg)
{
    on_answer(arg, 1, res);
}

/* ---- start ---- */

static int parse_hash(const char *hex, unsigned char *out)
{
    if (hex == NULL || strlen(hex) != 2 * HASH_LEN)
        return -1;
    out[0] = 0x04;      /* OCTET STRING */
    out[1] = HASH_LEN;
    for (size_t i = 0; i < HASH_LEN; i++) {
        unsigned v = 0;
        for (size_t k = 0; k < 2; k++) {
            char ch = hex[2 * i + k];
            unsigned d;
            if (ch >= '0' && ch <= '9')
                d = (unsigned)(ch - '0');
            else if (ch >= 'a' && ch <= 'f')
                d = (unsigned)(ch - 'a' + 10);
            else if (ch >= 'A' && ch <= 'F')
                d = (unsigned)(ch - 'A' + 10);
            else
                return -1;
            v = v << 4 | d;
        }
        out[2 + i] = (unsigned char)v;
    }
    return 0;
}

/* RFC 8738 §6: the SNI of an IP identifier is its reverse-DNS name, e.g.
 * 4.3.2.1.in-addr.arpa (no trailing dot: SNI has none). */
static char *reverse_name(const unsigned char *ip, size_t len)
{
    char buf[80];
    size_t o = 0;
    if (len == 4) {
        for (size_t i = 4; i-- > 0;)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%u.", ip[i]);
        snprintf(buf + o, sizeof buf - o, "in-addr.arpa");
    } else {
        static const char nib[] = "0123456789abcdef";
        for (size_t i = 16; i-- > 0;) {
            buf[o++] = nib[ip[i] & 0x0f];
            buf[o++] = '.';
            buf[o++] = nib[ip[i] >> 4];
            buf[o++] = '.';
        }
        snprintf(buf + o, sizeof buf - o, "ip6.arpa");
    }
    return strdup(buf);
}

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
    c->kind = ti->kind;
    if (parse_hash(p->key_authorization_hash, c->expected) < 0) {
        mpic_error_set(err, "tls-alpn-01 for %s: key_authorization_hash must be 64 hex digits (SHA-256)", target);
        goto fail;
    }
    c->target = strdup(target);
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
        c->ip_len = family == AF_INET ? 4 : 16;
        if (inet_pton(family, target, c->ip) != 1) {
            mpic_error_set(err, "tls-alpn-01: \"%s\" is not an IP address", target);
            goto fail;
        }
        c->sni = reverse_name(c->ip, c->ip_len);
        add_address(&c->addrs[0], family, c->ip);
        c->n_addrs = 1;
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
    c->q[0] = mpic_resolver_query(ctx->resolver, target, LDNS_RR_TYPE_A, on_a, c, &qerr);
    if (c->q[0] != NULL)
        c->q[1] = mpic_resolver_query(ctx->resolver, target, LDNS_RR_TYPE_AAAA, on_aaaa, c, &qerr);
    if (c->q[0] == NULL || c->q[1] == NULL) {
        mpic_error_set(err, "tls-alpn-01 for %s: %s", target, qerr.msg);
        goto fail;
    }
    return c;

fail:
    check_free(c);
    return NULL;
}
