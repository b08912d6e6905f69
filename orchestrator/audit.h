/* The audit trail of BR §5.4.1 (2) items 7-8: one JSON line per perspective
 * attempt and one per request, appended to a file (docs/audit-log.md).
 * Never holds API keys or the cohort secret: records are built only from
 * the request's public fields and the results. */
#ifndef MPIC_AUDIT_H
#define MPIC_AUDIT_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

struct mpic_audit;

struct mpic_audit *mpic_audit_open(const char *path, bool fsync_per_request, struct mpic_error *err);
void mpic_audit_close(struct mpic_audit *a);

/* Appends record (with "time" set first) as one line; NULL a is a no-op.
 * Failures are logged, never fatal to the request. */
void mpic_audit_write(struct mpic_audit *a, const char *event, json_t *record);
/* Ends a request: fsync when configured. */
void mpic_audit_commit(struct mpic_audit *a);

#endif
