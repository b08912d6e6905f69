/* Loader for the mpic configuration file (docs/config.md). The whole file is
 * checked before a daemon starts: every key of every object against the
 * documented set, types, ranges, the perspective catalogue's cross-references,
 * and the certificate, key and secret files of the section the role needs.
 * The first problem ends the load with "FILE: KEY.PATH: message".
 *
 * Secret values never reach a message: errors name the key, the variable or
 * the file, and a malformed secret reference is not echoed either (it may be a
 * secret pasted in by mistake). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "geo.h"

/* Bounds the docs leave open; chosen so that a typo (an extra zero, seconds
 * written as milliseconds) is refused instead of hanging a request. */
#define PERSPECTIVE_TIMEOUT_MAX_MS 300000
#define REQUEST_TIMEOUT_MAX_MS 600000
#define CHECK_TIMEOUT_MAX_MS 300000
#define DNS_TIMEOUT_MAX_MS 60000
#define DNS_TRIES_MAX 10
#define MAX_BODY_MIN 1024
#define MAX_BODY_MAX (16 * 1024 * 1024)
#define MAX_ATTEMPTS_CAP_MAX 20
#define DEFAULT_PERSPECTIVE_COUNT_MAX 6
#define COHORT_SECRET_MIN 16
#define SECRET_FILE_MAX 65536
#define CODE_MAX 63

#define KEYPATH_LEN 192

struct loader {
    const char *file;       /* as given: messages name it this way */
    char *dir;              /* absolute directory of the file, for relative paths */
    enum mpic_config_role role;
    struct mpic_error *err;
};

static const char *const rir_names[MPIC_RIR_COUNT] = { "ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC" };

const char *mpic_rir_name(enum mpic_rir rir)
{
    if ((unsigned)rir >= MPIC_RIR_COUNT)
        return "unknown";
    return rir_names[rir];
}

int mpic_rir_parse(const char *s, enum mpic_rir *out)
{
    if (s == NULL)
        return -1;
    for (int i = 0; i < MPIC_RIR_COUNT; i++) {
        if (strcasecmp(s, rir_names[i]) == 0) {
            *out = (enum mpic_rir)i;
            return 0;
        }
    }
    if (strcasecmp(s, "RIPE") == 0) {
        *out = MPIC_RIR_RIPE_NCC;
        return 0;
    }
    return -1;
}

int mpic_config_find_perspective(const struct mpic_config *cfg, const char *code)
{
    if (cfg == NULL || code == NULL)
        return -1;
    for (size_t i = 0; i < cfg->n_perspectives; i++) {
        if (cfg->perspectives[i].code != NULL && strcmp(cfg->perspectives[i].code, code) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- messages ---------------------------------------------------------- */

static int fail(struct loader *ld, const char *keypath, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *ld, const char *keypath, const char *fmt, ...)
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

static int fail_oom(struct loader *ld, const char *keypath)
{
    return fail(ld, keypath, "out of memory");
}

/* Copies untrusted text into buf for a message: printable ASCII only, cut
 * short with "..." so one bad value cannot swamp the line. */
static const char *printable(const char *s, char *buf, size_t len, size_t max_chars)
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

#define SHOW_LEN 72
#define SHOW(s, buf) printable((s), (buf), sizeof(buf), 64)

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

static void keypath_key(char *out, const char *parent, const char *key)
{
    char k[SHOW_LEN];
    printable(key, k, sizeof k, 48);
    keypath_join(out, parent, parent[0] == '\0' ? "" : ".", k);
}

static void keypath_index(char *out, const char *parent, size_t i)
{
    char idx[32];
    snprintf(idx, sizeof idx, "[%zu]", i);
    keypath_join(out, parent, "", idx);
}

/* ---- typed access ------------------------------------------------------- */

static int check_keys(struct loader *ld, json_t *obj, const char *keypath, const char *const *allowed)
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
            keypath_key(kp, keypath, key);
            return fail(ld, kp, "unknown key");
        }
    }
    return 0;
}

static int want_object(struct loader *ld, json_t *v, const char *keypath)
{
    if (!json_is_object(v))
        return fail(ld, keypath, "expected an object");
    return 0;
}

static int want_array(struct loader *ld, json_t *v, const char *keypath)
{
    if (!json_is_array(v))
        return fail(ld, keypath, "expected an array");
    return 0;
}

static int want_string(struct loader *ld, json_t *v, const char *keypath, const char **out)
{
    if (!json_is_string(v))
        return fail(ld, keypath, "expected a string");
    *out = json_string_value(v);
    return 0;
}

static int want_bool(struct loader *ld, json_t *v, const char *keypath, bool *out)
{
    if (!json_is_boolean(v))
        return fail(ld, keypath, "expected true or false");
    *out = json_is_true(v);
    return 0;
}

static int want_int(struct loader *ld, json_t *v, const char *keypath, long long min, long long max,
                    long long *out)
{
    if (!json_is_integer(v))
        return fail(ld, keypath, "expected an integer");
    long long n = (long long)json_integer_value(v);
    if (n < min || n > max)
        return fail(ld, keypath, "%lld is out of range (%lld..%lld)", n, min, max);
    *out = n;
    return 0;
}

/* Optional unsigned setting: v may be NULL (keeps *out, the default). */
static int opt_unsigned(struct loader *ld, json_t *obj, const char *parent, const char *key,
                        long long min, long long max, unsigned *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    char kp[KEYPATH_LEN];
    long long n = 0;
    keypath_key(kp, parent, key);
    if (want_int(ld, v, kp, min, max, &n) < 0)
        return -1;
    *out = (unsigned)n;
    return 0;
}

static int opt_bool(struct loader *ld, json_t *obj, const char *parent, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    char kp[KEYPATH_LEN];
    keypath_key(kp, parent, key);
    return want_bool(ld, v, kp, out);
}

static int dup_str(struct loader *ld, const char *keypath, const char *s, char **out)
{
    *out = strdup(s);
    if (*out == NULL)
        return fail_oom(ld, keypath);
    return 0;
}

static void strv_free(struct mpic_strv *sv, bool wipe)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (wipe && sv->v[i] != NULL)
            OPENSSL_cleanse(sv->v[i], strlen(sv->v[i]));
        free(sv->v[i]);
    }
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* Allocates room for n strings; the caller fills v[sv->n++]. */
static int strv_alloc(struct loader *ld, const char *keypath, size_t n, struct mpic_strv *sv)
{
    sv->n = 0;
    sv->v = NULL;
    if (n == 0)
        return 0;
    sv->v = calloc(n, sizeof *sv->v);
    if (sv->v == NULL)
        return fail_oom(ld, keypath);
    return 0;
}

/* ---- syntax of names and addresses ---------------------------------------- */

