/* Where the client sends its request and with which key. Each setting is
 * taken from the first of: the command line, the environment (MPIC_URL,
 * MPIC_API_KEY, as scripts/local-cluster.sh's cluster.env writes them), the
 * config file. The file holds `name = value` lines (url, key_file, cacert);
 * the key itself never sits in it, only the path of a file holding it. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct file_settings {
    char *url, *key_file, *cacert;
};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* A relative path in the config file is relative to the file's directory. */
static char *path_beside(const char *config, const char *value)
{
    const char *slash = strrchr(config, '/');
    if (value[0] == '/' || slash == NULL)
        return strdup(value);
    size_t dir = (size_t)(slash - config) + 1;
    char *p = malloc(dir + strlen(value) + 1);
    memcpy(p, config, dir);
    strcpy(p + dir, value);
    return p;
}

/* required: --config named it, so it must exist; the default path may not. */
static int read_config(const char *path, bool required, struct file_settings *fs, struct mpic_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (!required && errno == ENOENT)
            return 0;
        return mpic_error_set(err, "%s: %s", path, strerror(errno));
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            rc = mpic_error_set(err, "%s:%d: expected \"name = value\"", path, lineno);
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        char **slot = strcmp(name, "url") == 0 ? &fs->url
                    : strcmp(name, "key_file") == 0 ? &fs->key_file
                    : strcmp(name, "cacert") == 0 ? &fs->cacert : NULL;
        if (slot == NULL)
            rc = mpic_error_set(err, "%s:%d: unknown setting \"%s\" (url, key_file or cacert)", path, lineno, name);
        else if (*value == '\0')
            rc = mpic_error_set(err, "%s:%d: %s is empty", path, lineno, name);
        else {
            free(*slot);
            *slot = slot == &fs->url ? strdup(value) : path_beside(path, value);
        }
    }
    fclose(f);
    return rc;
}

static char *default_config_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    const char *base = xdg && *xdg ? xdg : home && *home ? home : NULL;
    if (base == NULL)
        return NULL;
    const char *rest = xdg && *xdg ? "/mpic/cli.conf" : "/.config/mpic/cli.conf";
    char *p = malloc(strlen(base) + strlen(rest) + 1);
    strcpy(p, base);
    strcat(p, rest);
    return p;
}

/* The first line of the file, without its line end. */
static char *read_key_file(const char *path, struct mpic_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        mpic_error_set(err, "key file %s: %s", path, strerror(errno));
        return NULL;
    }
    char line[1024];
    char *key = fgets(line, sizeof line, f) ? strdup(trim(line)) : NULL;
    fclose(f);
    if (key == NULL || *key == '\0') {
        free(key);
        mpic_error_set(err, "key file %s holds no key", path);
        return NULL;
    }
    return key;
}

/* The API path is appended unless the URL already names it. */
static char *endpoint_of(const char *url, struct mpic_error *err)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        mpic_error_set(err, "URL \"%s\" is not http:// or https://", url);
        return NULL;
    }
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    bool named = n >= 5 && strncmp(url + n - 5, "/mpic", 5) == 0;
    char *e = malloc(n + sizeof "/v1/mpic");
    memcpy(e, url, n);
    strcpy(e + n, named ? "" : "/v1/mpic");
    return e;
}

int mpic_cli_settings(const struct mpic_cli *c, struct mpic_cli_conn *out, struct mpic_error *err)
{
    memset(out, 0, sizeof *out);
    struct file_settings fs = { 0 };
    char *config = c->config ? strdup(c->config) : default_config_path();
    int rc = -1;
    if (c->key && c->key_file) {
        mpic_error_set(err, "give --key or --key-file, not both");
        goto done;
    }
    if (config && read_config(config, c->config != NULL, &fs, err) != 0)
        goto done;

    const char *env_url = getenv("MPIC_URL"), *env_key = getenv("MPIC_API_KEY");
    const char *url = c->url ? c->url : env_url && *env_url ? env_url : fs.url;
    if (url == NULL) {
        mpic_error_set(err, "no server URL: give --url, set MPIC_URL, or put url = ... in %s",
                       config ? config : "~/.config/mpic/cli.conf");
        goto done;
    }
    if ((out->endpoint = endpoint_of(url, err)) == NULL)
        goto done;

    if (c->key)
        out->key = strdup(c->key);
    else if (c->key_file)
        out->key = read_key_file(c->key_file, err);
    else if (env_key && *env_key)
        out->key = strdup(env_key);
    else if (fs.key_file)
        out->key = read_key_file(fs.key_file, err);
    else
        mpic_error_set(err, "no API key: give --key-file or --key, set MPIC_API_KEY, or put key_file = ... in %s",
                       config ? config : "~/.config/mpic/cli.conf");
    if (out->key == NULL)
        goto done;

    const char *cacert = c->cacert ? c->cacert : fs.cacert;
    out->cacert = cacert ? strdup(cacert) : NULL;
    rc = 0;
done:
    free(config);
    free(fs.url);
    free(fs.key_file);
    free(fs.cacert);
    if (rc != 0)
        mpic_cli_conn_free(out);
    return rc;
}

void mpic_cli_conn_free(struct mpic_cli_conn *c)
{
    free(c->endpoint);
    if (c->key != NULL)
        memset(c->key, 0, strlen(c->key));
    free(c->key);
    free(c->cacert);
    memset(c, 0, sizeof *c);
}
