/* Open MPIC 3.9.0 wire model: the JSON helpers every part of it shares.
 * Key order matters to clients that compare bodies, so every object is
 * built key by key in the order of the contract (jansson keeps insertion
 * order); nothing from the client is echoed without being validated and
 * rebuilt first. The parts, each calling only downwards:
 *   wire.c           these helpers (calls no other wire file)
 *   wire_dcv.c       dcv_check_parameters and DCV details
 *   wire_request.c   the client's request
 *   wire_response.c  check responses, details and the response body
 *   wire_agent.c     the orchestrator<->agent protocol */
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>

#include "wire_internal.h"

const char *mpic_check_type_name(enum mpic_check_type t)
{
    return t == MPIC_CHECK_DCV ? "dcv" : "caa";
}

const char *mpic_wire_cert_type_name(enum mpic_cert_type t)
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

/* Present and not JSON null. */
json_t *mpic_wire_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
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

char *mpic_json_dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}