static bool code_ok(const char *s)
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
static bool dns_name_ok(const char *s)
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

enum hostport_kind {
    HOSTPORT_LISTEN,    /* IP literal, port required */
    HOSTPORT_RESOLVER,  /* IP literal, port optional (a bare IPv6 needs no brackets then) */
    HOSTPORT_URL,       /* IP literal or host name, port required */
};

/* Splits "HOST:PORT" / "[V6]:PORT" (or a bare IP for resolvers). host gets the
 * address without brackets; -1 on any syntax error. */
static int split_hostport(const char *s, enum hostport_kind kind, char *host, size_t hostlen,
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
            if (kind != HOSTPORT_RESOLVER || !ipv6_ok(s) || strlen(s) >= hostlen)
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
        if (kind != HOSTPORT_RESOLVER)
            return -1;
        *port = 53;
    } else if (parse_port(port_str, port) < 0) {
        return -1;
    }
    if (v6)
        return 0;
    if (ipv4_ok(host))
        return 0;
    if (kind == HOSTPORT_URL && dns_name_ok(host))
        return 0;
    return -1;
}

static int parse_listen(struct loader *ld, json_t *obj, const char *parent, const char *dflt,
                        char **host_out, uint16_t *port_out)
{
    char kp[KEYPATH_LEN], show[SHOW_LEN], host[INET6_ADDRSTRLEN + 1];
    const char *s = dflt;
    json_t *v = json_object_get(obj, "listen");
    keypath_key(kp, parent, "listen");
    if (v != NULL && want_string(ld, v, kp, &s) < 0)
        return -1;
    if (split_hostport(s, HOSTPORT_LISTEN, host, sizeof host, port_out) < 0)
        return fail(ld, kp, "\"%s\" is not HOST:PORT or [IPv6]:PORT (an IP address and a port 1..65535)",
                    SHOW(s, show));
    return dup_str(ld, kp, host, host_out);
}

/* ---- files, secrets and PEM ------------------------------------------------- */

static int resolve_path(struct loader *ld, const char *keypath, const char *p, char **out)
{
    if (p[0] == '\0')
        return fail(ld, keypath, "empty path");
    if (p[0] == '/')
        return dup_str(ld, keypath, p, out);
    size_t dl = strlen(ld->dir);
    bool slash = dl > 0 && ld->dir[dl - 1] == '/';
    size_t n = dl + (slash ? 0 : 1) + strlen(p) + 1;
    *out = malloc(n);
    if (*out == NULL)
        return fail_oom(ld, keypath);
    snprintf(*out, n, "%s%s%s", ld->dir, slash ? "" : "/", p);
    return 0;
}

static char *config_dir(const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir;
    if (slash == NULL)
        dir = strdup(".");
    else if (slash == file)
        dir = strdup("/");
    else
        dir = strndup(file, (size_t)(slash - file));
    if (dir == NULL || dir[0] == '/')
        return dir;
    /* Absolute, so that a later chdir() of the daemon cannot change what the
     * paths mean. */
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) {
        free(dir);
        return NULL;
    }
    size_t n = strlen(cwd) + 1 + strlen(dir) + 1;
    char *abs = malloc(n);
    if (abs != NULL) {
        if (strcmp(dir, ".") == 0)
            snprintf(abs, n, "%s", cwd);
        else
            snprintf(abs, n, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, dir);
    }
    free(dir);
    return abs;
}

static int open_file(struct loader *ld, const char *keypath, const char *path, FILE **fp)
{
    *fp = fopen(path, "r");
    if (*fp == NULL) {
        char show[SHOW_LEN * 2];
        return fail(ld, keypath, "cannot open %s: %s", printable(path, show, sizeof show, 128),
                    strerror(errno));
    }
    return 0;
}

/* Never prompts for a passphrase on a terminal: an encrypted key is an error. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int read_cert(struct loader *ld, const char *keypath, const char *path, X509 **out)
{
    FILE *fp;
    if (open_file(ld, keypath, path, &fp) < 0)
        return -1;
    *out = PEM_read_X509(fp, NULL, no_passphrase, NULL);
    fclose(fp);
    ERR_clear_error();
    if (*out == NULL) {
        char show[SHOW_LEN * 2];
        return fail(ld, keypath, "%s holds no PEM certificate", printable(path, show, sizeof show, 128));
    }
    return 0;
}

static int read_key(struct loader *ld, const char *keypath, const char *path, EVP_PKEY **out)
{
    FILE *fp;
    if (open_file(ld, keypath, path, &fp) < 0)
        return -1;
    *out = PEM_read_PrivateKey(fp, NULL, no_passphrase, NULL);
    fclose(fp);
    ERR_clear_error();
    if (*out == NULL) {
        char show[SHOW_LEN * 2];
        return fail(ld, keypath, "%s holds no unencrypted PEM private key",
                    printable(path, show, sizeof show, 128));
    }
    return 0;
}

static int check_ca_file(struct loader *ld, const char *keypath, const char *path)
{
    X509 *x = NULL;
    if (read_cert(ld, keypath, path, &x) < 0)
        return -1;
    X509_free(x);
    return 0;
}

/* A certificate and its key must parse and belong together; with cn != NULL
 * the certificate's subject CN must also equal it. */
static int check_cert_and_key(struct loader *ld, const char *parent, const char *cert_path,
                              const char *key_path, const char *cn, const char *cn_key)
{
    char kp_cert[KEYPATH_LEN], kp_key[KEYPATH_LEN];
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    int rc = -1;
    keypath_key(kp_cert, parent, "cert");
    keypath_key(kp_key, parent, "key");
    if (read_cert(ld, kp_cert, cert_path, &x) < 0)
        goto out;
    if (read_key(ld, kp_key, key_path, &k) < 0)
        goto out;
    if (X509_check_private_key(x, k) != 1) {
        ERR_clear_error();
        fail(ld, kp_key, "does not match the certificate in %s.cert", parent);
        goto out;
    }
    if (cn != NULL) {
        char show[SHOW_LEN], want[SHOW_LEN];
        X509_NAME *subj = X509_get_subject_name(x);
        int idx = subj != NULL ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
        if (idx < 0) {
            fail(ld, kp_cert, "certificate has no subject CN; it must be %s \"%s\"", cn_key, SHOW(cn, want));
            goto out;
        }
        unsigned char *utf8 = NULL;
        ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
        int len = ASN1_STRING_to_UTF8(&utf8, data);
        if (len < 0) {
            ERR_clear_error();
            fail(ld, kp_cert, "certificate subject CN is unreadable");
            goto out;
        }
        bool same = (size_t)len == strlen(cn) && memcmp(utf8, cn, (size_t)len) == 0;
        if (!same)
            fail(ld, kp_cert, "certificate subject CN \"%s\" does not equal %s \"%s\"",
                 SHOW((const char *)utf8, show), cn_key, SHOW(cn, want));
        OPENSSL_free(utf8);
        if (!same)
            goto out;
    }
    rc = 0;
out:
    EVP_PKEY_free(k);
    X509_free(x);
    return rc;
}

