/* The orchestrator's counters and histograms, rendered in the Prometheus
 * text exposition format (version 0.0.4) for GET /metrics. Loop thread only.
 * Names and their OpenTelemetry counterparts: docs/operations.md. */
#ifndef MPIC_METRICS_H
#define MPIC_METRICS_H

#include <event2/buffer.h>
#include <stdbool.h>

struct mpic_metrics;

struct mpic_metrics *mpic_metrics_new(void);
void mpic_metrics_free(struct mpic_metrics *m);

/* One answered request. check_type "caa", "dcv" or "unknown" (refused
 * before its body); method the DCV method or "-"; result "valid",
 * "invalid" or the status code ("400", "403", "500"); seconds < 0 when the
 * request never reached a job. */
void mpic_metrics_request(struct mpic_metrics *m, const char *check_type, const char *method, const char *result,
                          double seconds);
/* One agent call: error_type NULL on a usable check response. */
void mpic_metrics_perspective(struct mpic_metrics *m, const char *perspective, double seconds,
                              const char *error_type);
void mpic_metrics_attempt(struct mpic_metrics *m);
void mpic_metrics_quorum(struct mpic_metrics *m, bool met);
/* From a request's hand-over to the audit writer to its records being written. */
void mpic_metrics_audit_write(struct mpic_metrics *m, double seconds);

/* Appends every family; the caller appends its gauges after. */
void mpic_metrics_render(const struct mpic_metrics *m, struct evbuffer *out);
/* "# HELP" and "# TYPE" lines and one unlabelled gauge sample. */
void mpic_metrics_gauge(struct evbuffer *out, const char *name, const char *help, double value);

#endif
