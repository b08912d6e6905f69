/* The client's request (POST /mpic): every member validated, every problem
 * an issue, and the orchestration parameters resolved against the
 * server's limits. The agent protocol reads its requests with the same
 * member parsers (wire_agent.c). */
#include "wire.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"
#include "wire_internal.h"

#define MAX_TRACE_ID_LEN 512
#define MAX_URI_LEN 2048
#define MAX_CAA_DOMAINS 64

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static bool method_label_valid(const char *s)
{
    if (*s == '\0' || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'))
            return false;
    return true;
}

void mpic_wire_parse_caa(json_t *obj, struct mpic_caa_params *out, json_t *issues, bool from_client)
{
    out->present = true;
    out->cert_type = MPIC_CERT_TLS_SERVER;
    json_t *ct = mpic_wire_field(obj, "certificate_type");
    if (ct != NULL) {
        const char *s = json_string_value(ct);
        if (s != NULL && strcmp(s, "tls-server") == 0)
            out->cert_type = MPIC_CERT_TLS_SERVER;
        else if (s != NULL && strcmp(s, "s-mime") == 0)
            out->cert_type = MPIC_CERT_SMIME;
        else
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_CERTIFICATE_TYPE,
                           "caa_check_parameters.certificate_type must be \"tls-server\" or \"s-mime\"");
    }
    json_t *doms = mpic_wire_field(obj, "caa_domains");
    if (doms != NULL && !json_is_array(doms)) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_CAA_DOMAINS, "caa_check_parameters.caa_domains must be an array of domain names");
    } else if (doms != NULL && json_array_size(doms) > MAX_CAA_DOMAINS) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_CAA_DOMAINS, "caa_check_parameters.caa_domains holds more than %d names",
                       MAX_CAA_DOMAINS);
    } else if (doms != NULL && json_array_size(doms) > 0) {
        /* An empty list falls back to the configured issuers, as the reference does. */
        size_t i, n = json_array_size(doms);
        json_t *d;
        out->domains.v = calloc(n, sizeof(char *));
        json_array_foreach(doms, i, d) {
            const char *s = json_string_value(d);
            char *l = s ? lower_dup(s) : NULL;
            if (l == NULL || !mpic_issuer_domain_valid(l)) {
                mpic_issue_add(issues, MPIC_ISSUE_INVALID_CAA_DOMAINS,
                               "caa_check_parameters.caa_domains[%zu] is not a domain name"
                               " (lower-case A-labels, no trailing dot)", i);
                free(l);
                continue;
            }
            out->domains.v[out->domains.n++] = l;
        }
    }
    json_t *acct = mpic_wire_field(obj, "account_uri");
    if (acct != NULL) {
        const char *s = json_string_value(acct);
        if (s == NULL || *s == '\0' || strlen(s) > MAX_URI_LEN)
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_ACCOUNT_URI,
                           "caa_check_parameters.account_uri must be a non-empty string of at most %d characters",
                           MAX_URI_LEN);
        else
            out->account_uri = strdup(s);
    }
    json_t *vm = mpic_wire_field(obj, "validation_method");
    if (vm != NULL) {
        /* Clients name the DCV method as the API does; agents receive the RFC 8657 label. */
        const char *s = json_string_value(vm);
        const char *label = s == NULL ? NULL : from_client ? mpic_caa_method_label(s) : method_label_valid(s) ? s : NULL;
        if (label == NULL)
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_VALIDATION_METHOD,
                           "caa_check_parameters.validation_method must name a validation method of this API"
                           " such as \"acme-http-01\"");
        else
            out->validation_method = strdup(label);
    }
    json_t *alf = mpic_wire_field(obj, "allow_lookup_failure");
    if (alf != NULL && !json_is_boolean(alf))
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_ALLOW_LOOKUP_FAILURE, "caa_check_parameters.allow_lookup_failure must be a boolean");
    else
        out->allow_lookup_failure = json_is_true(alf);
}