static int read_secret_file(struct loader *ld, const char *keypath, const char *path,
                            unsigned char **out, size_t *out_len)
{
    char show[SHOW_LEN * 2];
    FILE *fp;
    if (open_file(ld, keypath, path, &fp) < 0)
        return -1;
    unsigned char *buf = malloc(SECRET_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(fp);
        return fail_oom(ld, keypath);
    }
    size_t n = fread(buf, 1, SECRET_FILE_MAX + 1, fp);
    int rd_err = ferror(fp) ? errno : 0;
    fclose(fp);
    if (rd_err != 0 || n > SECRET_FILE_MAX) {
        OPENSSL_cleanse(buf, SECRET_FILE_MAX + 1);
        free(buf);
        if (rd_err != 0)
            return fail(ld, keypath, "cannot read %s: %s", printable(path, show, sizeof show, 128),
                        strerror(rd_err));
        return fail(ld, keypath, "%s is larger than %d bytes", printable(path, show, sizeof show, 128),
                    SECRET_FILE_MAX);
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

static bool env_name_ok(const char *s)
{
    if (s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (!(is_alnum(s[i]) || s[i] == '_'))
            return false;
    }
    return true;
}

/* Resolves "env:NAME" or "file:PATH" into a NUL-terminated buffer. With
 * resolve false only the reference's syntax is checked (*out stays NULL):
 * a daemon must not need the other daemon's secrets to start. */
static int load_secret(struct loader *ld, const char *keypath, const char *spec, bool resolve,
                       unsigned char **out, size_t *out_len)
{
    char show[SHOW_LEN];
    *out = NULL;
    *out_len = 0;
    if (strncmp(spec, "env:", 4) == 0) {
        const char *name = spec + 4;
        if (!env_name_ok(name))
            return fail(ld, keypath, "\"env:%s\": not a valid environment variable name", SHOW(name, show));
        if (!resolve)
            return 0;
        const char *val = getenv(name);
        if (val == NULL)
            return fail(ld, keypath, "environment variable %s is not set", name);
        if (val[0] == '\0')
            return fail(ld, keypath, "environment variable %s is empty", name);
        size_t n = strlen(val);
        *out = malloc(n + 1);
        if (*out == NULL)
            return fail_oom(ld, keypath);
        memcpy(*out, val, n + 1);
        *out_len = n;
        return 0;
    }
    if (strncmp(spec, "file:", 5) == 0) {
        char *path = NULL;
        if (resolve_path(ld, keypath, spec + 5, &path) < 0)
            return -1;
        if (!resolve) {
            free(path);
            return 0;
        }
        int rc = read_secret_file(ld, keypath, path, out, out_len);
        if (rc == 0 && *out_len == 0) {
            char pshow[SHOW_LEN * 2];
            fail(ld, keypath, "secret file %s is empty", printable(path, pshow, sizeof pshow, 128));
            free(*out);
            *out = NULL;
            rc = -1;
        }
        free(path);
        return rc;
    }
    return fail(ld, keypath, "a secret must be \"env:NAME\" or \"file:PATH\" (secret values never appear in the file)");
}

/* ---- sections ------------------------------------------------------------ */

static int parse_log_level(struct loader *ld, json_t *root, struct mpic_config *cfg)
{
    static const char *const levels[] = { "debug", "info", "warn", "error" };
    const char *s = "info";
    json_t *v = json_object_get(root, "log_level");
    if (v != NULL && want_string(ld, v, "log_level", &s) < 0)
        return -1;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(s, levels[i]) == 0)
            return dup_str(ld, "log_level", s, &cfg->log_level);
    }
    char show[SHOW_LEN];
    return fail(ld, "log_level", "unknown level \"%s\" (expected debug, info, warn or error)", SHOW(s, show));
}

static int parse_caa(struct loader *ld, json_t *root, struct mpic_config *cfg)
{
    static const char *const keys[] = { "issuer_domains", "flag1_is_critical", NULL };
    cfg->caa_flag1_is_critical = true;
    json_t *caa = json_object_get(root, "caa");
    if (caa == NULL)
        return 0;
    if (want_object(ld, caa, "caa") < 0 || check_keys(ld, caa, "caa", keys) < 0)
        return -1;
    if (opt_bool(ld, caa, "caa", "flag1_is_critical", &cfg->caa_flag1_is_critical) < 0)
        return -1;
    json_t *arr = json_object_get(caa, "issuer_domains");
    if (arr == NULL)
        return 0;
    if (want_array(ld, arr, "caa.issuer_domains") < 0)
        return -1;
    struct mpic_strv *sv = &cfg->caa_issuer_domains;
    if (strv_alloc(ld, "caa.issuer_domains", json_array_size(arr), sv) < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN], show[SHOW_LEN];
        const char *s = NULL;
        keypath_index(kp, "caa.issuer_domains", i);
        if (want_string(ld, v, kp, &s) < 0 || dup_str(ld, kp, s, &sv->v[sv->n]) < 0)
            return -1;
        char *d = sv->v[sv->n++];
        for (char *p = d; *p != '\0'; p++) {
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        }
        size_t len = strlen(d);
        if (len > 0 && d[len - 1] == '.')
            return fail(ld, kp, "\"%s\": no trailing dot allowed", SHOW(s, show));
        if (!dns_name_ok(d))
            return fail(ld, kp, "\"%s\" is not a DNS name (A-labels: letters, digits, hyphens)", SHOW(s, show));
        for (size_t j = 0; j + 1 < sv->n; j++) {
            if (strcmp(sv->v[j], d) == 0)
                return fail(ld, kp, "\"%s\" is listed twice", SHOW(d, show));
        }
    }
    return 0;
}

static int parse_url(struct loader *ld, const char *kp, const char *s, char **out)
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
    if (split_hostport(hp, HOSTPORT_URL, host, sizeof host, &port) < 0)
        goto bad;
    *out = malloc(8 + n + 1);
    if (*out == NULL)
        return fail_oom(ld, kp);
    snprintf(*out, 8 + n + 1, "https://%s", hp);
    return 0;
bad:
    return fail(ld, kp, "\"%s\" is not https://HOST:PORT (IPv6 in brackets)", SHOW(s, show));
}

