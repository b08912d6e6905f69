/* Loader for the mpic configuration file (docs/config.md). The whole file is
 * checked before a daemon starts: every key of every object against the
 * documented set, types, ranges, the perspective catalogue's cross-references,
 * and the certificate, key and secret files of the section the role needs.
 * The first problem ends the load with "FILE: KEY.PATH: message".
 *
 * Secret values never reach a message: errors name the key, the variable or
 * the file, and a malformed secret reference is not echoed either (it may be a
 * secret pasted in by mistake).
 *
 * This file holds the top level and the log_level, caa, orchestrator and
 * agent sections; config_values.c the typed readers, config_files.c the
 * certificate, key and secret files, config_perspectives.c the perspective
 * catalogue and its geography. */
#include "config_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds the docs leave open; chosen so that a typo (an extra zero, seconds
 * written as milliseconds) is refused instead of hanging a request. */
#define PERSPECTIVE_TIMEOUT_MAX_MS 300000
#define AGENT_CONNECTIONS_MAX 4096
#define REQUEST_TIMEOUT_MAX_MS 600000
#define CHECK_TIMEOUT_MAX_MS 300000
#define DNS_TIMEOUT_MAX_MS 60000
#define DNS_TRIES_MAX 10
#define MAX_BODY_MIN 1024
#define MAX_BODY_MAX (16 * 1024 * 1024)
#define MAX_ATTEMPTS_CAP_MAX 20
#define DEFAULT_PERSPECTIVE_COUNT_MAX 6
#define COHORT_SECRET_MIN 16
#define HTTP_TIMEOUT_MIN_MS 100
#define HTTP_TIMEOUT_MAX_MS 600000
#define HTTP_IDLE_MAX_MS 3600000
#define HTTP_COUNT_MAX 1000000
/* The parser's URL offsets are 16 bits. */
#define HTTP_HEADER_BYTES_MAX 65535
/* An x-api-key is the only thing between the network and the CA's issuance
 * path: 32 bytes (e.g. 32 random printable characters) keep guessing out of
 * reach and rule out a word or a short test value left in production. */
#define API_KEY_MIN 32

/* ---- sections ------------------------------------------------------------ */

static int parse_log_level(struct loader *ld, json_t *root, struct mpic_config *cfg)
{
    static const char *const levels[] = { "debug", "info", "warn", "error" };
    const char *s = "info";
    json_t *v = json_object_get(root, "log_level");
    if (v != NULL && mpic_cfg_want_string(ld, v, "log_level", &s) < 0)
        return -1;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(s, levels[i]) == 0)
            return mpic_cfg_dup_str(ld, "log_level", s, &cfg->log_level);
    }
    char show[SHOW_LEN];
    return mpic_cfg_fail(ld, "log_level", "unknown level \"%s\" (expected debug, info, warn or error)", SHOW(s, show));
}

static int parse_caa(struct loader *ld, json_t *root, struct mpic_config *cfg)
{
    static const char *const keys[] = { "issuer_domains", "flag1_is_critical", NULL };
    cfg->caa_flag1_is_critical = true;
    json_t *caa = json_object_get(root, "caa");
    if (caa == NULL)
        return 0;
    if (mpic_cfg_want_object(ld, caa, "caa") < 0 || mpic_cfg_check_keys(ld, caa, "caa", keys) < 0)
        return -1;
    if (mpic_cfg_opt_bool(ld, caa, "caa", "flag1_is_critical", &cfg->caa_flag1_is_critical) < 0)
        return -1;
    json_t *arr = json_object_get(caa, "issuer_domains");
    if (arr == NULL)
        return 0;
    if (mpic_cfg_want_array(ld, arr, "caa.issuer_domains") < 0)
        return -1;
    struct mpic_strv *sv = &cfg->caa_issuer_domains;
    if (mpic_cfg_strv_alloc(ld, "caa.issuer_domains", json_array_size(arr), sv) < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN], show[SHOW_LEN];
        const char *s = NULL;
        mpic_cfg_keypath_index(kp, "caa.issuer_domains", i);
        if (mpic_cfg_want_string(ld, v, kp, &s) < 0 || mpic_cfg_dup_str(ld, kp, s, &sv->v[sv->n]) < 0)
            return -1;
        char *d = sv->v[sv->n++];
        for (char *p = d; *p != '\0'; p++) {
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        }
        size_t len = strlen(d);
        if (len > 0 && d[len - 1] == '.')
            return mpic_cfg_fail(ld, kp, "\"%s\": no trailing dot allowed", SHOW(s, show));
        if (!mpic_cfg_dns_name_ok(d))
            return mpic_cfg_fail(ld, kp, "\"%s\" is not a DNS name (A-labels: letters, digits, hyphens)",
                                 SHOW(s, show));
        for (size_t j = 0; j + 1 < sv->n; j++) {
            if (strcmp(sv->v[j], d) == 0)
                return mpic_cfg_fail(ld, kp, "\"%s\" is listed twice", SHOW(d, show));
        }
    }
    return 0;
}

