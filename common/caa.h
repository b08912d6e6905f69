/* CAA evaluation (RFC 8659, RFC 8657, RFC 9495): pure functions, no DNS I/O.
 * The agent fetches RRsets level by level; this file decides which level is
 * relevant and whether its records permit issuance for our issuer domains. */
#ifndef MPIC_CAA_H
#define MPIC_CAA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPIC_CAA_FLAG_CRITICAL 0x80

/* One CAA record as it came off the wire. tag and value are not NUL-terminated
 * and may hold any octets; the record does not own them. */
struct mpic_caa_record {
    uint8_t flags;
    const uint8_t *tag;
    size_t tag_len;
    const uint8_t *value;
    size_t value_len;
};

enum mpic_cert_type { MPIC_CERT_TLS_SERVER, MPIC_CERT_SMIME };

/* What is being asked. issuer_domains are lower-case A-labels without a
 * trailing dot; account_uri and validation_method (RFC 8657 labels such as
 * "http-01", "dns-01") may be NULL when the caller does not know them, and a
 * record restricted by accounturi / validationmethods is then unsatisfiable. */
struct mpic_caa_query {
    bool wildcard;
    enum mpic_cert_type cert_type;
    const char *const *issuer_domains;
    size_t n_issuer_domains;
    const char *account_uri;
    const char *validation_method;
    /* Boulder's alias: flag 0x01 on an unknown tag counts as critical too. */
    bool flag1_is_critical;
};

/* The RFC 8657 validationmethods label of one of the API's DCV method names
 * ("acme-http-01" -> "http-01"; BR methods without an ACME label get the
 * "ca-tbr-N" label proposed by SC-098), or NULL for an unknown name. */
const char *mpic_caa_method_label(const char *method);

/* Why the decision came out as it did (for error messages and logs). */
enum mpic_caa_reason {
    MPIC_CAA_NO_RECORDS,            /* empty relevant RRset: permitted */
    MPIC_CAA_NO_RESTRICTING_TAGS,   /* only iodef / contact / unknown non-critical tags: permitted */
    MPIC_CAA_ISSUER_MATCHED,        /* a property names one of our issuer domains: permitted */
    MPIC_CAA_CRITICAL_UNKNOWN_TAG,  /* denied */
    MPIC_CAA_NO_MATCHING_ISSUER,    /* denied: restricting properties, none for us */
    MPIC_CAA_NOT_APPLICABLE,        /* IP target: CAA does not apply, permitted */
};

struct mpic_caa_decision {
    bool permitted;
    enum mpic_caa_reason reason;
};

/* Decides on the relevant RRset (already selected by mpic_caa_select_level). */
struct mpic_caa_decision mpic_caa_evaluate(const struct mpic_caa_record *records, size_t n,
                                           const struct mpic_caa_query *q);

const char *mpic_caa_reason_text(enum mpic_caa_reason reason);

/* A parsed issue / issuewild / issuemail value (RFC 8659 §4.2 ABNF).
 * issuer is empty for "issue \";\"" and for any malformed value (which is then
 * treated as an empty issuer). Parameters are kept in order, duplicates too. */
#define MPIC_CAA_MAX_PARAMS 16
struct mpic_caa_param {
    char tag[64];
    char value[512];
};
struct mpic_caa_issue_value {
    bool malformed;
    char issuer[256];          /* lower-cased; "" when empty or malformed */
    size_t n_params;
    struct mpic_caa_param params[MPIC_CAA_MAX_PARAMS];
};
void mpic_caa_parse_issue_value(const uint8_t *value, size_t len, struct mpic_caa_issue_value *out);

/* Presentation form used in records_seen, e.g. `0 issue "ca.example"`;
 * '"' and '\' are backslash-escaped, other octets outside 0x20-0x7e as \DDD.
 * Returns a malloc'd string (NULL on allocation failure). */
char *mpic_caa_record_format(const struct mpic_caa_record *r);

/* The names to query for target (which may start with "*."; no trailing dot):
 * the target with "*." stripped, then each parent, up to and including the
 * TLD (never the root). Returns the count, fills names[] with malloc'd strings,
 * or -1 if target is empty or has more than max labels. */
int mpic_caa_climb_names(const char *target, char **names, size_t max);
/* Enough for any name: a DNS name has at most 127 labels. */
#define MPIC_CAA_MAX_LEVELS 128

/* What a lookup at one level of the climb produced. */
enum mpic_caa_level { MPIC_CAA_LEVEL_EMPTY, MPIC_CAA_LEVEL_RECORDS, MPIC_CAA_LEVEL_ERROR, MPIC_CAA_LEVEL_PENDING };

/* Given the status of each level (index 0 = the target), returns the index of
 * the relevant level (the first with records), MPIC_CAA_SELECT_EMPTY when all
 * are empty, MPIC_CAA_SELECT_ERROR when a level before the first non-empty one
 * failed (fail closed: the failed lookup may have hidden records), or
 * MPIC_CAA_SELECT_PENDING when the outcome still depends on a pending level. */
#define MPIC_CAA_SELECT_EMPTY (-1)
#define MPIC_CAA_SELECT_ERROR (-2)
#define MPIC_CAA_SELECT_PENDING (-3)
int mpic_caa_select_level(const enum mpic_caa_level *levels, size_t n);

#endif