static int parse_too_close(struct loader *ld, json_t *arr, const char *kp, struct mpic_perspective *p)
{
    if (want_array(ld, arr, kp) < 0)
        return -1;
    if (strv_alloc(ld, kp, json_array_size(arr), &p->too_close) < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char ikp[KEYPATH_LEN], show[SHOW_LEN];
        const char *s = NULL;
        keypath_index(ikp, kp, i);
        if (want_string(ld, v, ikp, &s) < 0)
            return -1;
        if (!code_ok(s))
            return fail(ld, ikp, "\"%s\" is not a perspective code", SHOW(s, show));
        for (size_t j = 0; j < p->too_close.n; j++) {
            if (strcmp(p->too_close.v[j], s) == 0)
                return fail(ld, ikp, "\"%s\" is listed twice", s);
        }
        if (dup_str(ld, ikp, s, &p->too_close.v[p->too_close.n]) < 0)
            return -1;
        p->too_close.n++;
    }
    return 0;
}

/* ---- locations (BR 3.2.2.9 distances) ---------------------------------------- */

static int want_degrees(struct loader *ld, json_t *obj, const char *parent, const char *key, double min,
                        double max, double *out)
{
    char kp[KEYPATH_LEN];
    json_t *v = json_object_get(obj, key);
    keypath_key(kp, parent, key);
    if (v == NULL)
        return fail(ld, kp, "required key is missing");
    if (!json_is_number(v))
        return fail(ld, kp, "expected a number (degrees)");
    double d = json_number_value(v);
    if (!(d >= min && d <= max))
        return fail(ld, kp, "%g is out of range (%g..%g)", d, min, max);
    *out = d;
    return 0;
}

/* {"lat": -90..90, "lon": -180..180}, plus whatever other keys the caller
 * allows (the resolver object also carries "rir"). */
static int parse_point(struct loader *ld, json_t *obj, const char *kp, const char *const *keys, double *lat,
                       double *lon)
{
    if (want_object(ld, obj, kp) < 0 || check_keys(ld, obj, kp, keys) < 0)
        return -1;
    if (want_degrees(ld, obj, kp, "lat", -90.0, 90.0, lat) < 0 ||
        want_degrees(ld, obj, kp, "lon", -180.0, 180.0, lon) < 0)
        return -1;
    return 0;
}

/* perspectives[].location and perspectives[].resolver. A resolver that is
 * not co-located must be in the perspective's RIR service region (BR 3.2.2.9,
 * on DNS resolvers); without one the resolver is taken to be where the
 * perspective is. */
static int parse_perspective_geo(struct loader *ld, json_t *obj, const char *kp, struct mpic_perspective *p)
{
    static const char *const loc_keys[] = { "lat", "lon", NULL };
    static const char *const res_keys[] = { "lat", "lon", "rir", NULL };
    char k[KEYPATH_LEN], rk[KEYPATH_LEN], show[SHOW_LEN];
    const char *s = NULL;
    json_t *v;

    keypath_key(k, kp, "location");
    if ((v = json_object_get(obj, "location")) != NULL) {
        if (parse_point(ld, v, k, loc_keys, &p->lat, &p->lon) < 0)
            return -1;
        p->has_location = true;
    }

    keypath_key(k, kp, "resolver");
    if ((v = json_object_get(obj, "resolver")) == NULL)
        return 0;
    if (parse_point(ld, v, k, res_keys, &p->resolver_lat, &p->resolver_lon) < 0)
        return -1;
    keypath_key(rk, k, "rir");
    json_t *r = json_object_get(v, "rir");
    if (r == NULL)
        return fail(ld, rk, "required key is missing");
    if (want_string(ld, r, rk, &s) < 0)
        return -1;
    if (mpic_rir_parse(s, &p->resolver_rir) < 0)
        return fail(ld, rk, "unknown RIR \"%s\" (expected ARIN, RIPE NCC, APNIC, LACNIC or AFRINIC)", SHOW(s, show));
    if (p->resolver_rir != p->rir)
        return fail(ld, rk,
                    "the resolver is in %s but perspective %s is in %s (BR 3.2.2.9: a resolver must be in the RIR "
                    "service region of the perspective that relies on it)",
                    mpic_rir_name(p->resolver_rir), p->code, mpic_rir_name(p->rir));
    p->has_resolver = true;
    return 0;
}

static int parse_perspective(struct loader *ld, json_t *obj, const char *kp, struct mpic_perspective *p,
                             bool url_required)
{
    static const char *const keys[] = { "code", "name", "rir", "too_close", "url", "location", "resolver", NULL };
    char k[KEYPATH_LEN], show[SHOW_LEN];
    const char *s = NULL;
    json_t *v;
    if (want_object(ld, obj, kp) < 0 || check_keys(ld, obj, kp, keys) < 0)
        return -1;

    keypath_key(k, kp, "code");
    if ((v = json_object_get(obj, "code")) == NULL)
        return fail(ld, k, "required key is missing");
    if (want_string(ld, v, k, &s) < 0)
        return -1;
    if (!code_ok(s))
        return fail(ld, k, "\"%s\" is not a perspective code (1..%d of a-z, 0-9, -)", SHOW(s, show), CODE_MAX);
    if (dup_str(ld, k, s, &p->code) < 0)
        return -1;

    keypath_key(k, kp, "name");
    if ((v = json_object_get(obj, "name")) != NULL && !json_is_null(v)) {
        if (!json_is_string(v))
            return fail(ld, k, "expected a string or null");
        if (dup_str(ld, k, json_string_value(v), &p->name) < 0)
            return -1;
    }

    keypath_key(k, kp, "rir");
    if ((v = json_object_get(obj, "rir")) == NULL)
        return fail(ld, k, "required key is missing");
    if (want_string(ld, v, k, &s) < 0)
        return -1;
    if (mpic_rir_parse(s, &p->rir) < 0)
        return fail(ld, k, "unknown RIR \"%s\" (expected ARIN, RIPE NCC, APNIC, LACNIC or AFRINIC)", SHOW(s, show));

    keypath_key(k, kp, "too_close");
    if ((v = json_object_get(obj, "too_close")) != NULL && parse_too_close(ld, v, k, p) < 0)
        return -1;
    if (parse_perspective_geo(ld, obj, kp, p) < 0)
        return -1;

    keypath_key(k, kp, "url");
    if ((v = json_object_get(obj, "url")) == NULL) {
        if (url_required)
            return fail(ld, k, "required key is missing");
        return 0;
    }
    if (want_string(ld, v, k, &s) < 0)
        return -1;
    return parse_url(ld, k, s, &p->url);
}

static bool strv_has(const struct mpic_strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (strcmp(sv->v[i], s) == 0)
            return true;
    }
    return false;
}

/* too_close must name known codes, never the perspective itself, and hold in
 * both directions: a one-sided entry is almost always a forgotten edit, and
 * cohort selection must not depend on which side it looks from. */
