/* Response writers: the pieces of a check_response (errors, the details of
 * each check kind), the perspective entry, the client's response body and
 * the 400 body. */
#include "wire.h"

#include "wire_internal.h"

json_t *mpic_validation_failed_body(json_t *issues)
{
    return json_pack("{s:s, s:o}", "error", MPIC_REQUEST_VALIDATION_FAILED, "validation_issues", issues);
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

json_t *mpic_empty_details_json(enum mpic_check_type t, enum mpic_dcv_method m)
{
    if (t != MPIC_CHECK_DCV)
        return mpic_caa_details_json(-1, NULL, NULL);
    switch (mpic_dcv_method_kind(m)) {
    case MPIC_DCV_KIND_HTTP:
        return mpic_dcv_http_details_json(m, NULL, NULL, -1, NULL);
    case MPIC_DCV_KIND_TLS_ALPN:
        return mpic_dcv_alpn_details_json(NULL);
    default:
        return mpic_dcv_dns_details_json(m, NULL, -1, -1, NULL, NULL);
    }
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
        json_object_set_new(caa, "certificate_type", json_string(mpic_wire_cert_type_name(r->caa.cert_type)));
        json_object_set_new(caa, "caa_domains", mpic_wire_strv_json(&r->caa.domains));
    }
    json_object_set_new(j, "caa_check_parameters", caa);
    json_object_set_new(j, "previous_attempt_results", f->previous_attempts ? f->previous_attempts : json_null());
    return j;
}
