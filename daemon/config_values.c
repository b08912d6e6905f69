/* Typed readers for the configuration loader (config.c): the "FILE: KEY.PATH:
 * message" error helpers, key paths, JSON type and range checks, and the
 * syntax of codes, host names, listen addresses, resolver addresses and base
 * URLs. Nothing here knows a section of the file; the section parsers in
 * config.c, config_files.c and config_perspectives.c build on these. */
#include "config_internal.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- messages ---------------------------------------------------------- */

int mpic_cfg_fail(struct loader *ld, const char *keypath, const char *fmt, ...)
{
    char msg[MPIC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (keypath == NULL || keypath[0] == '\0')
        return mpic_error_set(ld->err, "%s: %s", ld->file, msg);
    return mpic_error_set(ld->err, "%s: %s: %s", ld->file, keypath, msg);
}

int mpic_cfg_fail_oom(struct loader *ld, const char *keypath)
{
    return mpic_cfg_fail(ld, keypath, "out of memory");
}

/* Copies untrusted text into buf for a message: printable ASCII only, cut
 * short with "..." so one bad value cannot swamp the line. */
const char *mpic_cfg_printable(const char *s, char *buf, size_t len, size_t max_chars)
{
    size_t o = 0, i = 0;
    for (; s[i] != '\0' && i < max_chars && o + 4 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s[i] != '\0' && o + 4 <= len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* out = a + sep + b, cut short to KEYPATH_LEN: a deeply nested path still
 * gives a one-line message. */
static void keypath_join(char *out, const char *a, const char *sep, const char *b)
{
    size_t o = 0;
    const char *parts[3] = { a, sep, b };
    for (size_t p = 0; p < 3; p++) {
        for (const char *c = parts[p]; *c != '\0' && o + 1 < KEYPATH_LEN; c++)
            out[o++] = *c;
    }
    out[o] = '\0';
}

void mpic_cfg_keypath_key(char *out, const char *parent, const char *key)
{
    char k[SHOW_LEN];
    mpic_cfg_printable(key, k, sizeof k, 48);
    keypath_join(out, parent, parent[0] == '\0' ? "" : ".", k);
}

void mpic_cfg_keypath_index(char *out, const char *parent, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof idx, "[%zu]", i);
    keypath_join(out, parent, "", idx);
}

/* ---- typed access ------------------------------------------------------- */

int mpic_cfg_check_keys(struct loader *ld, json_t *obj, const char *keypath, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL; i++) {
            if (strcmp(key, allowed[i]) == 0) {
                known = true;
                break;
            }
        }
        if (!known) {
            char kp[KEYPATH_LEN];
            mpic_cfg_keypath_key(kp, keypath, key);
            return mpic_cfg_fail(ld, kp, "unknown key");
        }
    }
    return 0;
}

int mpic_cfg_want_object(struct loader *ld, json_t *v, const char *keypath)
{
    if (!json_is_object(v))
        return mpic_cfg_fail(ld, keypath, "expected an object");
    return 0;
}

int mpic_cfg_want_array(struct loader *ld, json_t *v, const char *keypath)
{
    if (!json_is_array(v))
        return mpic_cfg_fail(ld, keypath, "expected an array");
    return 0;
}

int mpic_cfg_want_string(struct loader *ld, json_t *v, const char *keypath, const char **out)
{
    if (!json_is_string(v))
        return mpic_cfg_fail(ld, keypath, "expected a string");
    *out = json_string_value(v);
    return 0;
}

static int want_bool(struct loader *ld, json_t *v, const char *keypath, bool *out)
{
    if (!json_is_boolean(v))
        return mpic_cfg_fail(ld, keypath, "expected true or false");
    *out = json_is_true(v);
    return 0;
}

int mpic_cfg_want_int(struct loader *ld, json_t *v, const char *keypath, long long min, long long max,
                      long long *out)
{
    if (!json_is_integer(v))
        return mpic_cfg_fail(ld, keypath, "expected an integer");
    long long n = (long long)json_integer_value(v);
    if (n < min || n > max)
        return mpic_cfg_fail(ld, keypath, "%lld is out of range (%lld..%lld)", n, min, max);
    *out = n;
    return 0;
}

/* Optional unsigned setting: v may be NULL (keeps *out, the default). */
int mpic_cfg_opt_unsigned(struct loader *ld, json_t *obj, const char *parent, const char *key,
                          long long min, long long max, unsigned *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    char kp[KEYPATH_LEN];
    long long n = 0;
    mpic_cfg_keypath_key(kp, parent, key);
    if (mpic_cfg_want_int(ld, v, kp, min, max, &n) < 0)
        return -1;
    *out = (unsigned)n;
    return 0;
}

int mpic_cfg_opt_bool(struct loader *ld, json_t *obj, const char *parent, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    char kp[KEYPATH_LEN];
    mpic_cfg_keypath_key(kp, parent, key);
    return want_bool(ld, v, kp, out);
}

int mpic_cfg_dup_str(struct loader *ld, const char *keypath, const char *s, char **out)
{
    *out = strdup(s);
    if (*out == NULL)
        return mpic_cfg_fail_oom(ld, keypath);
    return 0;
}