static int check_too_close(struct loader *ld, struct mpic_config *cfg)
{
    for (size_t i = 0; i < cfg->n_perspectives; i++) {
        const struct mpic_perspective *p = &cfg->perspectives[i];
        for (size_t t = 0; t < p->too_close.n; t++) {
            char kp[KEYPATH_LEN], base[KEYPATH_LEN], list[KEYPATH_LEN];
            const char *other = p->too_close.v[t];
            keypath_index(base, "perspectives", i);
            keypath_key(list, base, "too_close");
            keypath_index(kp, list, t);
            int j = mpic_config_find_perspective(cfg, other);
            if (j < 0)
                return fail(ld, kp, "unknown perspective code \"%s\"", other);
            if ((size_t)j == i)
                return fail(ld, kp, "\"%s\" lists itself", other);
            if (!strv_has(&cfg->perspectives[j].too_close, p->code))
                return fail(ld, kp,
                            "\"%s\" lists \"%s\" as too close, but perspectives[%d] \"%s\" does not list \"%s\" "
                            "(too_close must be symmetric)",
                            p->code, other, j, other, p->code);
        }
    }
    return 0;
}

static int parse_perspectives(struct loader *ld, json_t *root, struct mpic_config *cfg)
{
    json_t *arr = json_object_get(root, "perspectives");
    if (arr == NULL)
        return 0;
    if (want_array(ld, arr, "perspectives") < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    if (n > INT_MAX)
        return fail(ld, "perspectives", "too many perspectives");
    cfg->perspectives = calloc(n, sizeof *cfg->perspectives);
    if (cfg->perspectives == NULL)
        return fail_oom(ld, "perspectives");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN];
        keypath_index(kp, "perspectives", i);
        /* Counted before parsing so that a half-filled entry is freed too. */
        cfg->n_perspectives++;
        struct mpic_perspective *p = &cfg->perspectives[i];
        if (parse_perspective(ld, v, kp, p, ld->role == MPIC_ROLE_ORCHESTRATOR) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->perspectives[j].code, p->code) == 0) {
                char ck[KEYPATH_LEN];
                keypath_key(ck, kp, "code");
                return fail(ld, ck, "duplicate perspective code \"%s\" (also perspectives[%zu])", p->code, j);
            }
        }
    }
    return check_too_close(ld, cfg);
}

/* ---- distinctness (BR 3.2.2.9) --------------------------------------------------- */

/* orchestrator.primary: the CA's own (Primary) Network Perspective, described
 * like a catalogue entry but never put in a cohort, so kept out of
 * cfg->perspectives. Its url is optional: the orchestrator never calls it. */
static int parse_primary(struct loader *ld, json_t *obj, struct mpic_config *cfg)
{
    static const char *const keys[] = { "code", "name", "rir", "url", "location", NULL };
    const char *P = "orchestrator.primary";
    struct mpic_orchestrator_config *o = &cfg->orchestrator;
    o->require_primary = false;
    if (opt_bool(ld, obj, "orchestrator", "require_primary", &o->require_primary) < 0)
        return -1;
    json_t *v = json_object_get(obj, "primary");
    if (v == NULL) {
        if (o->require_primary)
            return fail(ld, "orchestrator.require_primary", "is true, but orchestrator.primary is missing");
        return 0;
    }
    if (want_object(ld, v, P) < 0 || check_keys(ld, v, P, keys) < 0)
        return -1;
    o->primary = calloc(1, sizeof *o->primary);
    if (o->primary == NULL)
        return fail_oom(ld, P);
    /* The orchestrator calls the primary's agent beside every cohort. */
    if (parse_perspective(ld, v, P, o->primary, ld->role == MPIC_ROLE_ORCHESTRATOR) < 0)
        return -1;
    int j = mpic_config_find_perspective(cfg, o->primary->code);
    if (j >= 0)
        return fail(ld, "orchestrator.primary.code",
                    "\"%s\" is also perspectives[%d]; the primary is not one of the remote perspectives",
                    o->primary->code, j);
    return 0;
}

/* Whole kilometres for messages; a distance under the limit is never shown
 * as the limit itself (499.7 km reads "499 km", not "500 km"). */
static long km_shown(double km)
{
    long r = lround(km);
    if (km < MPIC_DISTINCT_KM && r >= MPIC_DISTINCT_KM)
        r = MPIC_DISTINCT_KM - 1;
    return r;
}

/* Where a perspective's DNS queries leave: its resolver, else itself. */
static bool resolver_point(const struct mpic_perspective *p, double *lat, double *lon)
{
    if (p->has_resolver) {
        *lat = p->resolver_lat;
        *lon = p->resolver_lon;
        return true;
    }
    *lat = p->lat;
    *lon = p->lon;
    return p->has_location;
}

static int too_close_add(struct loader *ld, struct mpic_perspective *p, const char *code)
{
    for (size_t i = 0; i < p->too_close.n; i++) {
        if (strcmp(p->too_close.v[i], code) == 0)
            return 0;
    }
    char **v = realloc(p->too_close.v, (p->too_close.n + 1) * sizeof *v);
    if (v == NULL)
        return fail_oom(ld, "perspectives");
    p->too_close.v = v;
    if ((v[p->too_close.n] = strdup(code)) == NULL)
        return fail_oom(ld, "perspectives");
    p->too_close.n++;
    return 0;
}

static int computed_add(struct loader *ld, struct mpic_strv *sv, const char *line)
{
    char **v = realloc(sv->v, (sv->n + 1) * sizeof *v);
    if (v == NULL)
        return fail_oom(ld, "perspectives");
    sv->v = v;
    if ((v[sv->n] = strdup(line)) == NULL)
        return fail_oom(ld, "perspectives");
    sv->n++;
    return 0;
}

/* Pairs of perspectives, or of the resolvers they rely on, closer than
 * MPIC_DISTINCT_KM count as one perspective: each goes into the other's
 * too_close list (so cohort selection keeps them apart) and the pair is
 * recorded for -t. Explicit too_close entries stay: they add separations
 * that coordinates cannot show (a shared upstream, say). */
static int merge_close_pairs(struct loader *ld, struct mpic_config *cfg)
{
    for (size_t i = 0; i < cfg->n_perspectives; i++) {
        for (size_t j = i + 1; j < cfg->n_perspectives; j++) {
            struct mpic_perspective *a = &cfg->perspectives[i], *b = &cfg->perspectives[j];
            double alat, alon, blat, blon;
            bool have_d = a->has_location && b->has_location;
            bool have_r = resolver_point(a, &alat, &alon) && resolver_point(b, &blat, &blon);
            double d = have_d ? mpic_geo_distance_km(a->lat, a->lon, b->lat, b->lon) : 0.0;
            double r = have_r ? mpic_geo_distance_km(alat, alon, blat, blon) : 0.0;
            bool close_d = have_d && d < MPIC_DISTINCT_KM;
            bool close_r = have_r && r < MPIC_DISTINCT_KM;
            if (!close_d && !close_r)
                continue;
            char line[2 * CODE_MAX + 96];
            if (close_d)
                snprintf(line, sizeof line, "%s ~ %s: %ld km", a->code, b->code, km_shown(d));
            else if (have_d)
                snprintf(line, sizeof line, "%s ~ %s: resolvers %ld km apart (perspectives %ld km)", a->code,
                         b->code, km_shown(r), lround(d));
            else
                snprintf(line, sizeof line, "%s ~ %s: resolvers %ld km apart", a->code, b->code, km_shown(r));
            if (too_close_add(ld, a, b->code) < 0 || too_close_add(ld, b, a->code) < 0 ||
                computed_add(ld, &cfg->computed_too_close, line) < 0)
                return -1;
        }
    }
    return 0;
}