/* tls objects: {"cert","key"} or, with want_ca, {"ca","cert","key"}; all
 * members required. Paths are resolved here; the files are checked later and
 * only for the role that uses them. */
static int parse_tls_files(struct loader *ld, json_t *obj, const char *kp, bool want_ca,
                           struct mpic_tls_files *out)
{
    static const char *const keys_ca[] = { "ca", "cert", "key", NULL };
    static const char *const keys_pair[] = { "cert", "key", NULL };
    if (mpic_cfg_want_object(ld, obj, kp) < 0 || mpic_cfg_check_keys(ld, obj, kp, want_ca ? keys_ca : keys_pair) < 0)
        return -1;
    const char *const *keys = want_ca ? keys_ca : keys_pair;
    for (size_t i = 0; keys[i] != NULL; i++) {
        char k[KEYPATH_LEN];
        const char *s = NULL;
        char **dst = strcmp(keys[i], "ca") == 0 ? &out->ca : strcmp(keys[i], "cert") == 0 ? &out->cert : &out->key;
        json_t *v = json_object_get(obj, keys[i]);
        mpic_cfg_keypath_key(k, kp, keys[i]);
        if (v == NULL)
            return mpic_cfg_fail(ld, k, "required key is missing");
        if (mpic_cfg_want_string(ld, v, k, &s) < 0 || mpic_cfg_resolve_path(ld, k, s, dst) < 0)
            return -1;
    }
    return 0;
}

static int opt_body_bytes(struct loader *ld, json_t *obj, const char *parent, size_t *out)
{
    unsigned n = (unsigned)*out;
    if (mpic_cfg_opt_unsigned(ld, obj, parent, "max_body_bytes", MAX_BODY_MIN, MAX_BODY_MAX, &n) < 0)
        return -1;
    *out = n;
    return 0;
}

/* "http": {"head_timeout_ms", ...}; every key optional. */
static int opt_http_limits(struct loader *ld, json_t *obj, const char *parent, struct mpic_http_limits *h)
{
    static const char *const keys[] = { "head_timeout_ms", "body_timeout_ms", "idle_timeout_ms", "max_connections",
                                        "max_inflight", "max_header_bytes", "max_headers", NULL };
    *h = (struct mpic_http_limits){ .head_timeout_ms = 10000, .body_timeout_ms = 10000, .idle_timeout_ms = 60000,
                                    .max_connections = 1024, .max_inflight = 512, .max_header_bytes = 16384,
                                    .max_headers = 64 };
    char kp[KEYPATH_LEN];
    json_t *v = json_object_get(obj, "http");
    if (v == NULL)
        return 0;
    mpic_cfg_keypath_key(kp, parent, "http");
    if (mpic_cfg_want_object(ld, v, kp) < 0 || mpic_cfg_check_keys(ld, v, kp, keys) < 0 ||
        mpic_cfg_opt_unsigned(ld, v, kp, "head_timeout_ms", HTTP_TIMEOUT_MIN_MS, HTTP_TIMEOUT_MAX_MS,
                              &h->head_timeout_ms) < 0 ||
        mpic_cfg_opt_unsigned(ld, v, kp, "body_timeout_ms", HTTP_TIMEOUT_MIN_MS, HTTP_TIMEOUT_MAX_MS,
                              &h->body_timeout_ms) < 0 ||
        mpic_cfg_opt_unsigned(ld, v, kp, "idle_timeout_ms", HTTP_TIMEOUT_MIN_MS, HTTP_IDLE_MAX_MS,
                              &h->idle_timeout_ms) < 0 ||
        mpic_cfg_opt_unsigned(ld, v, kp, "max_connections", 1, HTTP_COUNT_MAX, &h->max_connections) < 0 ||
        mpic_cfg_opt_unsigned(ld, v, kp, "max_inflight", 1, HTTP_COUNT_MAX, &h->max_inflight) < 0 ||
        mpic_cfg_opt_unsigned(ld, v, kp, "max_header_bytes", 1024, HTTP_HEADER_BYTES_MAX, &h->max_header_bytes) < 0 ||
        mpic_cfg_opt_unsigned(ld, v, kp, "max_headers", 8, 1000, &h->max_headers) < 0)
        return -1;
    return 0;
}

