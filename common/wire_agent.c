/* The orchestrator<->agent protocol (MPIC_AGENT_PROTOCOL): the request the
 * orchestrator sends, read back by the agent; the agent's reply, read
 * strictly by the orchestrator and rebuilt in the contract's order. */
#include "wire.h"

#include <string.h>

#include "wire_internal.h"

json_t *mpic_agent_request_json(const struct mpic_request *r, const struct mpic_strv *caa_domains)
{
    json_t *caa = json_object();
    json_object_set_new(caa, "certificate_type", json_string(mpic_wire_cert_type_name(r->caa.cert_type)));
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
        mpic_wire_parse_target(root, out, issues);
        mpic_wire_parse_trace(root, out, issues);
        if (dcv)
            mpic_wire_parse_dcv(root, out, issues);
        else
            mpic_wire_parse_caa(cp, &out->caa, issues, false);
    }
    int rc = json_array_size(issues) == 0 ? 0 : issues_to_error(issues, err);
    json_decref(issues);
    json_decref(root);
    if (rc != 0)
        mpic_request_free(out);
    return rc;
}

json_t *mpic_agent_response_json(const char *code, json_t *check_response)
{
    json_t *j = json_object();
    json_object_set_new(j, "protocol", json_integer(MPIC_AGENT_PROTOCOL));
    json_object_set_new(j, "perspective_code", json_string(code));
    json_object_set_new(j, "check_response", check_response);
    return j;
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