/* Runs once the orchestrator section (and so the policy) is known. Under
 * cabf-br the orchestrator cannot check BR 3.2.2.9's 500 km rule without
 * every location, so each is required; a remote closer than that to the
 * primary is not remote at all, and refuses the start. */
static int check_geography(struct loader *ld, struct mpic_config *cfg)
{
    const struct mpic_orchestrator_config *o = &cfg->orchestrator;
    const struct mpic_perspective *pp = o->primary;
    if (ld->role == MPIC_ROLE_ORCHESTRATOR && cfg->has_orchestrator && o->policy == MPIC_PROFILE_CABF_BR) {
        for (size_t i = 0; i < cfg->n_perspectives; i++) {
            if (cfg->perspectives[i].has_location)
                continue;
            char base[KEYPATH_LEN], kp[KEYPATH_LEN];
            keypath_index(base, "perspectives", i);
            keypath_key(kp, base, "location");
            return fail(ld, kp, "required key is missing (policy cabf-br checks the BR 3.2.2.9 500 km rule "
                                "from it; only open-mpic-reference makes it optional)");
        }
        if (pp != NULL && !pp->has_location)
            return fail(ld, "orchestrator.primary.location",
                        "required key is missing (policy cabf-br checks the BR 3.2.2.9 500 km rule from it)");
    }
    for (size_t i = 0; pp != NULL && pp->has_location && i < cfg->n_perspectives; i++) {
        const struct mpic_perspective *p = &cfg->perspectives[i];
        if (!p->has_location)
            continue;
        double d = mpic_geo_distance_km(pp->lat, pp->lon, p->lat, p->lon);
        if (d < MPIC_DISTINCT_KM)
            return fail(ld, "orchestrator.primary",
                        "perspective %s is %ld km from the primary (BR 3.2.2.9 requires remotes to be at "
                        "least %d km from it)",
                        p->code, km_shown(d), MPIC_DISTINCT_KM);
    }
    return merge_close_pairs(ld, cfg);
}

/* tls objects: {"cert","key"} or, with want_ca, {"ca","cert","key"}; all
 * members required. Paths are resolved here; the files are checked later and
 * only for the role that uses them. */
static int parse_tls_files(struct loader *ld, json_t *obj, const char *kp, bool want_ca,
                           struct mpic_tls_files *out)
{
    static const char *const keys_ca[] = { "ca", "cert", "key", NULL };
    static const char *const keys_pair[] = { "cert", "key", NULL };
    if (want_object(ld, obj, kp) < 0 || check_keys(ld, obj, kp, want_ca ? keys_ca : keys_pair) < 0)
        return -1;
    const char *const *keys = want_ca ? keys_ca : keys_pair;
    for (size_t i = 0; keys[i] != NULL; i++) {
        char k[KEYPATH_LEN];
        const char *s = NULL;
        char **dst = strcmp(keys[i], "ca") == 0 ? &out->ca : strcmp(keys[i], "cert") == 0 ? &out->cert : &out->key;
        json_t *v = json_object_get(obj, keys[i]);
        keypath_key(k, kp, keys[i]);
        if (v == NULL)
            return fail(ld, k, "required key is missing");
        if (want_string(ld, v, k, &s) < 0 || resolve_path(ld, k, s, dst) < 0)
            return -1;
    }
    return 0;
}

static int opt_body_bytes(struct loader *ld, json_t *obj, const char *parent, size_t *out)
{
    unsigned n = (unsigned)*out;
    if (opt_unsigned(ld, obj, parent, "max_body_bytes", MAX_BODY_MIN, MAX_BODY_MAX, &n) < 0)
        return -1;
    *out = n;
    return 0;
}

static int parse_api_keys(struct loader *ld, json_t *obj, bool resolve, struct mpic_strv *sv)
{
    json_t *arr = json_object_get(obj, "api_keys");
    if (arr == NULL)
        return fail(ld, "orchestrator.api_keys", "required key is missing");
    if (want_array(ld, arr, "orchestrator.api_keys") < 0)
        return -1;
    if (json_array_size(arr) == 0)
        return fail(ld, "orchestrator.api_keys", "at least one API key is required");
    if (strv_alloc(ld, "orchestrator.api_keys", json_array_size(arr), sv) < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN];
        const char *spec = NULL;
        unsigned char *val;
        size_t len;
        keypath_index(kp, "orchestrator.api_keys", i);
        if (want_string(ld, v, kp, &spec) < 0 || load_secret(ld, kp, spec, resolve, &val, &len) < 0)
            return -1;
        if (val == NULL)
            continue;
        sv->v[sv->n++] = (char *)val;
        /* An x-api-key header value can hold neither NUL nor control bytes;
         * such a key could never match, so it is a configuration mistake. */
        for (size_t b = 0; b < len; b++) {
            if (val[b] < 0x20 || val[b] == 0x7f)
                return fail(ld, kp, "secret holds control characters (not usable as an x-api-key header)");
        }
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
    if (want_object(ld, a, P) < 0 || check_keys(ld, a, P, keys) < 0)
        return -1;
    json_t *v = json_object_get(a, "path");
    if (v == NULL)
        return fail(ld, "orchestrator.audit_log.path", "required key is missing");
    if (want_string(ld, v, "orchestrator.audit_log.path", &path) < 0 ||
        resolve_path(ld, "orchestrator.audit_log.path", path, &o->audit_log_path) < 0)
        return -1;
    if ((v = json_object_get(a, "fsync")) != NULL && want_string(ld, v, "orchestrator.audit_log.fsync", &mode) < 0)
        return -1;
    if (strcmp(mode, "per-request") != 0 && strcmp(mode, "none") != 0)
        return fail(ld, "orchestrator.audit_log.fsync", "expected \"per-request\" or \"none\"");
    o->audit_fsync = strcmp(mode, "per-request") == 0;
    return 0;
}

