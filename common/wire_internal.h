/* Helpers shared by wire.c (CAA and the envelope) and wire_dcv.c (DCV). */
#ifndef MPIC_WIRE_INTERNAL_H
#define MPIC_WIRE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "wire.h"

json_t *mpic_wire_field(json_t *obj, const char *key);            /* member, NULL when absent or null */
json_t *mpic_wire_string_or_null(const char *s);
json_t *mpic_wire_strv_json(const struct mpic_strv *s);            /* NULL list -> null */
bool mpic_wire_exact_keys(json_t *obj, const char *const *keys, size_t n);

/* dcv_check_parameters of a request (client or agent), every problem an issue. */
void mpic_wire_parse_dcv(json_t *root, struct mpic_request *r, json_t *issues);
/* The parameters with defaults filled in, as echoed in the response and sent to agents. */
json_t *mpic_wire_dcv_params_json(const struct mpic_dcv_params *p);
/* Strict reading of an agent's DCV details for method m; rebuilt in canonical order. */
json_t *mpic_wire_parse_dcv_details(json_t *d, enum mpic_dcv_method m, struct mpic_error *err);

#endif
