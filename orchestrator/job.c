/* Each attempt asks one cohort and waits for every member (or its deadline);
 * a later attempt never reuses an earlier attempt's corroborations (BR
 * 3.2.2.9), it only reports them in previous_attempt_results. */
#include "job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "audit.h"
#include "clock.h"
#include "log.h"
#include "policy.h"
#include "quorum.h"

#define AGENT_CHECK_PATH "/v1/check"
#define MIN_CALL_MS 50

struct slot {
    struct mpic_job *job;
    const struct mpic_perspective *perspective;   /* a cohort member, or the primary */
    struct mpic_call *call;      /* non-NULL while pending */
    json_t *entry;               /* {"perspective_code","check_response"} once done */
    struct mpic_perspective_outcome outcome;
    int64_t started_ns;          /* monotonic */
    const char *error_type;      /* for the metrics: why no usable check response, NULL when there is one */
};

struct mpic_job {
    struct mpic_job_env env;
    struct mpic_request req;
    struct mpic_orchestration orch;
    size_t *cohorts, n_cohorts;
    unsigned attempt;            /* 0-based index of the running attempt */
    struct slot *slots;          /* the cohort's, then the primary's (if any), for the running attempt */
    unsigned n_slots;
    unsigned pending;
    json_t *previous;            /* array of arrays, NULL until a second attempt starts */
    struct event *deadline;
    struct event *kick;          /* finishes an attempt none of whose calls could start */
    bool deadline_passed;
    int64_t started_ns;          /* monotonic */
    char request_id[17];         /* random, ties log and audit lines of one request together */
    struct evbuffer *records;    /* the audit lines so far, NULL without an audit log */
    bool records_lost;           /* a line could not be built: never answer 200 */
    bool awaiting_audit;         /* answered, once the writer reports on records */
    int64_t submitted_ns;        /* monotonic: the records handed to the writer */
    json_t *response;            /* the answer while its records are written */
    mpic_job_done_cb cb;         /* NULL once cancelled */
    void *arg;
};

static const struct mpic_perspective *slot_perspective(const struct slot *s)
{
    return s->perspective;
}

static json_t *audit_common(const struct mpic_job *j)
{
    const struct mpic_orchestrator_config *oc = &j->env.cfg->orchestrator;
    const struct mpic_br_phase *ph = mpic_policy_phase_at(mpic_clock_now());
    json_t *r = json_object();
    json_object_set_new(r, "request_id", json_string(j->request_id));
    json_object_set_new(r, "trace_identifier", j->req.trace_identifier ? json_string(j->req.trace_identifier) : json_null());
    json_object_set_new(r, "target", json_string(j->req.target));
    json_object_set_new(r, "check_type", json_string(mpic_check_type_name(j->req.check_type)));
    json_object_set_new(r, "validation_method", j->req.check_type == MPIC_CHECK_DCV
                                                    ? json_string(mpic_dcv_method_name(j->req.dcv.method))
                                                    : json_null());
    json_object_set_new(r, "policy", json_string(mpic_policy_profile_name(oc->policy)));
    json_object_set_new(r, "phase", ph ? json_string(ph->effective) : json_null());
    return r;
}

static void audit_record(struct mpic_job *j, const char *event, json_t *rec)
{
    if (j->records == NULL)
        json_decref(rec);
    else if (mpic_audit_line(j->records, event, rec) != 0)
        j->records_lost = true;
}

static void log_slot(const struct slot *s, const char *reason)
{
    struct mpic_job *j = s->job;
    int64_t latency_ns = mpic_clock_mono_ns() - s->started_ns, latency_ms = latency_ns / 1000000;
    const char *type = s->error_type ? s->error_type : !s->outcome.completed ? "check_incomplete" : NULL;
    mpic_metrics_perspective(j->env.metrics, slot_perspective(s)->code, latency_ns / 1e9, type);
    json_t *rec = audit_common(j);
    json_object_set_new(rec, "attempt", json_integer(j->attempt + 1));
    json_object_set_new(rec, "perspective_code", json_string(slot_perspective(s)->code));
    json_object_set_new(rec, "rir", json_string(mpic_rir_name(slot_perspective(s)->rir)));
    json_object_set_new(rec, "completed", json_boolean(s->outcome.completed));
    json_object_set_new(rec, "passed", json_boolean(s->outcome.passed));
    json_object_set_new(rec, "reason", json_string(reason));
    json_object_set_new(rec, "latency_ms", json_integer(latency_ms));
    audit_record(j, "perspective_attempt", rec);
    /* The audit log has every attempt; at info the process log names only those that did not
     * pass, which is what an operator looks for (seven lines a request cost a tenth of the CPU). */
    enum mpic_log_level level = s->outcome.passed ? MPIC_LOG_DEBUG : MPIC_LOG_INFO;
    if (!mpic_log_enabled(level))
        return;
    char tr[600], t[600], r[600], rir[32];
    mpic_log(level, "perspective_result",
             "request=%s trace=%s target=%s check_type=%s attempt=%u perspective=%s rir=%s completed=%s"
             " passed=%s latency_ms=%lld reason=%s",
             j->request_id, mpic_log_quote(j->req.trace_identifier, tr, sizeof tr), mpic_log_quote(j->req.target, t, sizeof t),
             mpic_check_type_name(j->req.check_type), j->attempt + 1, slot_perspective(s)->code,
             mpic_log_quote(mpic_rir_name(slot_perspective(s)->rir), rir, sizeof rir), s->outcome.completed ? "true" : "false",
             s->outcome.passed ? "true" : "false", (long long)latency_ms, mpic_log_quote(reason, r, sizeof r));
}