static int parse_orchestrator(struct loader *ld, json_t *obj, struct mpic_config *cfg)
{
    static const char *const keys[] = { "listen", "tls", "api_keys", "cohort_secret", "agent_tls",
                                        "default_perspective_count", "max_attempts_cap",
                                        "perspective_timeout_ms", "request_timeout_ms", "max_body_bytes",
                                        "policy", "audit_log", "primary", "require_primary", NULL };
    const char *P = "orchestrator";
    struct mpic_orchestrator_config *o = &cfg->orchestrator;
    bool active = ld->role == MPIC_ROLE_ORCHESTRATOR;
    json_t *v;
    if (want_object(ld, obj, P) < 0 || check_keys(ld, obj, P, keys) < 0)
        return -1;
    cfg->has_orchestrator = true;

    if (parse_listen(ld, obj, P, "127.0.0.1:8080", &o->listen_host, &o->listen_port) < 0)
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
        return fail(ld, "orchestrator.cohort_secret", "required key is missing");
    if (want_string(ld, v, "orchestrator.cohort_secret", &spec) < 0)
        return -1;
    if (load_secret(ld, "orchestrator.cohort_secret", spec, active, &o->cohort_secret, &o->cohort_secret_len) < 0)
        return -1;
    if (active && o->cohort_secret_len < COHORT_SECRET_MIN)
        return fail(ld, "orchestrator.cohort_secret", "secret is %zu bytes, at least %d are required",
                    o->cohort_secret_len, COHORT_SECRET_MIN);

    if ((v = json_object_get(obj, "agent_tls")) == NULL)
        return fail(ld, "orchestrator.agent_tls", "required key is missing");
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
        if (want_int(ld, v, "orchestrator.default_perspective_count", 2, max, &c) < 0)
            return -1;
        o->default_perspective_count = (unsigned)c;
    }

    if (parse_audit_log(ld, obj, o) < 0)
        return -1;
    o->policy = MPIC_PROFILE_CABF_BR;
    if ((v = json_object_get(obj, "policy")) != NULL) {
        const char *s = NULL;
        char show[SHOW_LEN];
        if (want_string(ld, v, "orchestrator.policy", &s) < 0)
            return -1;
        if (mpic_policy_profile_parse(s, &o->policy) != 0)
            return fail(ld, "orchestrator.policy", "unknown policy \"%s\" (expected cabf-br or open-mpic-reference)",
                        SHOW(s, show));
    }
    if (parse_primary(ld, obj, cfg) < 0)
        return -1;
    o->max_attempts_cap = 3;
    o->perspective_timeout_ms = 10000;
    o->request_timeout_ms = 25000;
    o->max_body_bytes = 65536;
    if (opt_unsigned(ld, obj, P, "max_attempts_cap", 1, MAX_ATTEMPTS_CAP_MAX, &o->max_attempts_cap) < 0 ||
        opt_unsigned(ld, obj, P, "perspective_timeout_ms", 1, PERSPECTIVE_TIMEOUT_MAX_MS,
                     &o->perspective_timeout_ms) < 0 ||
        opt_unsigned(ld, obj, P, "request_timeout_ms", 1, REQUEST_TIMEOUT_MAX_MS, &o->request_timeout_ms) < 0 ||
        opt_body_bytes(ld, obj, P, &o->max_body_bytes) < 0)
        return -1;
    if (o->perspective_timeout_ms > o->request_timeout_ms)
        return fail(ld, "orchestrator.perspective_timeout_ms",
                    "%u is longer than orchestrator.request_timeout_ms (%u)", o->perspective_timeout_ms,
                    o->request_timeout_ms);

    if (!active)
        return 0;
    if (o->https && check_cert_and_key(ld, "orchestrator.tls", o->tls_cert, o->tls_key, NULL, NULL) < 0)
        return -1;
    if (check_ca_file(ld, "orchestrator.agent_tls.ca", o->agent_tls.ca) < 0)
        return -1;
    return check_cert_and_key(ld, "orchestrator.agent_tls", o->agent_tls.cert, o->agent_tls.key, NULL, NULL);
}

static int parse_dns(struct loader *ld, json_t *obj, struct mpic_dns_config *dns)
{
    static const char *const keys[] = { "resolvers", "timeout_ms", "tries", "dnssec", NULL };
    const char *P = "agent.dns";
    if (want_object(ld, obj, P) < 0 || check_keys(ld, obj, P, keys) < 0)
        return -1;
    json_t *arr = json_object_get(obj, "resolvers");
    if (arr == NULL)
        return fail(ld, "agent.dns.resolvers", "required key is missing");
    if (want_array(ld, arr, "agent.dns.resolvers") < 0)
        return -1;
    /* The agent must never fall back to a shared system resolver. */
    if (json_array_size(arr) == 0)
        return fail(ld, "agent.dns.resolvers", "at least one resolver is required");
    if (strv_alloc(ld, "agent.dns.resolvers", json_array_size(arr), &dns->resolvers) < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN], show[SHOW_LEN], host[INET6_ADDRSTRLEN + 1];
        const char *s = NULL;
        uint16_t port;
        keypath_index(kp, "agent.dns.resolvers", i);
        if (want_string(ld, v, kp, &s) < 0)
            return -1;
        if (split_hostport(s, HOSTPORT_RESOLVER, host, sizeof host, &port) < 0)
            return fail(ld, kp, "\"%s\" is not IP, IP:PORT or [IPv6]:PORT", SHOW(s, show));
        if (dup_str(ld, kp, s, &dns->resolvers.v[dns->resolvers.n]) < 0)
            return -1;
        dns->resolvers.n++;
    }
    dns->timeout_ms = 2000;
    dns->tries = 2;
    if (opt_unsigned(ld, obj, P, "timeout_ms", 1, DNS_TIMEOUT_MAX_MS, &dns->timeout_ms) < 0 ||
        opt_unsigned(ld, obj, P, "tries", 1, DNS_TRIES_MAX, &dns->tries) < 0)
        return -1;
    dns->dnssec = MPIC_DNSSEC_VALIDATE;
    if ((v = json_object_get(obj, "dnssec")) != NULL) {
        const char *s = NULL;
        char show[SHOW_LEN];
        if (want_string(ld, v, "agent.dns.dnssec", &s) < 0)
            return -1;
        if (strcmp(s, "require") == 0)
            dns->dnssec = MPIC_DNSSEC_REQUIRE;
        else if (strcmp(s, "validate") != 0)
            return fail(ld, "agent.dns.dnssec", "unknown mode \"%s\" (expected validate or require)",
                        SHOW(s, show));
    }
    return 0;
}

