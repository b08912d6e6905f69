/* The audit trail of BR §5.4.1 (2) items 7-8: one JSON line per perspective
 * attempt and one per request, appended to a file (docs/audit-log.md).
 * Never holds API keys or the cohort secret: records are built only from
 * the request's public fields and the results.
 *
 * A request's lines are serialised on the loop thread as they happen and
 * handed over together; a writer thread appends and syncs them, so the
 * event loop never waits for the disk. */
#ifndef MPIC_AUDIT_H
#define MPIC_AUDIT_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdbool.h>

#include "error.h"

struct mpic_audit;

/* sync: fdatasync before a record counts as written ("per-request"). The
 * completion callbacks run on base's loop. */
struct mpic_audit *mpic_audit_open(struct event_base *base, const char *path, bool sync, struct mpic_error *err);
/* Writes and syncs everything handed over, then runs the callbacks still
 * due from the calling thread (the loop no longer runs). */
void mpic_audit_close(struct mpic_audit *a);

/* Appends record (stolen) to lines as one line, "time" and "event" first.
 * -1 when out of memory: the record is lost. */
int mpic_audit_line(struct evbuffer *lines, const char *event, json_t *record);

/* recorded: the lines are in the file (and synced when so configured). */
typedef void (*mpic_audit_done_cb)(bool recorded, void *arg);

/* Hands lines (stolen) to the writer; cb (may be NULL) runs later on the
 * loop, never from here. -1 when out of memory: cb will not run. */
int mpic_audit_submit(struct mpic_audit *a, struct evbuffer *lines, mpic_audit_done_cb cb, void *arg);

/* Has the writer close the file and open path again, between two batches
 * (logrotate's postrotate: systemctl reload). */
void mpic_audit_reopen(struct mpic_audit *a);

/* Hand-overs that could not be recorded since the start. */
unsigned long mpic_audit_failures(const struct mpic_audit *a);

#endif