static int parse_api_keys(struct loader *ld, json_t *obj, bool resolve, struct mpic_strv *sv)
{
    json_t *arr = json_object_get(obj, "api_keys");
    if (arr == NULL)
        return mpic_cfg_fail(ld, "orchestrator.api_keys", "required key is missing");
    if (mpic_cfg_want_array(ld, arr, "orchestrator.api_keys") < 0)
        return -1;
    if (json_array_size(arr) == 0)
        return mpic_cfg_fail(ld, "orchestrator.api_keys", "at least one API key is required");
    if (mpic_cfg_strv_alloc(ld, "orchestrator.api_keys", json_array_size(arr), sv) < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN];
        const char *spec = NULL;
        unsigned char *val;
        size_t len;
        mpic_cfg_keypath_index(kp, "orchestrator.api_keys", i);
        if (mpic_cfg_want_string(ld, v, kp, &spec) < 0 || mpic_cfg_load_secret(ld, kp, spec, resolve, &val, &len) < 0)
            return -1;
        if (val == NULL)
            continue;
        sv->v[sv->n++] = (char *)val;
        /* An x-api-key header value can hold neither NUL nor control bytes;
         * such a key could never match, so it is a configuration mistake. */
        for (size_t b = 0; b < len; b++) {
            if (val[b] < 0x20 || val[b] == 0x7f)
                return mpic_cfg_fail(ld, kp, "secret holds control characters (not usable as an x-api-key header)");
        }
        if (len < API_KEY_MIN)
            return mpic_cfg_fail(ld, kp, "API key is %zu bytes, at least %d are required", len, API_KEY_MIN);
    }
    return 0;
}

/* orchestrator.audit_log: {"path": FILE, "fsync": "per-request" | "none"}. */
static int parse_audit_log(struct loader *ld, json_t *obj, struct mpic_orchestrator_config *o)
{
    static const char *const keys[] = { "path", "fsync", NULL };
    const char *P = "orchestrator.audit_log";
    json_t *a = json_object_get(obj, "audit_log");
    const char *path = NULL, *mode = "per-request";
    o->audit_fsync = true;
    if (a == NULL)
        return 0;
    if (mpic_cfg_want_object(ld, a, P) < 0 || mpic_cfg_check_keys(ld, a, P, keys) < 0)
        return -1;
    json_t *v = json_object_get(a, "path");
    if (v == NULL)
        return mpic_cfg_fail(ld, "orchestrator.audit_log.path", "required key is missing");
    if (mpic_cfg_want_string(ld, v, "orchestrator.audit_log.path", &path) < 0 ||
        mpic_cfg_resolve_path(ld, "orchestrator.audit_log.path", path, &o->audit_log_path) < 0)
        return -1;
    if ((v = json_object_get(a, "fsync")) != NULL &&
        mpic_cfg_want_string(ld, v, "orchestrator.audit_log.fsync", &mode) < 0)
        return -1;
    if (strcmp(mode, "per-request") != 0 && strcmp(mode, "none") != 0)
        return mpic_cfg_fail(ld, "orchestrator.audit_log.fsync", "expected \"per-request\" or \"none\"");
    o->audit_fsync = strcmp(mode, "per-request") == 0;
    return 0;
}