static void slot_fail(struct slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slot_fail(struct slot *s, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *cr = mpic_check_response_json(false, false,
                                          mpic_error_list_json(MPIC_ERR_COORDINATOR_REMOTE_CHECK, msg),
                                          mpic_clock_now_ns(), s->job->req.check_type,
                                          mpic_empty_details_json(s->job->req.check_type, s->job->req.dcv.method));
    s->entry = mpic_perspective_json(slot_perspective(s)->code, cr);
    s->outcome.completed = false;
    s->outcome.passed = false;
    log_slot(s, msg);
}

static void finish_attempt(struct mpic_job *j);

static void on_agent_reply(long status, const char *body, size_t len, const char *error, void *arg)
{
    struct slot *s = arg;
    struct mpic_job *j = s->job;
    s->call = NULL;
    s->error_type = error != NULL ? "unreachable" : status != 200 ? "http_status" : "bad_reply";
    if (error != NULL) {
        slot_fail(s, "perspective %s could not be reached: %s", slot_perspective(s)->code, error);
    } else if (status != 200) {
        slot_fail(s, "perspective %s answered HTTP status %ld", slot_perspective(s)->code, status);
    } else {
        struct mpic_error err;
        json_t *cr = mpic_agent_response_parse(body, len, slot_perspective(s)->code, &j->req, &err);
        if (cr == NULL) {
            slot_fail(s, "perspective %s sent an unusable reply: %s", slot_perspective(s)->code, err.msg);
        } else {
            s->error_type = NULL;
            s->outcome.completed = json_is_true(json_object_get(cr, "check_completed"));
            s->outcome.passed = json_is_true(json_object_get(cr, "check_passed"));
            json_t *errs = json_object_get(cr, "errors");
            const char *why = json_string_value(json_object_get(json_array_get(errs, 0), "error_message"));
            s->entry = mpic_perspective_json(slot_perspective(s)->code, cr);
            log_slot(s, why ? why : s->outcome.passed ? "passed" : "not passed");
        }
    }
    if (--j->pending == 0)
        finish_attempt(j);
}

static unsigned remaining_ms(const struct mpic_job *j)
{
    int64_t used = (mpic_clock_mono_ns() - j->started_ns) / 1000000;
    int64_t left = (int64_t)j->env.cfg->orchestrator.request_timeout_ms - used;
    return left < MIN_CALL_MS ? MIN_CALL_MS : (unsigned)left;
}

static void start_attempt(struct mpic_job *j)
{
    const struct mpic_orchestrator_config *oc = &j->env.cfg->orchestrator;
    unsigned count = j->orch.perspective_count;
    size_t k = j->orch.cohort != 0 ? j->orch.cohort - 1 : j->attempt % j->n_cohorts;   /* checked by the caller */
    const size_t *cohort = j->cohorts + k * count;
    const struct mpic_strv *doms = j->req.caa.domains.v ? &j->req.caa.domains : &j->env.cfg->caa_issuer_domains;
    json_t *msg = mpic_agent_request_json(&j->req, doms);
    char *body = mpic_json_dump(msg);
    json_decref(msg);
    unsigned left = remaining_ms(j);
    unsigned timeout = oc->perspective_timeout_ms < left ? oc->perspective_timeout_ms : left;
    j->pending = j->n_slots;
    mpic_metrics_attempt(j->env.metrics);
    for (unsigned i = 0; i < j->n_slots; i++) {
        struct slot *s = &j->slots[i];
        memset(s, 0, sizeof *s);
        s->job = j;
        /* The primary runs the same check beside every cohort (BR 3.2.2.9: MPIC corroborates it). */
        s->perspective = i < count ? &j->env.cfg->perspectives[cohort[i]] : oc->primary;
        s->outcome.rir = slot_perspective(s)->rir;
        s->started_ns = mpic_clock_mono_ns();
        s->call = body ? mpic_dispatch_post(j->env.dispatch, slot_perspective(s), AGENT_CHECK_PATH, body, timeout,
                                            on_agent_reply, s)
                       : NULL;
        if (s->call == NULL) {
            s->error_type = "not_started";
            slot_fail(s, "perspective %s could not be called: cannot start the request", slot_perspective(s)->code);
            j->pending--;
        }
    }
    free(body);
    if (j->pending == 0)
        event_active(j->kick, EV_TIMEOUT, 0);   /* finish from the loop, never inside mpic_job_start */
}

static json_t *attempt_entries(struct mpic_job *j)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < j->n_slots; i++) {
        json_array_append_new(a, j->slots[i].entry);
        j->slots[i].entry = NULL;
    }
    return a;
}