/* Reads an optional integer member of orchestration_parameters. Returns
 * false when present but not an integer (the issue is recorded). */
static bool opt_int(json_t *obj, const char *key, const char *issue, bool *has, long long *out, json_t *issues)
{
    json_t *v = mpic_wire_field(obj, key);
    *has = false;
    *out = 0;
    if (v == NULL)
        return true;
    if (!json_is_integer(v)) {
        mpic_issue_add(issues, issue, "orchestration_parameters.%s must be an integer", key);
        return false;
    }
    *has = true;
    *out = json_integer_value(v);
    return true;
}

static void resolve_orchestration(const struct mpic_request *r, const struct mpic_request_limits *lim,
                                  bool counts_typed, struct mpic_orchestration *orch, json_t *issues)
{
    long long count = r->has_perspective_count ? r->perspective_count : (long long)lim->default_perspective_count;
    bool count_ok = count >= 2 && count <= (long long)lim->n_perspectives;
    if (counts_typed && !count_ok)
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_PERSPECTIVE_COUNT,
                       "perspective_count %lld is outside the range this server allows: 2..%u", count,
                       lim->n_perspectives);
    long long quorum = count_ok ? (long long)mpic_quorum_default((unsigned)count) : 0;
    if (counts_typed && r->has_quorum_count) {
        long long lo = count_ok ? (long long)mpic_quorum_default((unsigned)count) : 1;
        if (r->quorum_count < lo || r->quorum_count > count)
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_QUORUM_COUNT,
                           "quorum_count %lld is outside the range %lld..%lld for perspective_count %lld",
                           r->quorum_count, lo, count, count);
        quorum = r->quorum_count;
    }
    long long attempts = !r->has_max_attempts || r->max_attempts <= 0 ? 1 : r->max_attempts;
    if (attempts > (long long)lim->max_attempts_cap)
        attempts = (long long)lim->max_attempts_cap;
    /* Naming a cohort asks for exactly that one attempt, whatever max_attempts says (spec 3.7). Whether
     * the cohort exists is known only once the cohorts are built for this target and count. */
    bool cohort = r->has_cohort_for_single_attempt && r->cohort_for_single_attempt >= 1;
    orch->cohort = !cohort ? 0 : r->cohort_for_single_attempt > UINT_MAX ? UINT_MAX
                                                                      : (unsigned)r->cohort_for_single_attempt;
    if (cohort)
        attempts = 1;
    orch->perspective_count = count_ok ? (unsigned)count : 0;
    orch->quorum_count = quorum > 0 && quorum <= count ? (unsigned)quorum : 0;
    orch->max_attempts = (unsigned)attempts;
}

void mpic_wire_parse_target(json_t *root, struct mpic_request *out, json_t *issues)
{
    json_t *t = mpic_wire_field(root, "domain_or_ip_target");
    struct mpic_error err;
    if (t == NULL) {
        mpic_issue_add(issues, MPIC_ISSUE_MISSING_FIELD, "domain_or_ip_target is required");
    } else if (!json_is_string(t)) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DOMAIN, "domain_or_ip_target must be a string");
    } else if (mpic_target_parse(json_string_value(t), &out->target_info, &err) != 0) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DOMAIN, "domain_or_ip_target: %s", err.msg);
    } else {
        out->target = strdup(json_string_value(t));
    }
}

void mpic_wire_parse_trace(json_t *root, struct mpic_request *out, json_t *issues)
{
    json_t *t = mpic_wire_field(root, "trace_identifier");
    if (t == NULL)
        return;
    if (!json_is_string(t) || json_string_length(t) > MAX_TRACE_ID_LEN)
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_TRACE_IDENTIFIER,
                       "trace_identifier must be a string of at most %d characters", MAX_TRACE_ID_LEN);
    else
        out->trace_identifier = strdup(json_string_value(t));
}