/* "policy" of the orchestrator and of the agent; cabf-br when absent. */
static int opt_policy(struct loader *ld, json_t *obj, const char *parent, enum mpic_policy_profile *out)
{
    char kp[KEYPATH_LEN], show[SHOW_LEN];
    const char *s = NULL;
    json_t *v = json_object_get(obj, "policy");
    *out = MPIC_PROFILE_CABF_BR;
    if (v == NULL)
        return 0;
    mpic_cfg_keypath_key(kp, parent, "policy");
    if (mpic_cfg_want_string(ld, v, kp, &s) < 0)
        return -1;
    if (mpic_policy_profile_parse(s, out) != 0)
        return mpic_cfg_fail(ld, kp, "unknown policy \"%s\" (expected cabf-br or open-mpic-reference)", SHOW(s, show));
    return 0;
}

static int parse_orchestrator(struct loader *ld, json_t *obj, struct mpic_config *cfg)
{
    static const char *const keys[] = { "listen", "tls", "api_keys", "cohort_secret", "agent_tls",
                                        "default_perspective_count", "max_attempts_cap",
                                        "perspective_timeout_ms", "request_timeout_ms", "max_body_bytes",
                                        "agent_connections", "policy", "audit_log", "primary", "require_primary", "http", NULL };
    const char *P = "orchestrator";
    struct mpic_orchestrator_config *o = &cfg->orchestrator;
    bool active = ld->role == MPIC_ROLE_ORCHESTRATOR;
    json_t *v;
    if (mpic_cfg_want_object(ld, obj, P) < 0 || mpic_cfg_check_keys(ld, obj, P, keys) < 0)
        return -1;
    cfg->has_orchestrator = true;

    if (mpic_cfg_parse_listen(ld, obj, P, "127.0.0.1:8080", &o->listen_host, &o->listen_port) < 0)
        return -1;

    if ((v = json_object_get(obj, "tls")) != NULL) {
        struct mpic_tls_files pair = { 0 };
        int rc = parse_tls_files(ld, v, "orchestrator.tls", false, &pair);
        o->tls_cert = pair.cert;
        o->tls_key = pair.key;
        if (rc < 0)
            return -1;
        o->https = true;
    }

    if (parse_api_keys(ld, obj, active, &o->api_keys) < 0)
        return -1;

    const char *spec = NULL;
    if ((v = json_object_get(obj, "cohort_secret")) == NULL)
        return mpic_cfg_fail(ld, "orchestrator.cohort_secret", "required key is missing");
    if (mpic_cfg_want_string(ld, v, "orchestrator.cohort_secret", &spec) < 0)
        return -1;
    if (mpic_cfg_load_secret(ld, "orchestrator.cohort_secret", spec, active, &o->cohort_secret,
                             &o->cohort_secret_len) < 0)
        return -1;
    if (active && o->cohort_secret_len < COHORT_SECRET_MIN)
        return mpic_cfg_fail(ld, "orchestrator.cohort_secret", "secret is %zu bytes, at least %d are required",
                             o->cohort_secret_len, COHORT_SECRET_MIN);

    if ((v = json_object_get(obj, "agent_tls")) == NULL)
        return mpic_cfg_fail(ld, "orchestrator.agent_tls", "required key is missing");
    if (parse_tls_files(ld, v, "orchestrator.agent_tls", true, &o->agent_tls) < 0)
        return -1;

    /* Default: every perspective, but no more than six (BR 3.2.2.9 gains
     * nothing beyond that and each one costs a round trip). */
    size_t n = cfg->n_perspectives;
    o->default_perspective_count = (unsigned)(n < DEFAULT_PERSPECTIVE_COUNT_MAX ? n : DEFAULT_PERSPECTIVE_COUNT_MAX);
    if ((v = json_object_get(obj, "default_perspective_count")) != NULL) {
        long long c = 0;
        /* Only the active role has its catalogue checked against the count. */
        long long max = active ? (long long)n : INT_MAX;
        if (mpic_cfg_want_int(ld, v, "orchestrator.default_perspective_count", 2, max, &c) < 0)
            return -1;
        o->default_perspective_count = (unsigned)c;
    }

    if (parse_audit_log(ld, obj, o) < 0)
        return -1;
    if (opt_policy(ld, obj, P, &o->policy) < 0)
        return -1;
    if (mpic_cfg_parse_primary(ld, obj, cfg) < 0)
        return -1;
    o->max_attempts_cap = 3;
    o->perspective_timeout_ms = 10000;
    o->request_timeout_ms = 25000;
    o->max_body_bytes = 65536;
    o->agent_connections = 64;
    if (mpic_cfg_opt_unsigned(ld, obj, P, "max_attempts_cap", 1, MAX_ATTEMPTS_CAP_MAX, &o->max_attempts_cap) < 0 ||
        mpic_cfg_opt_unsigned(ld, obj, P, "perspective_timeout_ms", 1, PERSPECTIVE_TIMEOUT_MAX_MS,
                              &o->perspective_timeout_ms) < 0 ||
        mpic_cfg_opt_unsigned(ld, obj, P, "request_timeout_ms", 1, REQUEST_TIMEOUT_MAX_MS,
                              &o->request_timeout_ms) < 0 ||
        mpic_cfg_opt_unsigned(ld, obj, P, "agent_connections", 1, AGENT_CONNECTIONS_MAX, &o->agent_connections) < 0 ||
        opt_body_bytes(ld, obj, P, &o->max_body_bytes) < 0 || opt_http_limits(ld, obj, P, &o->http) < 0)
        return -1;
    if (o->perspective_timeout_ms > o->request_timeout_ms)
        return mpic_cfg_fail(ld, "orchestrator.perspective_timeout_ms",
                             "%u is longer than orchestrator.request_timeout_ms (%u)", o->perspective_timeout_ms,
                             o->request_timeout_ms);

    if (!active)
        return 0;
    if (o->https && mpic_cfg_check_cert_and_key(ld, "orchestrator.tls", o->tls_cert, o->tls_key, NULL, NULL) < 0)
        return -1;
    if (mpic_cfg_check_ca_file(ld, "orchestrator.agent_tls.ca", o->agent_tls.ca) < 0)
        return -1;
    return mpic_cfg_check_cert_and_key(ld, "orchestrator.agent_tls", o->agent_tls.cert, o->agent_tls.key, NULL, NULL);
}

