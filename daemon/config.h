/* Configuration shared by mpic-orchestrator and mpic-agent: one JSON file
 * format (docs/config.md), validated completely at load. Every problem is
 * reported as "FILE: KEY.PATH: what is wrong" and refuses the start. */
#ifndef MPIC_CONFIG_H
#define MPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"
#include "lab_behaviour.h"
#include "perspective.h"
#include "policy.h"
#include "strv.h"

struct mpic_tls_files {
    char *ca;               /* CA that signs the peer's certificate */
    char *cert;
    char *key;
};

/* The HTTP server of either daemon ("http" in its section; docs/config.md):
 * what a client may take of it. */
struct mpic_http_limits {
    unsigned head_timeout_ms;    /* request line and headers, in total, from the first byte (or the accept) */
    unsigned body_timeout_ms;    /* the body, in total, from the end of the head; also sending the answer */
    unsigned idle_timeout_ms;    /* keep-alive: between requests */
    unsigned max_connections;    /* the listener pauses at this many */
    unsigned max_inflight;       /* requests read and not yet answered; 503 past it */
    unsigned max_header_bytes;   /* request line and header fields; 431 past it */
    unsigned max_headers;        /* header fields; 431 past it */
};

struct mpic_orchestrator_config {
    char *listen_host;      /* "127.0.0.1", "::1", "0.0.0.0" */
    uint16_t listen_port;
    bool https;             /* tls.cert/tls.key given: serve clients over HTTPS */
    char *tls_cert, *tls_key;
    struct mpic_strv api_keys;          /* resolved secrets, at least one */
    unsigned char *cohort_secret;       /* resolved secret, >= 16 bytes */
    size_t cohort_secret_len;
    struct mpic_tls_files agent_tls;    /* mutual TLS towards the agents */
    unsigned default_perspective_count; /* <= number of perspectives, >= 2 */
    unsigned max_attempts_cap;          /* >= 1 */
    unsigned perspective_timeout_ms;    /* one agent call */
    unsigned request_timeout_ms;        /* whole request, all attempts */
    size_t max_body_bytes;
    unsigned agent_connections;         /* calls running at once to one agent, one connection each */
    struct mpic_http_limits http;
    enum mpic_policy_profile policy;    /* "cabf-br" (default) or "open-mpic-reference" */
    struct mpic_perspective *primary;   /* primary network perspective, never in a cohort; NULL when absent */
    bool require_primary;               /* valid only if the primary passed too */
    char *audit_log_path;               /* NULL: no audit log */
    bool audit_fsync;                   /* fsync after each request's records */
};

/* "validate" (default): the validating resolver's SERVFAIL for bogus data fails
 * closed. "require": in addition, every answer a CAA decision depends on must
 * be Secure (AD=1) or proven Insecure. */
enum mpic_dnssec_mode { MPIC_DNSSEC_VALIDATE, MPIC_DNSSEC_REQUIRE };

/* A resolver address as the loader read it, so the resolver never parses text again. */
struct mpic_dns_server {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char text[64];               /* "IP:PORT" or "[IPv6]:PORT", for log lines */
};

struct mpic_dns_config {
    struct mpic_strv resolvers;  /* "IP" or "IP:PORT" or "[IPv6]:PORT"; default port 53 */
    struct mpic_dns_server *servers;   /* resolvers.n of them, in the same order */
    unsigned timeout_ms;         /* per query attempt */
    unsigned tries;              /* attempts per query, >= 1 */
    enum mpic_dnssec_mode dnssec;
};

struct mpic_agent_config {
    char *perspective;      /* own code; must match the CN of tls.cert */
    char *listen_host;
    uint16_t listen_port;
    struct mpic_tls_files tls;   /* ca = the CA that signs orchestrator client certs */
    /* The one client the agent serves: the CA also signs the agents, so "from
     * our CA" is not enough. Subject CN (default "mpic-orchestrator"), and when
     * spki is non-empty, the SHA-256 of the certificate's SubjectPublicKeyInfo
     * must be one of these (lower-case hex). */
    char *orchestrator_cn;
    struct mpic_strv orchestrator_spki;
    struct mpic_dns_config dns;
    unsigned check_timeout_ms;
    size_t max_body_bytes;
    struct mpic_http_limits http;
    bool allow_private_targets;
    enum mpic_policy_profile policy;    /* "cabf-br" (default) refuses lab_behaviours */
    struct mpic_lab_behaviours lab_behaviours;   /* empty unless a lab build under open-mpic-reference */
};

enum mpic_config_role { MPIC_ROLE_ORCHESTRATOR, MPIC_ROLE_AGENT };

struct mpic_config {
    char *path;
    char *log_level;                     /* "debug" | "info" | "warn" | "error" */
    struct mpic_strv caa_issuer_domains; /* default issuer domains, lower case */
    bool caa_flag1_is_critical;          /* default true */
    struct mpic_perspective *perspectives;
    size_t n_perspectives;
    bool has_orchestrator;
    struct mpic_orchestrator_config orchestrator;
    bool has_agent;
    struct mpic_agent_config agent;
    /* Pairs found closer than MPIC_DISTINCT_KM (perspectives or their
     * resolvers) and merged into both too_close lists, one line each, e.g.
     * "us-east-1 ~ us-east-2: 483 km", for -t to print. */
    struct mpic_strv computed_too_close;
};

/* Loads and validates path for the given role (the role's section must be
 * present; the other may be). Relative file paths are resolved against the
 * config file's directory. Secrets are "env:NAME" or "file:PATH". */
int mpic_config_load(const char *path, enum mpic_config_role role, struct mpic_config *out,
                     struct mpic_error *err);
void mpic_config_free(struct mpic_config *cfg);

/* Index of the perspective with this code, or -1. */
int mpic_config_find_perspective(const struct mpic_config *cfg, const char *code);

#endif
