/* Open MPIC 3.9.0 wire model. Key order matters to clients that compare
 * bodies, so every object is built key by key in the order of the contract
 * (jansson keeps insertion order); nothing from the client is echoed without
 * being validated and rebuilt first. */
#include "wire.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quorum.h"
#include "wire_internal.h"

#define MAX_TRACE_ID_LEN 512
#define MAX_URI_LEN 2048
#define MAX_CAA_DOMAINS 64

const char *mpic_check_type_name(enum mpic_check_type t)
{
    return t == MPIC_CHECK_DCV ? "dcv" : "caa";
}

static const char *cert_type_name(enum mpic_cert_type t)
{
    return t == MPIC_CERT_SMIME ? "s-mime" : "tls-server";
}

void mpic_issue_add(json_t *issues, const char *type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A message can quote the client's bytes (jansson's syntax errors do) or be cut inside a UTF-8
     * sequence; jansson refuses such a string and the issue would vanish, leaving a 400 that lists
     * none. Non-ASCII octets become '?' then. */
    json_t *m = json_string(msg);
    if (m == NULL) {
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        m = json_string(msg);
    }
    json_t *issue = json_object();
    json_object_set_new(issue, "issue_type", json_string(type));
    json_object_set_new(issue, "message", m);
    json_array_append_new(issues, issue);
}

json_t *mpic_validation_failed_body(json_t *issues)
{
    return json_pack("{s:s, s:o}", "error", "request-validation-failed", "validation_issues", issues);
}