/* The sockaddr of a resolver whose text mpic_cfg_split_hostport accepted. */
static int server_address(const char *host, uint16_t port, struct mpic_dns_server *out)
{
    memset(out, 0, sizeof *out);
    if (strchr(host, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->addr;
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return -1;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        out->addr_len = sizeof *a;
        snprintf(out->text, sizeof out->text, "[%s]:%u", host, port);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&out->addr;
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return -1;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        out->addr_len = sizeof *a;
        snprintf(out->text, sizeof out->text, "%s:%u", host, port);
    }
    return 0;
}

static int parse_dns(struct loader *ld, json_t *obj, struct mpic_dns_config *dns)
{
    static const char *const keys[] = { "resolvers", "timeout_ms", "tries", "dnssec", NULL };
    const char *P = "agent.dns";
    if (mpic_cfg_want_object(ld, obj, P) < 0 || mpic_cfg_check_keys(ld, obj, P, keys) < 0)
        return -1;
    json_t *arr = json_object_get(obj, "resolvers");
    if (arr == NULL)
        return mpic_cfg_fail(ld, "agent.dns.resolvers", "required key is missing");
    if (mpic_cfg_want_array(ld, arr, "agent.dns.resolvers") < 0)
        return -1;
    /* The agent must never fall back to a shared system resolver. */
    if (json_array_size(arr) == 0)
        return mpic_cfg_fail(ld, "agent.dns.resolvers", "at least one resolver is required");
    if (mpic_cfg_strv_alloc(ld, "agent.dns.resolvers", json_array_size(arr), &dns->resolvers) < 0)
        return -1;
    dns->servers = calloc(json_array_size(arr), sizeof *dns->servers);
    if (dns->servers == NULL)
        return mpic_cfg_fail(ld, "agent.dns.resolvers", "out of memory");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN], show[SHOW_LEN], host[INET6_ADDRSTRLEN + 1];
        const char *s = NULL;
        uint16_t port;
        mpic_cfg_keypath_index(kp, "agent.dns.resolvers", i);
        if (mpic_cfg_want_string(ld, v, kp, &s) < 0)
            return -1;
        if (mpic_cfg_split_hostport(s, MPIC_CFG_HOSTPORT_RESOLVER, host, sizeof host, &port) < 0)
            return mpic_cfg_fail(ld, kp, "\"%s\" is not IP, IP:PORT or [IPv6]:PORT", SHOW(s, show));
        if (server_address(host, port, &dns->servers[dns->resolvers.n]) < 0)
            return mpic_cfg_fail(ld, kp, "\"%s\" is not IP, IP:PORT or [IPv6]:PORT", SHOW(s, show));
        if (mpic_cfg_dup_str(ld, kp, s, &dns->resolvers.v[dns->resolvers.n]) < 0)
            return -1;
        dns->resolvers.n++;
    }
    dns->timeout_ms = 2000;
    dns->tries = 2;
    if (mpic_cfg_opt_unsigned(ld, obj, P, "timeout_ms", 1, DNS_TIMEOUT_MAX_MS, &dns->timeout_ms) < 0 ||
        mpic_cfg_opt_unsigned(ld, obj, P, "tries", 1, DNS_TRIES_MAX, &dns->tries) < 0)
        return -1;
    dns->dnssec = MPIC_DNSSEC_VALIDATE;
    if ((v = json_object_get(obj, "dnssec")) != NULL) {
        const char *s = NULL;
        char show[SHOW_LEN];
        if (mpic_cfg_want_string(ld, v, "agent.dns.dnssec", &s) < 0)
            return -1;
        if (strcmp(s, "require") == 0)
            dns->dnssec = MPIC_DNSSEC_REQUIRE;
        else if (strcmp(s, "validate") != 0)
            return mpic_cfg_fail(ld, "agent.dns.dnssec", "unknown mode \"%s\" (expected validate or require)",
                                 SHOW(s, show));
    }
    return 0;
}

