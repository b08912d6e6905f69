/* The files a configuration points at: paths relative to the config file,
 * PEM certificates and keys (parsed, and checked to belong together), and
 * secrets given as "env:NAME" or "file:PATH". Secret values never reach a
 * message: errors name the key, the variable or the file, and a malformed
 * secret reference is not echoed either (it may be a secret pasted in by
 * mistake). */
#include "config_internal.h"
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_FILE_MAX 65536

/* ---- files, secrets and PEM ------------------------------------------------- */

int mpic_cfg_resolve_path(struct loader *ld, const char *keypath, const char *p, char **out)
{
    if (p[0] == '\0')
        return mpic_cfg_fail(ld, keypath, "empty path");
    if (p[0] == '/')
        return mpic_cfg_dup_str(ld, keypath, p, out);
    size_t dl = strlen(ld->dir);
    bool slash = dl > 0 && ld->dir[dl - 1] == '/';
    size_t n = dl + (slash ? 0 : 1) + strlen(p) + 1;
    *out = malloc(n);
    if (*out == NULL)
        return mpic_cfg_fail_oom(ld, keypath);
    snprintf(*out, n, "%s%s%s", ld->dir, slash ? "" : "/", p);
    return 0;
}

char *mpic_cfg_config_dir(const char *file)
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
        return mpic_cfg_fail(ld, keypath, "cannot open %s: %s", mpic_cfg_printable(path, show, sizeof show, 128),
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
        return mpic_cfg_fail(ld, keypath, "%s holds no PEM certificate",
                             mpic_cfg_printable(path, show, sizeof show, 128));
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
        return mpic_cfg_fail(ld, keypath, "%s holds no unencrypted PEM private key",
                             mpic_cfg_printable(path, show, sizeof show, 128));
    }
    return 0;
}

int mpic_cfg_check_ca_file(struct loader *ld, const char *keypath, const char *path)
{
    X509 *x = NULL;
    if (read_cert(ld, keypath, path, &x) < 0)
        return -1;
    X509_free(x);
    return 0;
}

/* A certificate and its key must parse and belong together; with cn != NULL
 * the certificate's subject CN must also equal it. */
int mpic_cfg_check_cert_and_key(struct loader *ld, const char *parent, const char *cert_path,
                                const char *key_path, const char *cn, const char *cn_key)
{
    char kp_cert[KEYPATH_LEN], kp_key[KEYPATH_LEN];
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    int rc = -1;
    mpic_cfg_keypath_key(kp_cert, parent, "cert");
    mpic_cfg_keypath_key(kp_key, parent, "key");
    if (read_cert(ld, kp_cert, cert_path, &x) < 0)
        goto out;
    if (read_key(ld, kp_key, key_path, &k) < 0)
        goto out;
    if (X509_check_private_key(x, k) != 1) {
        ERR_clear_error();
        mpic_cfg_fail(ld, kp_key, "does not match the certificate in %s.cert", parent);
        goto out;
    }
    if (cn != NULL) {
        /* The same reading of the CN as the orchestrator's identity check (tls.c). */
        char show[SHOW_LEN], want[SHOW_LEN], got[256];
        if (mpic_tls_cert_cn(x, got, sizeof got) != 0) {
            ERR_clear_error();
            mpic_cfg_fail(ld, kp_cert, "certificate has no single readable subject CN; it must be %s \"%s\"", cn_key,
                          SHOW(cn, want));
            goto out;
        }
        if (strcmp(got, cn) != 0) {
            mpic_cfg_fail(ld, kp_cert, "certificate subject CN \"%s\" does not equal %s \"%s\"", SHOW(got, show),
                          cn_key, SHOW(cn, want));
            goto out;
        }
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
        return mpic_cfg_fail_oom(ld, keypath);
    }
    size_t n = fread(buf, 1, SECRET_FILE_MAX + 1, fp);
    int rd_err = ferror(fp) ? errno : 0;
    fclose(fp);
    if (rd_err != 0 || n > SECRET_FILE_MAX) {
        OPENSSL_cleanse(buf, SECRET_FILE_MAX + 1);
        free(buf);
        if (rd_err != 0)
            return mpic_cfg_fail(ld, keypath, "cannot read %s: %s", mpic_cfg_printable(path, show, sizeof show, 128),
                                 strerror(rd_err));
        return mpic_cfg_fail(ld, keypath, "%s is larger than %d bytes",
                             mpic_cfg_printable(path, show, sizeof show, 128), SECRET_FILE_MAX);
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

/* Resolves "env:NAME" or "file:PATH" into a NUL-terminated buffer. With
 * resolve false only the reference's syntax is checked (*out stays NULL):
 * a daemon must not need the other daemon's secrets to start. */
int mpic_cfg_load_secret(struct loader *ld, const char *keypath, const char *spec, bool resolve,
                         unsigned char **out, size_t *out_len)
{
    char show[SHOW_LEN];
    *out = NULL;
    *out_len = 0;
    if (strncmp(spec, "env:", 4) == 0) {
        const char *name = spec + 4;
        if (!mpic_cfg_env_name_ok(name))
            return mpic_cfg_fail(ld, keypath, "\"env:%s\": not a valid environment variable name", SHOW(name, show));
        if (!resolve)
            return 0;
        const char *val = getenv(name);
        if (val == NULL)
            return mpic_cfg_fail(ld, keypath, "environment variable %s is not set", name);
        if (val[0] == '\0')
            return mpic_cfg_fail(ld, keypath, "environment variable %s is empty", name);
        size_t n = strlen(val);
        *out = malloc(n + 1);
        if (*out == NULL)
            return mpic_cfg_fail_oom(ld, keypath);
        memcpy(*out, val, n + 1);
        *out_len = n;
        return 0;
    }
    if (strncmp(spec, "file:", 5) == 0) {
        char *path = NULL;
        if (mpic_cfg_resolve_path(ld, keypath, spec + 5, &path) < 0)
            return -1;
        if (!resolve) {
            free(path);
            return 0;
        }
        int rc = read_secret_file(ld, keypath, path, out, out_len);
        if (rc == 0 && *out_len == 0) {
            char pshow[SHOW_LEN * 2];
            mpic_cfg_fail(ld, keypath, "secret file %s is empty", mpic_cfg_printable(path, pshow, sizeof pshow, 128));
            free(*out);
            *out = NULL;
            rc = -1;
        }
        free(path);
        return rc;
    }
    return mpic_cfg_fail(ld, keypath,
                         "a secret must be \"env:NAME\" or \"file:PATH\" (secret values never appear in the file)");
}