static int parse_agent(struct loader *ld, json_t *obj, struct mpic_config *cfg)
{
    static const char *const keys[] = { "perspective", "listen", "tls", "dns", "check_timeout_ms",
                                        "max_body_bytes", "allow_private_targets", NULL };
    const char *P = "agent";
    struct mpic_agent_config *a = &cfg->agent;
    bool active = ld->role == MPIC_ROLE_AGENT;
    char show[SHOW_LEN];
    const char *s = NULL;
    json_t *v;
    if (want_object(ld, obj, P) < 0 || check_keys(ld, obj, P, keys) < 0)
        return -1;
    cfg->has_agent = true;

    if ((v = json_object_get(obj, "perspective")) == NULL)
        return fail(ld, "agent.perspective", "required key is missing");
    if (want_string(ld, v, "agent.perspective", &s) < 0)
        return -1;
    if (!code_ok(s))
        return fail(ld, "agent.perspective", "\"%s\" is not a perspective code (1..%d of a-z, 0-9, -)",
                    SHOW(s, show), CODE_MAX);
    /* In a file that also carries the catalogue, the agent must be one of it. */
    if (cfg->n_perspectives > 0 && mpic_config_find_perspective(cfg, s) < 0)
        return fail(ld, "agent.perspective", "\"%s\" is not a code in perspectives", s);
    if (dup_str(ld, "agent.perspective", s, &a->perspective) < 0)
        return -1;

    if (parse_listen(ld, obj, P, "127.0.0.1:9443", &a->listen_host, &a->listen_port) < 0)
        return -1;

    if ((v = json_object_get(obj, "tls")) == NULL)
        return fail(ld, "agent.tls", "required key is missing");
    if (parse_tls_files(ld, v, "agent.tls", true, &a->tls) < 0)
        return -1;

    if ((v = json_object_get(obj, "dns")) == NULL)
        return fail(ld, "agent.dns", "required key is missing");
    if (parse_dns(ld, v, &a->dns) < 0)
        return -1;

    a->check_timeout_ms = 8000;
    a->max_body_bytes = 65536;
    a->allow_private_targets = false;
    if (opt_unsigned(ld, obj, P, "check_timeout_ms", 1, CHECK_TIMEOUT_MAX_MS, &a->check_timeout_ms) < 0 ||
        opt_body_bytes(ld, obj, P, &a->max_body_bytes) < 0 ||
        opt_bool(ld, obj, P, "allow_private_targets", &a->allow_private_targets) < 0)
        return -1;

    if (!active)
        return 0;
    if (check_ca_file(ld, "agent.tls.ca", a->tls.ca) < 0)
        return -1;
    /* The orchestrator identifies an agent by the CN of its certificate; a
     * mismatch would make every reply from this agent count as a failure. */
    return check_cert_and_key(ld, "agent.tls", a->tls.cert, a->tls.key, a->perspective, "agent.perspective");
}

static int load_root(struct loader *ld, json_t *root, struct mpic_config *cfg)
{
    static const char *const keys[] = { "log_level", "caa", "perspectives", "orchestrator", "agent", NULL };
    if (!json_is_object(root))
        return fail(ld, NULL, "the top level must be a JSON object");
    if (check_keys(ld, root, "", keys) < 0)
        return -1;

    json_t *orch = json_object_get(root, "orchestrator");
    json_t *agent = json_object_get(root, "agent");
    if (ld->role == MPIC_ROLE_ORCHESTRATOR && orch == NULL)
        return fail(ld, "orchestrator", "section is required by mpic-orchestrator");
    if (ld->role == MPIC_ROLE_AGENT && agent == NULL)
        return fail(ld, "agent", "section is required by mpic-agent");

    if (parse_log_level(ld, root, cfg) < 0 || parse_caa(ld, root, cfg) < 0 || parse_perspectives(ld, root, cfg) < 0)
        return -1;
    if (ld->role == MPIC_ROLE_ORCHESTRATOR && cfg->n_perspectives < 2)
        return fail(ld, "perspectives",
                    cfg->n_perspectives == 0 ? "mpic-orchestrator needs a perspective catalogue (at least 2)"
                                             : "mpic-orchestrator needs at least 2 perspectives");
    if (ld->role == MPIC_ROLE_AGENT && cfg->caa_issuer_domains.n == 0)
        return fail(ld, "caa.issuer_domains", "mpic-agent needs at least one issuer domain");

    if (orch != NULL && parse_orchestrator(ld, orch, cfg) < 0)
        return -1;
    if (agent != NULL && parse_agent(ld, agent, cfg) < 0)
        return -1;
    return check_geography(ld, cfg);
}

int mpic_config_load(const char *path, enum mpic_config_role role, struct mpic_config *out,
                     struct mpic_error *err)
{
    memset(out, 0, sizeof *out);
    if (path == NULL || path[0] == '\0')
        return mpic_error_set(err, "config: no file given");
    struct loader ld = { .file = path, .dir = NULL, .role = role, .err = err };
    if (role != MPIC_ROLE_ORCHESTRATOR && role != MPIC_ROLE_AGENT)
        return fail(&ld, NULL, "unknown role");

    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (jerr.line > 0)
            return fail(&ld, NULL, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return fail(&ld, NULL, "%s", jerr.text);
    }
    int rc = -1;
    ld.dir = config_dir(path);
    if (ld.dir == NULL) {
        fail(&ld, NULL, "cannot determine the directory of the file: %s", strerror(errno));
        goto out;
    }
    out->path = strdup(path);
    if (out->path == NULL) {
        fail_oom(&ld, NULL);
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

/* What check_geography and parse_primary added. */
static void geo_config_free(struct mpic_config *cfg)
{
    struct mpic_perspective *pp = cfg->orchestrator.primary;
    if (pp != NULL) {
        free(pp->code);
        free(pp->name);
        strv_free(&pp->too_close, false);
        free(pp->url);
        free(pp);
        cfg->orchestrator.primary = NULL;
    }
    strv_free(&cfg->computed_too_close, false);
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
    strv_free(&cfg->caa_issuer_domains, false);
    for (size_t i = 0; i < cfg->n_perspectives; i++) {
        struct mpic_perspective *p = &cfg->perspectives[i];
        free(p->code);
        free(p->name);
        strv_free(&p->too_close, false);
        free(p->url);
    }
    free(cfg->perspectives);
    geo_config_free(cfg);

    struct mpic_orchestrator_config *o = &cfg->orchestrator;
    free(o->listen_host);
    free(o->tls_cert);
    free(o->tls_key);
    strv_free(&o->api_keys, true);
    if (o->cohort_secret != NULL)
        OPENSSL_cleanse(o->cohort_secret, o->cohort_secret_len);
    free(o->cohort_secret);
    tls_files_free(&o->agent_tls);

    struct mpic_agent_config *a = &cfg->agent;
    free(a->perspective);
    free(a->listen_host);
    tls_files_free(&a->tls);
    strv_free(&a->dns.resolvers, false);

    memset(cfg, 0, sizeof *cfg);
}