static bool spki_hex_ok(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int parse_orchestrator_identity(struct loader *ld, json_t *obj, struct mpic_agent_config *a)
{
    static const char *const keys[] = { "cn", "spki_sha256", NULL };
    const char *P = "agent.orchestrator_identity";
    const char *cn = "mpic-orchestrator";
    char show[SHOW_LEN];
    json_t *v;
    if (obj != NULL && (mpic_cfg_want_object(ld, obj, P) < 0 || mpic_cfg_check_keys(ld, obj, P, keys) < 0))
        return -1;
    if (obj != NULL && (v = json_object_get(obj, "cn")) != NULL) {
        if (mpic_cfg_want_string(ld, v, "agent.orchestrator_identity.cn", &cn) < 0)
            return -1;
        if (*cn == '\0')
            return mpic_cfg_fail(ld, "agent.orchestrator_identity.cn", "must not be empty");
    }
    /* An agent that took its own name for the orchestrator's would serve its peers. */
    if (strcmp(cn, a->perspective) == 0)
        return mpic_cfg_fail(ld, "agent.orchestrator_identity.cn", "\"%s\" is this agent's own perspective code",
                             SHOW(cn, show));
    if (mpic_cfg_dup_str(ld, "agent.orchestrator_identity.cn", cn, &a->orchestrator_cn) < 0)
        return -1;
    json_t *arr = obj != NULL ? json_object_get(obj, "spki_sha256") : NULL;
    if (arr == NULL)
        return 0;
    if (mpic_cfg_want_array(ld, arr, "agent.orchestrator_identity.spki_sha256") < 0 ||
        mpic_cfg_strv_alloc(ld, "agent.orchestrator_identity.spki_sha256", json_array_size(arr),
                            &a->orchestrator_spki) < 0)
        return -1;
    size_t i;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN];
        const char *s = NULL;
        mpic_cfg_keypath_index(kp, "agent.orchestrator_identity.spki_sha256", i);
        if (mpic_cfg_want_string(ld, v, kp, &s) < 0)
            return -1;
        if (!spki_hex_ok(s))
            return mpic_cfg_fail(ld, kp, "\"%s\" is not 64 lower-case hex digits (SHA-256 of the DER"
                                 " SubjectPublicKeyInfo)", SHOW(s, show));
        if (mpic_cfg_dup_str(ld, kp, s, &a->orchestrator_spki.v[a->orchestrator_spki.n]) < 0)
            return -1;
        a->orchestrator_spki.n++;
    }
    return 0;
}