static void job_free(struct mpic_job *j)
{
    for (unsigned i = 0; i < j->n_slots && j->slots != NULL; i++) {
        if (j->slots[i].call != NULL)
            mpic_call_cancel(j->slots[i].call);
        json_decref(j->slots[i].entry);
    }
    if (j->deadline != NULL)
        event_free(j->deadline);
    if (j->kick != NULL)
        event_free(j->kick);
    /* Cancelled mid-request: what was observed is still recorded. */
    if (j->records != NULL && evbuffer_get_length(j->records) == 0)
        evbuffer_free(j->records);
    else if (j->records != NULL && mpic_audit_submit(j->env.audit, j->records, NULL, NULL) != 0)
        mpic_log(MPIC_LOG_ERROR, "audit_write_failed", "request=%s error=\"out of memory\"", j->request_id);
    json_decref(j->response);
    json_decref(j->previous);
    mpic_request_free(&j->req);
    free(j->slots);
    free(j->cohorts);
    free(j);
}

static void answer(struct mpic_job *j, bool recorded)
{
    mpic_job_done_cb cb = j->cb;
    void *arg = j->arg;
    json_t *resp = j->response;
    j->response = NULL;
    job_free(j);
    if (cb == NULL) {
        json_decref(resp);
    } else if (recorded) {
        cb(200, resp, arg);
    } else {
        json_decref(resp);
        cb(500, json_pack("{s:s, s:s}", "error", "audit-log-failure", "message",
                          "the audit record of this request could not be written; the request may be retried"),
           arg);
    }
}

static void on_recorded(bool recorded, void *arg)
{
    struct mpic_job *j = arg;
    mpic_metrics_audit_write(j->env.metrics, (mpic_clock_mono_ns() - j->submitted_ns) / 1e9);
    answer(j, recorded);
}

/* The answer goes out only once the request's records are in the audit log
 * (BR 5.4.1): never a result without its record. */
static void answer_when_recorded(struct mpic_job *j)
{
    if (j->env.audit == NULL) {
        answer(j, true);
        return;
    }
    evtimer_del(j->deadline);
    struct evbuffer *lines = j->records;
    j->records = NULL;
    if (j->records_lost)
        evbuffer_free(lines);
    j->submitted_ns = mpic_clock_mono_ns();
    if (j->records_lost || mpic_audit_submit(j->env.audit, lines, on_recorded, j) != 0) {
        mpic_log(MPIC_LOG_ERROR, "audit_write_failed", "request=%s error=\"out of memory\"", j->request_id);
        answer(j, false);
    } else {
        j->awaiting_audit = true;
    }
}

