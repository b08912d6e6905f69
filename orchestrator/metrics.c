#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seconds: agent calls and requests take from milliseconds (a cached CAA
 * answer) to the request deadline (tens of seconds). */
static const double BOUNDS[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
#define N_BOUNDS (sizeof BOUNDS / sizeof BOUNDS[0])

enum family { F_REQUESTS, F_DURATION, F_PERSPECTIVE, F_PERSPECTIVE_ERRORS, F_ATTEMPTS, F_QUORUM, F_AUDIT, N_FAMILIES };

static const struct {
    const char *name, *type, *help;
} FAMILIES[N_FAMILIES] = {
    [F_REQUESTS] = { "mpic_requests_total", "counter", "MPIC API requests answered, by check type, method and result" },
    [F_DURATION] = { "mpic_request_duration_seconds", "histogram", "Time from a valid request to its answer" },
    [F_PERSPECTIVE] = { "mpic_perspective_duration_seconds", "histogram",
                        "Latency of calls to each perspective agent" },
    [F_PERSPECTIVE_ERRORS] = { "mpic_perspective_errors_total", "counter",
                               "Calls to a perspective agent without a usable check response, by type" },
    [F_ATTEMPTS] = { "mpic_attempts_total", "counter", "Cohort attempts started" },
    [F_QUORUM] = { "mpic_quorum_total", "counter", "Attempt outcomes: quorum met or not" },
    [F_AUDIT] = { "mpic_audit_write_seconds", "histogram",
                  "Time from handing a request's records to the audit writer until they are written" },
};

/* One labelled series of a family: a counter, or a histogram. */
struct series {
    struct series *next;
    char *labels;               /* 'a="x",b="y"' or "" */
    double value;               /* counter */
    unsigned long buckets[N_BOUNDS], count;
    double sum;
};

struct mpic_metrics {
    struct series *families[N_FAMILIES];
};

struct mpic_metrics *mpic_metrics_new(void)
{
    return calloc(1, sizeof(struct mpic_metrics));
}

void mpic_metrics_free(struct mpic_metrics *m)
{
    if (m == NULL)
        return;
    for (int f = 0; f < N_FAMILIES; f++)
        for (struct series *s = m->families[f], *next; s != NULL; s = next) {
            next = s->next;
            free(s->labels);
            free(s);
        }
    free(m);
}

/* Label values come from our configuration and enumerations; quotes,
 * backslashes and newlines are escaped all the same. */
static void add_label(char *buf, size_t len, const char *name, const char *value)
{
    size_t n = strlen(buf);
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s=\"", n ? "," : "", name);
    for (const char *p = value; *p && n + 3 < len; p++) {
        if (*p == '"' || *p == '\\' || *p == '\n')
            buf[n++] = '\\';
        buf[n++] = *p == '\n' ? 'n' : *p;
    }
    if (n + 2 <= len) {
        buf[n++] = '"';
        buf[n] = '\0';
    }
}

static struct series *find(struct mpic_metrics *m, enum family f, const char *labels)
{
    if (m == NULL)
        return NULL;
    struct series **pp = &m->families[f];
    for (; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->labels, labels) == 0)
            return *pp;
    struct series *s = calloc(1, sizeof *s);
    if (s == NULL || (s->labels = strdup(labels)) == NULL) {
        free(s);
        return NULL;
    }
    *pp = s;
    return s;
}

static void observe(struct series *s, double seconds)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < N_BOUNDS; i++)
        s->buckets[i] += seconds <= BOUNDS[i];
    s->count++;
    s->sum += seconds;
}

static void count(struct series *s)
{
    if (s != NULL)
        s->value++;
}

void mpic_metrics_request(struct mpic_metrics *m, const char *check_type, const char *method, const char *result,
                          double seconds)
{
    char l[256] = "";
    add_label(l, sizeof l, "check_type", check_type);
    add_label(l, sizeof l, "method", method);
    char by_type[256] = "";
    add_label(by_type, sizeof by_type, "check_type", check_type);
    add_label(l, sizeof l, "result", result);
    count(find(m, F_REQUESTS, l));
    if (seconds >= 0)
        observe(find(m, F_DURATION, by_type), seconds);
}

void mpic_metrics_perspective(struct mpic_metrics *m, const char *perspective, double seconds,
                              const char *error_type)
{
    char l[256] = "";
    add_label(l, sizeof l, "perspective", perspective);
    observe(find(m, F_PERSPECTIVE, l), seconds);
    if (error_type != NULL) {
        add_label(l, sizeof l, "type", error_type);
        count(find(m, F_PERSPECTIVE_ERRORS, l));
    }
}

void mpic_metrics_attempt(struct mpic_metrics *m)
{
    count(find(m, F_ATTEMPTS, ""));
}

void mpic_metrics_quorum(struct mpic_metrics *m, bool met)
{
    count(find(m, F_QUORUM, met ? "outcome=\"met\"" : "outcome=\"not_met\""));
}

void mpic_metrics_audit_write(struct mpic_metrics *m, double seconds)
{
    observe(find(m, F_AUDIT, ""), seconds);
}

static void sample(struct evbuffer *out, const char *name, const char *suffix, const char *labels,
                   const char *extra, double v)
{
    bool any = labels[0] || extra[0];
    evbuffer_add_printf(out, "%s%s%s%s%s%s%s %.17g\n", name, suffix, any ? "{" : "", labels,
                        labels[0] && extra[0] ? "," : "", extra, any ? "}" : "", v);
}

void mpic_metrics_render(const struct mpic_metrics *m, struct evbuffer *out)
{
    for (int f = 0; f < N_FAMILIES; f++) {
        bool hist = strcmp(FAMILIES[f].type, "histogram") == 0;
        evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", FAMILIES[f].name, FAMILIES[f].help,
                            FAMILIES[f].name, FAMILIES[f].type);
        for (const struct series *s = m->families[f]; s != NULL; s = s->next) {
            if (!hist) {
                sample(out, FAMILIES[f].name, "", s->labels, "", s->value);
                continue;
            }
            char le[32];
            for (size_t i = 0; i < N_BOUNDS; i++) {
                snprintf(le, sizeof le, "le=\"%g\"", BOUNDS[i]);
                sample(out, FAMILIES[f].name, "_bucket", s->labels, le, (double)s->buckets[i]);
            }
            sample(out, FAMILIES[f].name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count);
            sample(out, FAMILIES[f].name, "_sum", s->labels, "", s->sum);
            sample(out, FAMILIES[f].name, "_count", s->labels, "", (double)s->count);
        }
    }
}

void mpic_metrics_gauge(struct evbuffer *out, const char *name, const char *help, double value)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, value);
}