static int parse_agent(struct loader *ld, json_t *obj, struct mpic_config *cfg)
{
    static const char *const keys[] = { "perspective", "listen", "tls", "orchestrator_identity", "dns",
                                        "check_timeout_ms", "max_body_bytes", "allow_private_targets", "policy",
                                        "lab_behaviours", "http", NULL };
    const char *P = "agent";
    struct mpic_agent_config *a = &cfg->agent;
    bool active = ld->role == MPIC_ROLE_AGENT;
    char show[SHOW_LEN];
    const char *s = NULL;
    json_t *v;
    if (mpic_cfg_want_object(ld, obj, P) < 0 || mpic_cfg_check_keys(ld, obj, P, keys) < 0)
        return -1;
    cfg->has_agent = true;

    if ((v = json_object_get(obj, "perspective")) == NULL)
        return mpic_cfg_fail(ld, "agent.perspective", "required key is missing");
    if (mpic_cfg_want_string(ld, v, "agent.perspective", &s) < 0)
        return -1;
    if (!mpic_cfg_code_ok(s))
        return mpic_cfg_fail(ld, "agent.perspective", "\"%s\" is not a perspective code (1..%d of a-z, 0-9, -)",
                             SHOW(s, show), CODE_MAX);
    /* In a file that also carries the catalogue, the agent must be one of it. */
    if (cfg->n_perspectives > 0 && mpic_config_find_perspective(cfg, s) < 0)
        return mpic_cfg_fail(ld, "agent.perspective", "\"%s\" is not a code in perspectives", s);
    if (mpic_cfg_dup_str(ld, "agent.perspective", s, &a->perspective) < 0)
        return -1;

    if (mpic_cfg_parse_listen(ld, obj, P, "127.0.0.1:9443", &a->listen_host, &a->listen_port) < 0)
        return -1;

    if ((v = json_object_get(obj, "tls")) == NULL)
        return mpic_cfg_fail(ld, "agent.tls", "required key is missing");
    if (parse_tls_files(ld, v, "agent.tls", true, &a->tls) < 0 ||
        parse_orchestrator_identity(ld, json_object_get(obj, "orchestrator_identity"), a) < 0)
        return -1;

    if ((v = json_object_get(obj, "dns")) == NULL)
        return mpic_cfg_fail(ld, "agent.dns", "required key is missing");
    if (parse_dns(ld, v, &a->dns) < 0)
        return -1;

    a->check_timeout_ms = 8000;
    a->max_body_bytes = 65536;
    a->allow_private_targets = false;
    if (mpic_cfg_opt_unsigned(ld, obj, P, "check_timeout_ms", 1, CHECK_TIMEOUT_MAX_MS, &a->check_timeout_ms) < 0 ||
        opt_body_bytes(ld, obj, P, &a->max_body_bytes) < 0 || opt_http_limits(ld, obj, P, &a->http) < 0 ||
        mpic_cfg_opt_bool(ld, obj, P, "allow_private_targets", &a->allow_private_targets) < 0)
        return -1;
    if (opt_policy(ld, obj, P, &a->policy) < 0)
        return -1;
    if ((v = json_object_get(obj, "lab_behaviours")) != NULL && mpic_cfg_parse_lab_behaviours(ld, v, a) < 0)
        return -1;

    if (!active)
        return 0;
    if (mpic_cfg_check_ca_file(ld, "agent.tls.ca", a->tls.ca) < 0)
        return -1;
    /* The orchestrator identifies an agent by the CN of its certificate; a
     * mismatch would make every reply from this agent count as a failure. */
    return mpic_cfg_check_cert_and_key(ld, "agent.tls", a->tls.cert, a->tls.key, a->perspective, "agent.perspective");
}

