/* What the wire files share and clients of wire.h do not see. Grouped by
 * the file that defines them; a file calls only the groups above its own
 * (wire.c calls none), so there is no cycle between them. */
#ifndef MPIC_WIRE_INTERNAL_H
#define MPIC_WIRE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "wire.h"

/* wire.c: JSON helpers. */
json_t *mpic_wire_field(json_t *obj, const char *key);            /* member, NULL when absent or null */
json_t *mpic_wire_string_or_null(const char *s);
json_t *mpic_wire_strv_json(const struct mpic_strv *s);            /* NULL list -> null */
bool mpic_wire_exact_keys(json_t *obj, const char *const *keys, size_t n);
const char *mpic_wire_cert_type_name(enum mpic_cert_type t);       /* "tls-server" | "s-mime" */

/* wire_dcv.c: dcv_check_parameters of a request (client or agent), every problem an issue. */
void mpic_wire_parse_dcv(json_t *root, struct mpic_request *r, json_t *issues);
/* The parameters with defaults filled in, as echoed in the response and sent to agents. */
json_t *mpic_wire_dcv_params_json(const struct mpic_dcv_params *p);
/* Strict reading of an agent's DCV details for method m; rebuilt in canonical order. */
json_t *mpic_wire_parse_dcv_details(json_t *d, enum mpic_dcv_method m, struct mpic_error *err);

/* wire_request.c: members of a request that the agent protocol carries too. from_client:
 * validation_method is named as the API names it (else as its RFC 8657 label). */
void mpic_wire_parse_caa(json_t *obj, struct mpic_caa_params *out, json_t *issues, bool from_client);
void mpic_wire_parse_target(json_t *root, struct mpic_request *out, json_t *issues);
void mpic_wire_parse_trace(json_t *root, struct mpic_request *out, json_t *issues);

#endif