/* Present and not JSON null. */
json_t *mpic_wire_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static void strv_free(struct mpic_strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

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

static void parse_caa_params(json_t *obj, struct mpic_caa_params *out, json_t *issues, bool from_client)
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
            mpic_issue_add(issues, "invalid-certificate-type",
                           "caa_check_parameters.certificate_type must be \"tls-server\" or \"s-mime\"");
    }
    json_t *doms = mpic_wire_field(obj, "caa_domains");
    if (doms != NULL && !json_is_array(doms)) {
        mpic_issue_add(issues, "invalid-caa-domains", "caa_check_parameters.caa_domains must be an array of domain names");
    } else if (doms != NULL && json_array_size(doms) > MAX_CAA_DOMAINS) {
        mpic_issue_add(issues, "invalid-caa-domains", "caa_check_parameters.caa_domains holds more than %d names",
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
                mpic_issue_add(issues, "invalid-caa-domains",
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
            mpic_issue_add(issues, "invalid-account-uri",
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
            mpic_issue_add(issues, "invalid-validation-method",
                           "caa_check_parameters.validation_method must name a validation method of this API"
                           " such as \"acme-http-01\"");
        else
            out->validation_method = strdup(label);
    }
    json_t *alf = mpic_wire_field(obj, "allow_lookup_failure");
    if (alf != NULL && !json_is_boolean(alf))
        mpic_issue_add(issues, "invalid-allow-lookup-failure", "caa_check_parameters.allow_lookup_failure must be a boolean");
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
        mpic_issue_add(issues, "invalid-perspective-count",
                       "perspective_count %lld is outside the range this server allows: 2..%u", count,
                       lim->n_perspectives);
    long long quorum = count_ok ? (long long)mpic_quorum_default((unsigned)count) : 0;
    if (counts_typed && r->has_quorum_count) {
        long long lo = count_ok ? (long long)mpic_quorum_min((unsigned)count) : 1;
        if (r->quorum_count < lo || r->quorum_count > count)
            mpic_issue_add(issues, "invalid-quorum-count",
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

static void parse_target(json_t *root, struct mpic_request *out, json_t *issues)
{
    json_t *t = mpic_wire_field(root, "domain_or_ip_target");
    struct mpic_error err;
    if (t == NULL) {
        mpic_issue_add(issues, "missing-field", "domain_or_ip_target is required");
    } else if (!json_is_string(t)) {
        mpic_issue_add(issues, "invalid-domain", "domain_or_ip_target must be a string");
    } else if (mpic_target_parse(json_string_value(t), &out->target_info, &err) != 0) {
        mpic_issue_add(issues, "invalid-domain", "domain_or_ip_target: %s", err.msg);
    } else {
        out->target = strdup(json_string_value(t));
    }
}

static void parse_trace(json_t *root, struct mpic_request *out, json_t *issues)
{
    json_t *t = mpic_wire_field(root, "trace_identifier");
    if (t == NULL)
        return;
    if (!json_is_string(t) || json_string_length(t) > MAX_TRACE_ID_LEN)
        mpic_issue_add(issues, "invalid-trace-identifier",
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
        mpic_issue_add(issues, "invalid-json", "request body is not valid JSON: %s (line %d, column %d)",
                       je.text, je.line, je.column);
        return -1;
    }
    if (!json_is_object(root)) {
        mpic_issue_add(issues, "invalid-json", "request body must be a JSON object");
        json_decref(root);
        return -1;
    }
    json_t *ct = mpic_wire_field(root, "check_type");
    const char *cts = json_string_value(ct);
    if (ct == NULL && mpic_wire_field(root, "dcv_check_parameters") != NULL) {
        /* The reference defaults to CAA; answering a CAA result to a client who
         * sent DCV parameters could pass a validation nobody performed. */
        mpic_issue_add(issues, "missing-field",
                       "check_type is required with dcv_check_parameters (\"dcv\"); without it the request"
                       " would be a CAA check");
    } else if (ct == NULL || (cts && strcmp(cts, "caa") == 0)) {
        out->check_type = MPIC_CHECK_CAA;
    } else if (cts && strcmp(cts, "dcv") == 0) {
        out->check_type = MPIC_CHECK_DCV;
    } else {
        mpic_issue_add(issues, "invalid-check-type", "check_type must be \"caa\" or \"dcv\" (lower case)");
    }
    parse_target(root, out, issues);

    bool counts_typed = true;
    json_t *op = mpic_wire_field(root, "orchestration_parameters");
    if (op != NULL && !json_is_object(op)) {
        mpic_issue_add(issues, "invalid-orchestration-parameters", "orchestration_parameters must be an object");
        counts_typed = false;
    } else if (op != NULL) {
        out->has_orchestration = true;
        counts_typed &= opt_int(op, "perspective_count", "invalid-perspective-count", &out->has_perspective_count,
                                &out->perspective_count, issues);
        counts_typed &= opt_int(op, "quorum_count", "invalid-quorum-count", &out->has_quorum_count,
                                &out->quorum_count, issues);
        opt_int(op, "max_attempts", "invalid-max-attempts", &out->has_max_attempts, &out->max_attempts, issues);
        if (opt_int(op, "cohort_for_single_attempt", "invalid-cohort-for-single-attempt",
                    &out->has_cohort_for_single_attempt, &out->cohort_for_single_attempt, issues) &&
            out->has_cohort_for_single_attempt && out->cohort_for_single_attempt < 1)
            mpic_issue_add(issues, "invalid-cohort-for-single-attempt",
                           "orchestration_parameters.cohort_for_single_attempt must be 1 or more (cohorts are"
                           " numbered from 1)");
    }
    resolve_orchestration(out, lim, counts_typed, orch, issues);
    parse_trace(root, out, issues);

    if (out->check_type == MPIC_CHECK_DCV)
        mpic_wire_parse_dcv(root, out, issues);
    json_t *cp = mpic_wire_field(root, "caa_check_parameters");
    if (cp != NULL && out->check_type == MPIC_CHECK_CAA) {
        if (!json_is_object(cp))
            mpic_issue_add(issues, "invalid-caa-check-parameters", "caa_check_parameters must be an object");
        else
            parse_caa_params(cp, &out->caa, issues, true);
    }
    json_decref(root);
    return json_array_size(issues) == before ? 0 : -1;
}

void mpic_request_free(struct mpic_request *r)
{
    free(r->target);
    free(r->trace_identifier);
    strv_free(&r->caa.domains);
    free(r->caa.account_uri);
    free(r->caa.validation_method);
    mpic_dcv_params_free(&r->dcv);
    memset(r, 0, sizeof *r);
}

json_t *mpic_wire_string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *mpic_wire_strv_json(const struct mpic_strv *s)
{
    if (s == NULL || s->v == NULL)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(a, json_string(s->v[i]));
    return a;
}

json_t *mpic_agent_request_json(const struct mpic_request *r, const struct mpic_strv *caa_domains)
{
    json_t *caa = json_object();
    json_object_set_new(caa, "certificate_type", json_string(cert_type_name(r->caa.cert_type)));
    json_object_set_new(caa, "caa_domains", mpic_wire_strv_json(caa_domains));
    json_object_set_new(caa, "account_uri", mpic_wire_string_or_null(r->caa.account_uri));
    json_object_set_new(caa, "validation_method", mpic_wire_string_or_null(r->caa.validation_method));
    json_object_set_new(caa, "allow_lookup_failure", json_boolean(r->caa.allow_lookup_failure));
    json_t *j = json_object();
    json_object_set_new(j, "protocol", json_integer(MPIC_AGENT_PROTOCOL));
    json_object_set_new(j, "check_type", json_string(mpic_check_type_name(r->check_type)));
    json_object_set_new(j, "domain_or_ip_target", json_string(r->target_info.name));
    json_object_set_new(j, "trace_identifier", mpic_wire_string_or_null(r->trace_identifier));
    if (r->check_type == MPIC_CHECK_DCV) {
        json_decref(caa);
        json_object_set_new(j, "dcv_check_parameters", mpic_wire_dcv_params_json(&r->dcv));
    } else {
        json_object_set_new(j, "caa_check_parameters", caa);
    }
    return j;
}

static int issues_to_error(json_t *issues, struct mpic_error *err)
{
    json_t *first = json_array_get(issues, 0);
    return mpic_error_set(err, "%s", json_string_value(json_object_get(first, "message")));
}

int mpic_agent_request_parse(const char *body, size_t len, struct mpic_request *out, struct mpic_error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return mpic_error_set(err, "request is not valid JSON: %s", je.text);
    json_t *issues = json_array();
    json_t *proto = json_object_get(root, "protocol");
    const char *ct = json_string_value(json_object_get(root, "check_type"));
    json_t *cp = json_object_get(root, "caa_check_parameters");
    bool dcv = ct != NULL && strcmp(ct, "dcv") == 0;
    if (!json_is_integer(proto) || json_integer_value(proto) != MPIC_AGENT_PROTOCOL)
        mpic_issue_add(issues, "protocol", "unsupported protocol version (this agent speaks %d)", MPIC_AGENT_PROTOCOL);
    else if (ct == NULL || (!dcv && strcmp(ct, "caa") != 0))
        mpic_issue_add(issues, "check_type", "check_type must be \"caa\" or \"dcv\"");
    else if (!dcv && !json_is_object(cp))
        mpic_issue_add(issues, "caa", "caa_check_parameters must be an object");
    if (json_array_size(issues) == 0) {
        out->check_type = dcv ? MPIC_CHECK_DCV : MPIC_CHECK_CAA;
        parse_target(root, out, issues);
        parse_trace(root, out, issues);
        if (dcv)
            mpic_wire_parse_dcv(root, out, issues);
        else
            parse_caa_params(cp, &out->caa, issues, false);
    }
    int rc = json_array_size(issues) == 0 ? 0 : issues_to_error(issues, err);
    json_decref(issues);
    json_decref(root);
    if (rc != 0)
        mpic_request_free(out);
    return rc;
}

json_t *mpic_error_list_json(const char *type, const char *message)
{
    return mpic_error_list_append(NULL, type, message);
}

json_t *mpic_caa_details_json(int record_present, const char *found_at, const struct mpic_strv *records)
{
    json_t *d = json_object();
    json_object_set_new(d, "caa_record_present", record_present < 0 ? json_null() : json_boolean(record_present));
    json_object_set_new(d, "found_at", mpic_wire_string_or_null(found_at));
    json_object_set_new(d, "records_seen", mpic_wire_strv_json(records));
    return d;
}

json_t *mpic_check_response_json(bool completed, bool passed, json_t *errors, int64_t timestamp_ns,
                                 enum mpic_check_type t, json_t *details)
{
    json_t *c = json_object();
    json_object_set_new(c, "check_completed", json_boolean(completed));
    json_object_set_new(c, "check_passed", json_boolean(passed));
    json_object_set_new(c, "errors", errors ? errors : json_null());
    json_object_set_new(c, "timestamp_ns", json_integer((json_int_t)timestamp_ns));
    json_object_set_new(c, "check_type", json_string(mpic_check_type_name(t)));
    json_object_set_new(c, "details", details ? details : json_object());
    return c;
}

json_t *mpic_perspective_json(const char *code, json_t *check_response)
{
    json_t *p = json_object();
    json_object_set_new(p, "perspective_code", json_string(code));
    json_object_set_new(p, "check_response", check_response);
    return p;
}

json_t *mpic_error_list_append(json_t *list, const char *type, const char *message)
{
    json_t *e = json_object();
    json_object_set_new(e, "error_type", json_string(type));
    json_object_set_new(e, "error_message", json_string(message));
    if (list == NULL)
        list = json_array();
    json_array_append_new(list, e);
    return list;
}

json_t *mpic_dcv_dns_details_json(enum mpic_dcv_method m, const struct mpic_strv *records_seen, int response_code,
                                  int ad_flag, const char *found_at, const struct mpic_strv *cname_chain)
{
    json_t *d = json_object();
    json_object_set_new(d, "validation_method", json_string(mpic_dcv_method_name(m)));
    json_object_set_new(d, "records_seen", mpic_wire_strv_json(records_seen));
    json_object_set_new(d, "response_code", response_code < 0 ? json_null() : json_integer(response_code));
    json_object_set_new(d, "ad_flag", ad_flag < 0 ? json_null() : json_boolean(ad_flag));
    json_object_set_new(d, "found_at", mpic_wire_string_or_null(found_at));
    json_object_set_new(d, "cname_chain", mpic_wire_strv_json(cname_chain));
    return d;
}

json_t *mpic_dcv_http_details_json(enum mpic_dcv_method m, json_t *response_history, const char *response_url,
                                   long response_status_code, const char *response_page)
{
    json_t *d = json_object();
    json_object_set_new(d, "validation_method", json_string(mpic_dcv_method_name(m)));
    json_object_set_new(d, "response_history", response_history ? response_history : json_null());
    json_object_set_new(d, "response_url", mpic_wire_string_or_null(response_url));
    json_object_set_new(d, "response_status_code",
                        response_status_code < 0 ? json_null() : json_integer(response_status_code));
    json_object_set_new(d, "response_page", mpic_wire_string_or_null(response_page));
    return d;
}

json_t *mpic_http_history_entry_json(long status_code, const char *url)
{
    json_t *e = json_object();
    json_object_set_new(e, "status_code", json_integer(status_code));
    json_object_set_new(e, "url", json_string(url));
    return e;
}

json_t *mpic_dcv_alpn_details_json(const char *common_name)
{
    json_t *d = json_object();
    json_object_set_new(d, "validation_method", json_string("acme-tls-alpn-01"));
    json_object_set_new(d, "common_name", mpic_wire_string_or_null(common_name));
    return d;
}

json_t *mpic_agent_response_json(const char *code, json_t *check_response)
{
    json_t *j = json_object();
    json_object_set_new(j, "protocol", json_integer(MPIC_AGENT_PROTOCOL));
    json_object_set_new(j, "perspective_code", json_string(code));
    json_object_set_new(j, "check_response", check_response);
    return j;
}

/* True when obj has exactly the n keys given. */
bool mpic_wire_exact_keys(json_t *obj, const char *const *keys, size_t n)
{
    if (!json_is_object(obj) || json_object_size(obj) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (json_object_get(obj, keys[i]) == NULL)
            return false;
    return true;
}

static json_t *parse_errors(json_t *errs, struct mpic_error *err)
{
    static const char *const keys[] = { "error_type", "error_message" };
    if (json_is_null(errs))
        return json_null();
    if (!json_is_array(errs) || json_array_size(errs) == 0 || json_array_size(errs) > 16) {
        mpic_error_set(err, "errors must be null or a non-empty array");
        return NULL;
    }
    json_t *out = json_array(), *e;
    size_t i;
    json_array_foreach(errs, i, e) {
        if (!mpic_wire_exact_keys(e, keys, 2) || !json_is_string(json_object_get(e, "error_type")) ||
            !json_is_string(json_object_get(e, "error_message"))) {
            json_decref(out);
            mpic_error_set(err, "errors[%zu] is not {error_type, error_message}", i);
            return NULL;
        }
        json_t *c = json_object();
        json_object_set(c, "error_type", json_object_get(e, "error_type"));
        json_object_set(c, "error_message", json_object_get(e, "error_message"));
        json_array_append_new(out, c);
    }
    return out;
}

static json_t *parse_caa_details(json_t *d, struct mpic_error *err)
{
    static const char *const keys[] = { "caa_record_present", "found_at", "records_seen" };
    if (!mpic_wire_exact_keys(d, keys, 3)) {
        mpic_error_set(err, "details must hold exactly caa_record_present, found_at, records_seen");
        return NULL;
    }
    json_t *present = json_object_get(d, "caa_record_present");
    json_t *found = json_object_get(d, "found_at");
    json_t *recs = json_object_get(d, "records_seen");
    if (!(json_is_null(present) || json_is_boolean(present)) || !(json_is_null(found) || json_is_string(found)) ||
        !(json_is_null(recs) || json_is_array(recs))) {
        mpic_error_set(err, "details has a member of the wrong type");
        return NULL;
    }
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r) {
        if (!json_is_string(r)) {
            mpic_error_set(err, "details.records_seen[%zu] is not a string", i);
            return NULL;
        }
    }
    json_t *out = json_object();
    json_object_set(out, "caa_record_present", present);
    json_object_set(out, "found_at", found);
    json_object_set_new(out, "records_seen", json_is_null(recs) ? json_null() : json_deep_copy(recs));
    return out;
}

json_t *mpic_agent_response_parse(const char *body, size_t len, const char *expected_code,
                                  const struct mpic_request *req, struct mpic_error *err)
{
    enum mpic_check_type t = req->check_type;
    static const char *const top_keys[] = { "protocol", "perspective_code", "check_response" };
    static const char *const cr_keys[] = { "check_completed", "check_passed", "errors",
                                           "timestamp_ns", "check_type", "details" };
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je), *out = NULL;
    if (root == NULL) {
        mpic_error_set(err, "agent reply is not JSON: %s", je.text);
        return NULL;
    }
    json_t *cr = json_object_get(root, "check_response");
    const char *code = json_string_value(json_object_get(root, "perspective_code"));
    json_t *completed = json_object_get(cr, "check_completed"), *passed = json_object_get(cr, "check_passed");
    json_t *ts = json_object_get(cr, "timestamp_ns");
    const char *ct = json_string_value(json_object_get(cr, "check_type"));
    if (!mpic_wire_exact_keys(root, top_keys, 3) || json_integer_value(json_object_get(root, "protocol")) != MPIC_AGENT_PROTOCOL) {
        mpic_error_set(err, "agent reply is not an mpic-agent protocol %d message", MPIC_AGENT_PROTOCOL);
    } else if (code == NULL || strcmp(code, expected_code) != 0) {
        mpic_error_set(err, "agent reply names perspective \"%s\", expected \"%s\"", code ? code : "(none)",
                       expected_code);
    } else if (!mpic_wire_exact_keys(cr, cr_keys, 6) || !json_is_boolean(completed) || !json_is_boolean(passed) ||
               !json_is_integer(ts) || ct == NULL || strcmp(ct, mpic_check_type_name(t)) != 0) {
        mpic_error_set(err, "agent reply has a malformed check_response");
    } else if (json_is_true(passed) && !json_is_true(completed)) {
        mpic_error_set(err, "agent reply claims a pass for an incomplete check");
    } else {
        json_t *errors = parse_errors(json_object_get(cr, "errors"), err);
        json_t *d = json_object_get(cr, "details");
        json_t *details = errors == NULL ? NULL
                          : t == MPIC_CHECK_DCV ? mpic_wire_parse_dcv_details(d, req->dcv.method, err)
                                                : parse_caa_details(d, err);
        if (details != NULL)
            out = mpic_check_response_json(json_is_true(completed), json_is_true(passed), errors,
                                           json_integer_value(ts), t, details);
        else
            json_decref(errors);
    }
    json_decref(root);
    return out;
}

static json_t *int_or_null(bool has, long long v)
{
    return has ? json_integer((json_int_t)v) : json_null();
}

json_t *mpic_response_json(const struct mpic_response_fields *f)
{
    const struct mpic_request *r = f->request;
    json_t *j = json_object();
    json_object_set_new(j, "mpic_completed", json_boolean(f->mpic_completed));
    json_t *req_orch = json_null();
    if (r->has_orchestration) {
        req_orch = json_object();
        json_object_set_new(req_orch, "perspective_count", int_or_null(r->has_perspective_count, r->perspective_count));
        json_object_set_new(req_orch, "quorum_count", int_or_null(r->has_quorum_count, r->quorum_count));
        json_object_set_new(req_orch, "max_attempts", int_or_null(r->has_max_attempts, r->max_attempts));
        /* The 1.3.0 reference echoes three keys; the spec 3.7 servers add this one. Written only when the
         * client sent it, so that a 1.3.0 client's echo keeps exactly its keys. */
        if (r->has_cohort_for_single_attempt)
            json_object_set_new(req_orch, "cohort_for_single_attempt", json_integer(r->cohort_for_single_attempt));
    }
    json_object_set_new(j, "request_orchestration_parameters", req_orch);
    json_t *act = json_object();
    json_object_set_new(act, "perspective_count", json_integer(f->actual.perspective_count));
    json_object_set_new(act, "quorum_count", json_integer(f->actual.quorum_count));
    json_object_set_new(act, "attempt_count", json_integer(f->actual.max_attempts));
    json_object_set_new(j, "actual_orchestration_parameters", act);
    json_object_set_new(j, "check_type", json_string(mpic_check_type_name(r->check_type)));
    json_object_set_new(j, "domain_or_ip_target", json_string(r->target));
    json_object_set_new(j, "is_valid", json_boolean(f->is_valid));
    json_object_set_new(j, "trace_identifier", mpic_wire_string_or_null(r->trace_identifier));
    json_object_set_new(j, "perspectives", f->perspectives);
    if (r->check_type == MPIC_CHECK_DCV) {
        json_object_set_new(j, "dcv_check_parameters", mpic_wire_dcv_params_json(&r->dcv));
        json_object_set_new(j, "previous_attempt_results", f->previous_attempts ? f->previous_attempts : json_null());
        return j;
    }
    json_t *caa = json_null();
    if (r->caa.present) {
        caa = json_object();
        json_object_set_new(caa, "certificate_type", json_string(cert_type_name(r->caa.cert_type)));
        json_object_set_new(caa, "caa_domains", mpic_wire_strv_json(&r->caa.domains));
    }
    json_object_set_new(j, "caa_check_parameters", caa);
    json_object_set_new(j, "previous_attempt_results", f->previous_attempts ? f->previous_attempts : json_null());
    return j;
}

char *mpic_json_dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}