static int load_root(struct loader *ld, json_t *root, struct mpic_config *cfg)
{
    static const char *const keys[] = { "log_level", "caa", "perspectives", "orchestrator", "agent", NULL };
    if (!json_is_object(root))
        return mpic_cfg_fail(ld, NULL, "the top level must be a JSON object");
    if (mpic_cfg_check_keys(ld, root, "", keys) < 0)
        return -1;

    json_t *orch = json_object_get(root, "orchestrator");
    json_t *agent = json_object_get(root, "agent");
    if (ld->role == MPIC_ROLE_ORCHESTRATOR && orch == NULL)
        return mpic_cfg_fail(ld, "orchestrator", "section is required by mpic-orchestrator");
    if (ld->role == MPIC_ROLE_AGENT && agent == NULL)
        return mpic_cfg_fail(ld, "agent", "section is required by mpic-agent");

    if (parse_log_level(ld, root, cfg) < 0 || parse_caa(ld, root, cfg) < 0 ||
        mpic_cfg_parse_perspectives(ld, root, cfg) < 0)
        return -1;
    if (ld->role == MPIC_ROLE_ORCHESTRATOR && cfg->n_perspectives < 2)
        return mpic_cfg_fail(ld, "perspectives",
                             cfg->n_perspectives == 0 ? "mpic-orchestrator needs a perspective catalogue (at least 2)"
                                             : "mpic-orchestrator needs at least 2 perspectives");
    if (ld->role == MPIC_ROLE_AGENT && cfg->caa_issuer_domains.n == 0)
        return mpic_cfg_fail(ld, "caa.issuer_domains", "mpic-agent needs at least one issuer domain");

    if (orch != NULL && parse_orchestrator(ld, orch, cfg) < 0)
        return -1;
    if (agent != NULL && parse_agent(ld, agent, cfg) < 0)
        return -1;
    return mpic_cfg_check_geography(ld, cfg);
}

int mpic_config_load(const char *path, enum mpic_config_role role, struct mpic_config *out,
                     struct mpic_error *err)
{
    memset(out, 0, sizeof *out);
    if (path == NULL || path[0] == '\0')
        return mpic_error_set(err, "config: no file given");
    struct loader ld = { .file = path, .dir = NULL, .role = role, .err = err };
    if (role != MPIC_ROLE_ORCHESTRATOR && role != MPIC_ROLE_AGENT)
        return mpic_cfg_fail(&ld, NULL, "unknown role");

    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (jerr.line > 0)
            return mpic_cfg_fail(&ld, NULL, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return mpic_cfg_fail(&ld, NULL, "%s", jerr.text);
    }
    int rc = -1;
    ld.dir = mpic_cfg_config_dir(path);
    if (ld.dir == NULL) {
        mpic_cfg_fail(&ld, NULL, "cannot determine the directory of the file: %s", strerror(errno));
        goto out;
    }
    out->path = strdup(path);
    if (out->path == NULL) {
        mpic_cfg_fail_oom(&ld, NULL);
        goto out;
    }
    rc = load_root(&ld, root, out);
out:
    free(ld.dir);
    json_decref(root);
    if (rc < 0)
        mpic_config_free(out);
    return rc;
}

static void tls_files_free(struct mpic_tls_files *t)
{
    free(t->ca);
    free(t->cert);
    free(t->key);
}

void mpic_config_free(struct mpic_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->log_level);
    free(cfg->orchestrator.audit_log_path);
    mpic_strv_free(&cfg->caa_issuer_domains);
    for (size_t i = 0; i < cfg->n_perspectives; i++) {
        struct mpic_perspective *p = &cfg->perspectives[i];
        free(p->code);
        free(p->name);
        mpic_strv_free(&p->too_close);
        free(p->url);
    }
    free(cfg->perspectives);
    mpic_cfg_geo_config_free(cfg);

    struct mpic_orchestrator_config *o = &cfg->orchestrator;
    free(o->listen_host);
    free(o->tls_cert);
    free(o->tls_key);
    mpic_strv_wipe(&o->api_keys);
    if (o->cohort_secret != NULL)
        OPENSSL_cleanse(o->cohort_secret, o->cohort_secret_len);
    free(o->cohort_secret);
    tls_files_free(&o->agent_tls);

    struct mpic_agent_config *a = &cfg->agent;
    free(a->perspective);
    free(a->listen_host);
    tls_files_free(&a->tls);
    free(a->orchestrator_cn);
    mpic_strv_free(&a->orchestrator_spki);
    mpic_strv_free(&a->dns.resolvers);
    free(a->dns.servers);
    mpic_lab_behaviours_free(&a->lab_behaviours);

    memset(cfg, 0, sizeof *cfg);
}
