/* The Open MPIC 3.9.0 wire model (open-mpic-api.md) and the internal
 * orchestrator<->agent messages, on jansson. Parsing validates and collects
 * every problem; writers emit the exact key set and key order. The public
 * face of wire*.c (wire.c lists which file holds what); the error and issue
 * types are in wire_errors.h. */
#ifndef MPIC_WIRE_H
#define MPIC_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "caa.h"
#include "dcv.h"
#include "error.h"
#include "strv.h"
#include "target.h"
#include "wire_errors.h"

#define MPIC_AGENT_PROTOCOL 1

enum mpic_check_type { MPIC_CHECK_CAA, MPIC_CHECK_DCV };
const char *mpic_check_type_name(enum mpic_check_type t);

struct mpic_caa_params {
    bool present;                 /* caa_check_parameters was an object */
    enum mpic_cert_type cert_type;
    struct mpic_strv domains;     /* v == NULL: not given (use the configured default) */
    char *account_uri;            /* extension (RFC 8657); NULL when absent */
    char *validation_method;      /* extension: RFC 8657 label ("http-01") of the method in use; NULL when absent */
    bool allow_lookup_failure;    /* extension: BR 3.2.2.8 carve-out requested (agent decides if it applies) */
};

struct mpic_request {
    enum mpic_check_type check_type;
    char *target;                 /* as sent */
    struct mpic_target target_info;
    bool has_orchestration;       /* orchestration_parameters was an object */
    /* orchestration_parameters exactly as sent (echoed back), each only when has_* */
    bool has_perspective_count, has_quorum_count, has_max_attempts, has_cohort_for_single_attempt;
    long long perspective_count, quorum_count, max_attempts, cohort_for_single_attempt;
    char *trace_identifier;       /* NULL when absent or null */
    struct mpic_caa_params caa;
    bool has_dcv;                 /* dcv_check_parameters parsed (check_type "dcv") */
    struct mpic_dcv_params dcv;
};

/* Server-side limits a request is validated against. */
struct mpic_request_limits {
    unsigned n_perspectives;
    unsigned default_perspective_count;
    unsigned max_attempts_cap;
};

/* The orchestration a valid request resolves to. */
struct mpic_orchestration {
    unsigned perspective_count, quorum_count, max_attempts;
    unsigned cohort;   /* spec 3.7 cohort_for_single_attempt (1-based); 0 = cycle through the cohorts */
};

/* Parses a client request body. On success returns 0 with *out filled and
 * *orch resolved (defaults applied, attempts capped). On failure returns -1
 * and appends one {"issue_type","message"} object per problem to issues. */
int mpic_request_parse(const char *body, size_t len, const struct mpic_request_limits *lim,
                       struct mpic_request *out, struct mpic_orchestration *orch, json_t *issues);
void mpic_request_free(struct mpic_request *r);

void mpic_issue_add(json_t *issues, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* {"error":"request-validation-failed","validation_issues":issues}; steals issues. */
json_t *mpic_validation_failed_body(json_t *issues);

/* Orchestrator -> agent: {"protocol":1,"check_type","domain_or_ip_target",
 * "trace_identifier","caa_check_parameters":{...}} with caa_domains resolved,
 * or "dcv_check_parameters":{...} with defaults filled in. */
json_t *mpic_agent_request_json(const struct mpic_request *r, const struct mpic_strv *caa_domains);
int mpic_agent_request_parse(const char *body, size_t len, struct mpic_request *out, struct mpic_error *err);

/* Pieces of a check_response, in the exact order of the contract. */
json_t *mpic_error_list_json(const char *type, const char *message);     /* [{"error_type","error_message"}] */
json_t *mpic_caa_details_json(int record_present, const char *found_at, const struct mpic_strv *records);
json_t *mpic_check_response_json(bool completed, bool passed, json_t *errors, int64_t timestamp_ns,
                                 enum mpic_check_type t, json_t *details);   /* steals errors, details */
json_t *mpic_perspective_json(const char *code, json_t *check_response);    /* steals check_response */
/* Appends one {"error_type","error_message"}; list may be NULL (a new list is returned). */
json_t *mpic_error_list_append(json_t *list, const char *type, const char *message);

/* How method m takes the dcv_check_parameters key (contract spelling, e.g.
 * "key_authorization_hash"): 0 not at all, 1 optional, 2 required. */
int mpic_dcv_param_use(enum mpic_dcv_method m, const char *key);

/* DCV details, key order as in the contract. Negative response_code, ad_flag
 * or response_status_code, and NULL strings / lists, are written as null. */
json_t *mpic_dcv_dns_details_json(enum mpic_dcv_method m, const struct mpic_strv *records_seen, int response_code,
                                  int ad_flag, const char *found_at, const struct mpic_strv *cname_chain);
json_t *mpic_dcv_http_details_json(enum mpic_dcv_method m, json_t *response_history /* stolen; NULL -> null */,
                                   const char *response_url, long response_status_code, const char *response_page);
json_t *mpic_http_history_entry_json(long status_code, const char *url);
json_t *mpic_dcv_alpn_details_json(const char *common_name);
/* The details of a check of type t (and, with dcv, method m) that observed
 * nothing: every member null, in the shape of that check, as the reference
 * writes them for a lost perspective or a check that ran out of time. */
json_t *mpic_empty_details_json(enum mpic_check_type t, enum mpic_dcv_method m);

/* Agent -> orchestrator: {"protocol":1,"perspective_code","check_response"}. */
json_t *mpic_agent_response_json(const char *code, json_t *check_response); /* steals */
/* Validates an agent's reply strictly (protocol, code, every key and type) and
 * returns a freshly built check_response in canonical order, or NULL with err. */
json_t *mpic_agent_response_parse(const char *body, size_t len, const char *expected_code,
                                  const struct mpic_request *req, struct mpic_error *err);

struct mpic_response_fields {
    bool mpic_completed;
    const struct mpic_request *request;
    struct mpic_orchestration actual;   /* perspective_count, quorum_count; max_attempts = attempts made */
    bool is_valid;
    json_t *perspectives;               /* stolen */
    json_t *previous_attempts;          /* stolen; NULL -> null */
};
json_t *mpic_response_json(const struct mpic_response_fields *f);

/* Serialises compactly, in insertion order. malloc'd. */
char *mpic_json_dump(const json_t *j);

#endif
