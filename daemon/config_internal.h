/* Shared by the files of the configuration loader: config.c (top level and
 * sections), config_values.c (typed readers, messages, syntax),
 * config_files.c (paths, PEM files, secrets), config_perspectives.c (the
 * perspective catalogue and its geography) and config_lab.c (the agent's lab
 * behaviours). Not part of the public interface:
 * only these files include it. Every helper that can fail fills ld->err with
 * "FILE: KEY.PATH: message" and returns -1. */
#ifndef MPIC_CONFIG_INTERNAL_H
#define MPIC_CONFIG_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define CODE_MAX 63

#define KEYPATH_LEN 192

struct loader {
    const char *file;       /* as given: messages name it this way */
    char *dir;              /* absolute directory of the file, for relative paths */
    enum mpic_config_role role;
    struct mpic_error *err;
};

/* config_values.c: messages and key paths */
int mpic_cfg_fail(struct loader *ld, const char *keypath, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mpic_cfg_fail_oom(struct loader *ld, const char *keypath);
const char *mpic_cfg_printable(const char *s, char *buf, size_t len, size_t max_chars);

#define SHOW_LEN 72
#define SHOW(s, buf) mpic_cfg_printable((s), (buf), sizeof(buf), 64)

void mpic_cfg_keypath_key(char *out, const char *parent, const char *key);
void mpic_cfg_keypath_index(char *out, const char *parent, size_t i);

/* config_values.c: typed access */
int mpic_cfg_check_keys(struct loader *ld, json_t *obj, const char *keypath, const char *const *allowed);
int mpic_cfg_want_object(struct loader *ld, json_t *v, const char *keypath);
int mpic_cfg_want_array(struct loader *ld, json_t *v, const char *keypath);
int mpic_cfg_want_string(struct loader *ld, json_t *v, const char *keypath, const char **out);
int mpic_cfg_want_int(struct loader *ld, json_t *v, const char *keypath, long long min, long long max,
                      long long *out);
int mpic_cfg_opt_unsigned(struct loader *ld, json_t *obj, const char *parent, const char *key, long long min,
                          long long max, unsigned *out);
int mpic_cfg_opt_bool(struct loader *ld, json_t *obj, const char *parent, const char *key, bool *out);
int mpic_cfg_dup_str(struct loader *ld, const char *keypath, const char *s, char **out);
int mpic_cfg_strv_alloc(struct loader *ld, const char *keypath, size_t n, struct mpic_strv *sv);

/* config_values.c: syntax of names and addresses */
bool mpic_cfg_code_ok(const char *s);
bool mpic_cfg_env_name_ok(const char *s);
bool mpic_cfg_dns_name_ok(const char *s);

enum mpic_cfg_hostport_kind {
    MPIC_CFG_HOSTPORT_LISTEN,    /* IP literal, port required */
    MPIC_CFG_HOSTPORT_RESOLVER,  /* IP literal, port optional (a bare IPv6 needs no brackets then) */
    MPIC_CFG_HOSTPORT_URL,       /* IP literal or host name, port required */
};

int mpic_cfg_split_hostport(const char *s, enum mpic_cfg_hostport_kind kind, char *host, size_t hostlen,
                            uint16_t *port);
int mpic_cfg_parse_listen(struct loader *ld, json_t *obj, const char *parent, const char *dflt,
                          char **host_out, uint16_t *port_out);
int mpic_cfg_parse_url(struct loader *ld, const char *kp, const char *s, char **out);

/* config_files.c */
int mpic_cfg_resolve_path(struct loader *ld, const char *keypath, const char *p, char **out);
char *mpic_cfg_config_dir(const char *file);
int mpic_cfg_check_ca_file(struct loader *ld, const char *keypath, const char *path);
int mpic_cfg_check_cert_and_key(struct loader *ld, const char *parent, const char *cert_path,
                                const char *key_path, const char *cn, const char *cn_key);
int mpic_cfg_load_secret(struct loader *ld, const char *keypath, const char *spec, bool resolve,
                         unsigned char **out, size_t *out_len);

/* config_perspectives.c */
int mpic_cfg_parse_perspectives(struct loader *ld, json_t *root, struct mpic_config *cfg);
int mpic_cfg_parse_primary(struct loader *ld, json_t *obj, struct mpic_config *cfg);
int mpic_cfg_check_geography(struct loader *ld, struct mpic_config *cfg);
void mpic_cfg_geo_config_free(struct mpic_config *cfg);

/* config_lab.c: agent.lab_behaviours, after agent.policy is known */
int mpic_cfg_parse_lab_behaviours(struct loader *ld, json_t *arr, struct mpic_agent_config *a);

#endif