/* Allocates room for n strings; the caller fills v[sv->n++]. */
int mpic_cfg_strv_alloc(struct loader *ld, const char *keypath, size_t n, struct mpic_strv *sv)
{
    sv->n = 0;
    sv->v = NULL;
    if (n == 0)
        return 0;
    sv->v = calloc(n, sizeof *sv->v);
    if (sv->v == NULL)
        return mpic_cfg_fail_oom(ld, keypath);
    return 0;
}

/* ---- syntax of names and addresses ---------------------------------------- */

bool mpic_cfg_code_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* LDH host name without trailing dot (RFC 1123; the RFC 8659 issuer-domain-name
 * ABNF is the same shape). */
bool mpic_cfg_dns_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = s[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!(is_alnum(c) || c == '-'))
            return false;
        if (label == 0 && c == '-')
            return false;
        label++;
    }
    return true;
}

bool mpic_cfg_env_name_ok(const char *s)
{
    if (s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (!(is_alnum(s[i]) || s[i] == '_'))
            return false;
    }
    return true;
}

static int parse_port(const char *s, uint16_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return -1;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

static bool ipv4_ok(const char *s)
{
    struct in_addr a;
    return inet_pton(AF_INET, s, &a) == 1;
}

static bool ipv6_ok(const char *s)
{
    struct in6_addr a;
    return inet_pton(AF_INET6, s, &a) == 1;
}

/* Splits "HOST:PORT" / "[V6]:PORT" (or a bare IP for resolvers). host gets the
 * address without brackets; -1 on any syntax error. */
int mpic_cfg_split_hostport(const char *s, enum mpic_cfg_hostport_kind kind, char *host, size_t hostlen,
                            uint16_t *port)
{
    const char *port_str = NULL;
    size_t hl;
    bool v6 = false;
    *port = 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL)
            return -1;
        hl = (size_t)(close - s - 1);
        if (hl == 0 || hl >= hostlen)
            return -1;
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        if (!ipv6_ok(host))
            return -1;
        v6 = true;
        if (close[1] == ':')
            port_str = close + 2;
        else if (close[1] != '\0')
            return -1;
    } else {
        const char *colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            /* Several colons: only a bare IPv6 resolver address reads that way. */
            if (kind != MPIC_CFG_HOSTPORT_RESOLVER || !ipv6_ok(s) || strlen(s) >= hostlen)
                return -1;
            strcpy(host, s);
            return 0;
        }
        hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
        if (hl == 0 || hl >= hostlen)
            return -1;
        memcpy(host, s, hl);
        host[hl] = '\0';
        if (colon != NULL)
            port_str = colon + 1;
    }
    if (port_str == NULL) {
        if (kind != MPIC_CFG_HOSTPORT_RESOLVER)
            return -1;
        *port = 53;
    } else if (parse_port(port_str, port) < 0) {
        return -1;
    }
    if (v6)
        return 0;
    if (ipv4_ok(host))
        return 0;
    if (kind == MPIC_CFG_HOSTPORT_URL && mpic_cfg_dns_name_ok(host))
        return 0;
    return -1;
}

int mpic_cfg_parse_listen(struct loader *ld, json_t *obj, const char *parent, const char *dflt,
                          char **host_out, uint16_t *port_out)
{
    char kp[KEYPATH_LEN], show[SHOW_LEN], host[INET6_ADDRSTRLEN + 1];
    const char *s = dflt;
    json_t *v = json_object_get(obj, "listen");
    mpic_cfg_keypath_key(kp, parent, "listen");
    if (v != NULL && mpic_cfg_want_string(ld, v, kp, &s) < 0)
        return -1;
    if (mpic_cfg_split_hostport(s, MPIC_CFG_HOSTPORT_LISTEN, host, sizeof host, port_out) < 0)
        return mpic_cfg_fail(ld, kp, "\"%s\" is not HOST:PORT or [IPv6]:PORT (an IP address and a port 1..65535)",
                             SHOW(s, show));
    return mpic_cfg_dup_str(ld, kp, host, host_out);
}

int mpic_cfg_parse_url(struct loader *ld, const char *kp, const char *s, char **out)
{
    char show[SHOW_LEN], host[256];
    uint16_t port;
    if (strncasecmp(s, "https://", 8) != 0)
        goto bad;
    const char *rest = s + 8;
    size_t n = strlen(rest);
    /* A base URL with one trailing slash means the same; store it without. */
    if (n > 0 && rest[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof host || memchr(rest, '/', n) != NULL)
        goto bad;
    char hp[256];
    memcpy(hp, rest, n);
    hp[n] = '\0';
    if (mpic_cfg_split_hostport(hp, MPIC_CFG_HOSTPORT_URL, host, sizeof host, &port) < 0)
        goto bad;
    *out = malloc(8 + n + 1);
    if (*out == NULL)
        return mpic_cfg_fail_oom(ld, kp);
    snprintf(*out, 8 + n + 1, "https://%s", hp);
    return 0;
bad:
    return mpic_cfg_fail(ld, kp, "\"%s\" is not https://HOST:PORT (IPv6 in brackets)", SHOW(s, show));
}

