/* One MPIC request in flight: attempts over successive cohorts, parallel
 * agent calls, quorum, deadlines, and the final Open MPIC response. */
#ifndef MPIC_JOB_H
#define MPIC_JOB_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "audit.h"
#include "dispatch.h"
#include "metrics.h"
#include "wire.h"

struct mpic_job_env {
    const struct mpic_config *cfg;
    struct event_base *base;
    struct mpic_dispatch *dispatch;
    struct mpic_audit *audit;   /* NULL: no audit log */
    struct mpic_metrics *metrics;   /* NULL: not counted */
};

/* The answer: 200 with the Open MPIC response, or 500 with an error body
 * when the request's audit records could not be written. body is stolen by
 * the callback. Called exactly once, from the loop, unless the job is
 * cancelled. */
typedef void (*mpic_job_done_cb)(int status, json_t *body, void *arg);

struct mpic_job;

/* Takes ownership of *req (zeroed on return) and of cohorts (malloc'd,
 * n_cohorts * orch->perspective_count indices into cfg->perspectives). */
struct mpic_job *mpic_job_start(const struct mpic_job_env *env, struct mpic_request *req,
                                const struct mpic_orchestration *orch, size_t *cohorts, size_t n_cohorts,
                                mpic_job_done_cb cb, void *arg);
void mpic_job_cancel(struct mpic_job *j);

#endif