static void finish_attempt(struct mpic_job *j)
{
    unsigned count = j->orch.perspective_count;
    struct mpic_perspective_outcome outcomes[count];
    for (unsigned i = 0; i < count; i++)
        outcomes[i] = j->slots[i].outcome;
    const struct mpic_orchestrator_config *oc = &j->env.cfg->orchestrator;
    bool two_rirs = mpic_policy_needs_two_rirs(oc->policy, mpic_clock_now(), count);
    struct mpic_quorum_result q = mpic_quorum_evaluate(outcomes, count, j->orch.quorum_count, two_rirs);
    /* The primary is reported but never counted in the quorum figures. */
    struct mpic_primary_verdict pv =
        mpic_quorum_primary_rule(&q, oc->primary ? &j->slots[count].outcome : NULL, oc->require_primary);
    q.is_valid = pv.is_valid;
    mpic_metrics_quorum(j->env.metrics, q.is_valid);
    bool last = q.is_valid || j->attempt + 1 >= j->orch.max_attempts || j->deadline_passed;
    if (!last) {
        if (j->previous == NULL)
            j->previous = json_array();
        json_array_append_new(j->previous, attempt_entries(j));
        j->attempt++;
        start_attempt(j);
        return;
    }
    int64_t latency_ms = (mpic_clock_mono_ns() - j->started_ns) / 1000000;
    char quorum[32];
    snprintf(quorum, sizeof quorum, "%u/%u", q.passed, count);
    json_t *rec = audit_common(j);
    json_object_set_new(rec, "is_valid", json_boolean(q.is_valid));
    json_object_set_new(rec, "mpic_completed", json_boolean(q.mpic_completed));
    json_object_set_new(rec, "quorum", json_string(quorum));
    json_object_set_new(rec, "quorum_required", json_integer(j->orch.quorum_count));
    json_object_set_new(rec, "passing_rirs", json_integer(q.passing_rirs));
    json_object_set_new(rec, "primary_passed", pv.state == MPIC_PRIMARY_NONE ? json_null()
                                                  : json_boolean(pv.state == MPIC_PRIMARY_PASSED));
    json_object_set_new(rec, "perspective_count", json_integer(count));
    json_object_set_new(rec, "attempts", json_integer(j->attempt + 1));
    json_object_set_new(rec, "latency_ms", json_integer(latency_ms));
    audit_record(j, "mpic_request", rec);
    char tr[600], t[600];
    mpic_log(MPIC_LOG_INFO, "mpic_result",
             "request=%s trace=%s target=%s check_type=%s is_valid=%s mpic_completed=%s quorum=%u/%u required=%u"
             " passing_rirs=%u attempts=%u policy=%s latency_ms=%lld",
             j->request_id, mpic_log_quote(j->req.trace_identifier, tr, sizeof tr),
             mpic_log_quote(j->req.target, t, sizeof t), mpic_check_type_name(j->req.check_type), q.is_valid ? "true" : "false",
             q.mpic_completed ? "true" : "false", q.passed, count, j->orch.quorum_count, q.passing_rirs,
             j->attempt + 1, mpic_policy_profile_name(oc->policy), (long long)latency_ms);
    struct mpic_response_fields f = {
        .mpic_completed = q.mpic_completed,
        .request = &j->req,
        .actual = { count, j->orch.quorum_count, j->attempt + 1, j->orch.cohort },
        .is_valid = q.is_valid,
        .perspectives = attempt_entries(j),
        .previous_attempts = j->previous,
    };
    j->previous = NULL;
    j->response = mpic_response_json(&f);
    answer_when_recorded(j);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct mpic_job *j = arg;
    j->deadline_passed = true;
    for (unsigned i = 0; i < j->n_slots; i++) {
        struct slot *s = &j->slots[i];
        if (s->call == NULL)
            continue;
        mpic_call_cancel(s->call);
        s->call = NULL;
        s->error_type = "timeout";
        slot_fail(s, "perspective %s did not answer within the request deadline of %u ms", slot_perspective(s)->code,
                  j->env.cfg->orchestrator.request_timeout_ms);
        j->pending--;
    }
    if (j->pending == 0)
        finish_attempt(j);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    finish_attempt(arg);
}

struct mpic_job *mpic_job_start(const struct mpic_job_env *env, struct mpic_request *req,
                                const struct mpic_orchestration *orch, size_t *cohorts, size_t n_cohorts,
                                mpic_job_done_cb cb, void *arg)
{
    struct mpic_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        free(cohorts);   /* ours on every path, as on the later failures (job_free) */
        return NULL;
    }
    j->env = *env;
    j->req = *req;
    memset(req, 0, sizeof *req);
    j->orch = *orch;
    j->cohorts = cohorts;
    j->n_cohorts = n_cohorts;
    j->cb = cb;
    j->arg = arg;
    j->started_ns = mpic_clock_mono_ns();
    unsigned char id[8];
    if (RAND_bytes(id, sizeof id) != 1)
        memset(id, 0, sizeof id);
    for (size_t i = 0; i < sizeof id; i++)
        snprintf(j->request_id + 2 * i, 3, "%02x", id[i]);
    j->n_slots = orch->perspective_count + (env->cfg->orchestrator.primary != NULL ? 1 : 0);
    j->slots = calloc(j->n_slots, sizeof *j->slots);
    j->deadline = evtimer_new(env->base, on_deadline, j);
    j->kick = evtimer_new(env->base, on_kick, j);
    j->records = env->audit != NULL ? evbuffer_new() : NULL;
    if (j->slots == NULL || j->deadline == NULL || j->kick == NULL || (env->audit != NULL && j->records == NULL)) {
        job_free(j);
        return NULL;
    }
    unsigned ms = env->cfg->orchestrator.request_timeout_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(j->deadline, &tv);
    start_attempt(j);
    return j;
}

void mpic_job_cancel(struct mpic_job *j)
{
    if (j->awaiting_audit)
        j->cb = NULL;   /* freed when the writer reports back */
    else
        job_free(j);
}