int mpic_request_parse(const char *body, size_t len, const struct mpic_request_limits *lim,
                       struct mpic_request *out, struct mpic_orchestration *orch, json_t *issues)
{
    memset(out, 0, sizeof *out);
    memset(orch, 0, sizeof *orch);
    size_t before = json_array_size(issues);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_JSON, "request body is not valid JSON: %s (line %d, column %d)",
                       je.text, je.line, je.column);
        return -1;
    }
    if (!json_is_object(root)) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_JSON, "request body must be a JSON object");
        json_decref(root);
        return -1;
    }
    json_t *ct = mpic_wire_field(root, "check_type");
    const char *cts = json_string_value(ct);
    if (ct == NULL && mpic_wire_field(root, "dcv_check_parameters") != NULL) {
        /* The reference defaults to CAA; answering a CAA result to a client who
         * sent DCV parameters could pass a validation nobody performed. */
        mpic_issue_add(issues, MPIC_ISSUE_MISSING_FIELD,
                       "check_type is required with dcv_check_parameters (\"dcv\"); without it the request"
                       " would be a CAA check");
    } else if (ct == NULL || (cts && strcmp(cts, "caa") == 0)) {
        out->check_type = MPIC_CHECK_CAA;
    } else if (cts && strcmp(cts, "dcv") == 0) {
        out->check_type = MPIC_CHECK_DCV;
    } else {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_CHECK_TYPE, "check_type must be \"caa\" or \"dcv\" (lower case)");
    }
    mpic_wire_parse_target(root, out, issues);

    bool counts_typed = true;
    json_t *op = mpic_wire_field(root, "orchestration_parameters");
    if (op != NULL && !json_is_object(op)) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_ORCHESTRATION_PARAMETERS, "orchestration_parameters must be an object");
        counts_typed = false;
    } else if (op != NULL) {
        out->has_orchestration = true;
        counts_typed &= opt_int(op, "perspective_count", MPIC_ISSUE_INVALID_PERSPECTIVE_COUNT, &out->has_perspective_count,
                                &out->perspective_count, issues);
        counts_typed &= opt_int(op, "quorum_count", MPIC_ISSUE_INVALID_QUORUM_COUNT, &out->has_quorum_count,
                                &out->quorum_count, issues);
        opt_int(op, "max_attempts", MPIC_ISSUE_INVALID_MAX_ATTEMPTS, &out->has_max_attempts, &out->max_attempts, issues);
        if (opt_int(op, "cohort_for_single_attempt", MPIC_ISSUE_INVALID_COHORT,
                    &out->has_cohort_for_single_attempt, &out->cohort_for_single_attempt, issues) &&
            out->has_cohort_for_single_attempt && out->cohort_for_single_attempt < 1)
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_COHORT,
                           "orchestration_parameters.cohort_for_single_attempt must be 1 or more (cohorts are"
                           " numbered from 1)");
    }
    resolve_orchestration(out, lim, counts_typed, orch, issues);
    mpic_wire_parse_trace(root, out, issues);

    if (out->check_type == MPIC_CHECK_DCV)
        mpic_wire_parse_dcv(root, out, issues);
    json_t *cp = mpic_wire_field(root, "caa_check_parameters");
    if (cp != NULL && out->check_type == MPIC_CHECK_CAA) {
        if (!json_is_object(cp))
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_CAA_CHECK_PARAMETERS, "caa_check_parameters must be an object");
        else
            mpic_wire_parse_caa(cp, &out->caa, issues, true);
    }
    json_decref(root);
    return json_array_size(issues) == before ? 0 : -1;
}

void mpic_request_free(struct mpic_request *r)
{
    free(r->target);
    free(r->trace_identifier);
    mpic_strv_free(&r->caa.domains);
    free(r->caa.account_uri);
    free(r->caa.validation_method);
    mpic_dcv_params_free(&r->dcv);
    memset(r, 0, sizeof *r);
}
