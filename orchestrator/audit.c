#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "wire.h"

/* The lines of one request, from mpic_audit_submit to its callback. */
struct unit {
    struct unit *next;
    struct evbuffer *lines;
    mpic_audit_done_cb cb;
    void *arg;
    int error;              /* errno of the failed step, 0 when recorded */
    const char *step;       /* "write" or "sync" */
};

/* Group commit: the writer takes everything queued, appends it with
 * writev and syncs once. What arrives meanwhile waits at most one write and
 * sync, and becomes the next batch, so a busy loop costs one sync per batch,
 * not per request, and an idle one adds no delay.
 *
 * Completions come back through an eventfd watched by the loop rather than
 * event_active() from the writer: that would need evthread_use_pthreads(),
 * which puts a lock on every event operation of the loop, for one wake-up
 * per batch. */
struct mpic_audit {
    int fd;
    bool sync;
    char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct unit *queue, **queue_tail;   /* handed over, not yet written; under mu */
    struct unit *done, **done_tail;     /* written or failed, callbacks not yet run; under mu */
    bool closing;                       /* under mu */
    bool reopen;                        /* under mu: open path again before the next batch */
    bool reopened;                      /* under mu: done, to be logged by the loop */
    int reopen_error;                   /* under mu: its errno, 0 on success */
    bool writer_running;
    pthread_t writer;
    int wake_fd;
    struct event *wake;
    /* Loop thread only: one log line per failure episode, not per request. */
    bool failing;
    unsigned long failures, episode_failures;
};

static void *writer_main(void *arg);
static void on_wake(evutil_socket_t fd, short what, void *arg);

/* A file created here must survive a crash with its name: sync the directory once. */
static void sync_parent_dir(const char *path)
{
    char *copy = strdup(path);
    int dfd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

struct mpic_audit *mpic_audit_open(struct event_base *base, const char *path, bool sync, struct mpic_error *err)
{
    struct mpic_audit *a = calloc(1, sizeof *a);
    if (a == NULL) {
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    a->wake_fd = -1;
    a->queue_tail = &a->queue;
    a->done_tail = &a->done;
    a->sync = sync;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    /* O_APPEND: concurrent writers (a log shipper rotating by copy, a second
     * instance by mistake) never interleave inside a line. */
    a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    a->path = strdup(path);
    if (a->fd < 0 || a->path == NULL) {
        mpic_error_set(err, "%s: cannot open the audit log: %s", path, a->fd < 0 ? strerror(errno) : "out of memory");
        mpic_audit_close(a);
        return NULL;
    }
    sync_parent_dir(path);
    a->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    a->wake = a->wake_fd >= 0 ? event_new(base, a->wake_fd, EV_READ | EV_PERSIST, on_wake, a) : NULL;
    int rc = a->wake != NULL ? event_add(a->wake, NULL) : -1;
    if (rc == 0)
        rc = pthread_create(&a->writer, NULL, writer_main, a) == 0 ? 0 : -1;
    if (rc != 0) {
        mpic_error_set(err, "%s: cannot start the audit log writer: %s", path, strerror(errno));
        mpic_audit_close(a);
        return NULL;
    }
    a->writer_running = true;
    return a;
}

/* Appends the batch; a write that fails halfway is cut back to where the
 * batch began, since a torn line would break every reader of the file. */
static int write_batch(struct mpic_audit *a, struct evbuffer *batch, const char **step)
{
    off_t start = lseek(a->fd, 0, SEEK_END);
    size_t written = 0;
    *step = "write";
    while (evbuffer_get_length(batch) > 0) {
        int n = evbuffer_write(batch, a->fd);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int error = n < 0 ? errno : EIO;
            evbuffer_drain(batch, evbuffer_get_length(batch));
            if (written > 0 && start >= 0 && ftruncate(a->fd, start) != 0)
                error = errno;
            return error;
        }
        written += (size_t)n;
    }
    *step = "sync";
    return a->sync && fdatasync(a->fd) != 0 ? errno : 0;
}

/* Writer thread, between batches: the file at path now (a new one after
 * logrotate moved the old away). On failure the old descriptor stays. The
 * loop thread logs the outcome: the process log is not for threads. */
static int reopen(struct mpic_audit *a)
{
    int fd = open(a->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return errno;
    sync_parent_dir(a->path);
    int error = fdatasync(a->fd) != 0 ? errno : 0;   /* the old file's last batch */
    close(a->fd);
    a->fd = fd;
    return error;
}

static void *writer_main(void *arg)
{
    struct mpic_audit *a = arg;
    struct evbuffer *batch = evbuffer_new();
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->queue == NULL && !a->closing && !a->reopen)
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->reopen) {
            a->reopen = false;
            pthread_mutex_unlock(&a->mu);
            int error = reopen(a);
            pthread_mutex_lock(&a->mu);
            a->reopened = true;
            a->reopen_error = error;
            uint64_t one = 1;
            if (write(a->wake_fd, &one, sizeof one) < 0) {
                /* Only EAGAIN: the loop is woken already. */
            }
            continue;
        }
        if (a->queue == NULL)
            break;   /* closing, and everything handed over is written */
        struct unit *first = a->queue, **last = a->queue_tail;
        a->queue = NULL;
        a->queue_tail = &a->queue;
        pthread_mutex_unlock(&a->mu);
        const char *step = "write";
        int error = ENOMEM;
        if (batch != NULL) {
            error = 0;
            for (struct unit *u = first; u != NULL && error == 0; u = u->next)
                error = evbuffer_add_buffer(batch, u->lines) == 0 ? 0 : ENOMEM;
            error = error ? error : write_batch(a, batch, &step);
            evbuffer_drain(batch, evbuffer_get_length(batch));
        }
        for (struct unit *u = first; u != NULL; u = u->next) {
            u->error = error;
            u->step = step;
        }
        pthread_mutex_lock(&a->mu);
        *a->done_tail = first;
        a->done_tail = last;
        uint64_t one = 1;
        if (write(a->wake_fd, &one, sizeof one) < 0) {
            /* Only EAGAIN, at a counter of 2^64-2: the loop is woken already. */
        }
    }
    pthread_mutex_unlock(&a->mu);
    if (batch != NULL)
        evbuffer_free(batch);
    return NULL;
}

static void note_result(struct mpic_audit *a, const struct unit *u)
{
    if (u->error != 0) {
        a->failures++;
        a->episode_failures++;
        if (!a->failing)
            mpic_log(MPIC_LOG_ERROR, "audit_write_failed",
                     "path=%s step=%s error=\"%s\" message=\"requests are answered 500 until records can be"
                     " written again\"", a->path, u->step, strerror(u->error));
        a->failing = true;
    } else if (a->failing) {
        mpic_log(MPIC_LOG_WARN, "audit_recovered", "path=%s failed_requests=%lu failed_total=%lu", a->path,
                 a->episode_failures, a->failures);
        a->failing = false;
        a->episode_failures = 0;
    }
}

/* Runs the callbacks of what the writer finished, in hand-over order. */
static void run_done(struct mpic_audit *a)
{
    pthread_mutex_lock(&a->mu);
    struct unit *u = a->done;
    a->done = NULL;
    a->done_tail = &a->done;
    bool reopened = a->reopened;
    int reopen_error = a->reopen_error;
    a->reopened = false;
    pthread_mutex_unlock(&a->mu);
    if (reopened && reopen_error == 0)
        mpic_log(MPIC_LOG_INFO, "audit_reopened", "path=%s", a->path);
    else if (reopened)
        mpic_log(MPIC_LOG_ERROR, "audit_reopen_failed", "path=%s error=\"%s\"", a->path, strerror(reopen_error));
    while (u != NULL) {
        struct unit *next = u->next;
        note_result(a, u);
        if (u->cb != NULL)
            u->cb(u->error == 0, u->arg);
        evbuffer_free(u->lines);
        free(u);
        u = next;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;
    if (read(fd, &n, sizeof n) < 0) {
        /* EAGAIN: a wake-up already consumed; the list is read anyway. */
    }
    run_done(arg);
}

void mpic_audit_close(struct mpic_audit *a)
{
    if (a == NULL)
        return;
    if (a->writer_running) {
        pthread_mutex_lock(&a->mu);
        a->closing = true;
        pthread_cond_signal(&a->cv);
        pthread_mutex_unlock(&a->mu);
        pthread_join(a->writer, NULL);
        run_done(a);
    }
    if (a->fd >= 0) {
        if (fdatasync(a->fd) != 0)
            mpic_log(MPIC_LOG_ERROR, "audit_write_failed", "path=%s step=sync error=\"%s\"", a->path,
                     strerror(errno));
        close(a->fd);
    }
    if (a->wake != NULL)
        event_free(a->wake);
    if (a->wake_fd >= 0)
        close(a->wake_fd);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
}

static void iso_time(char *buf, size_t len)
{
    int64_t ns = mpic_clock_now_ns();
    time_t sec = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ns % 1000000000 / 1000000));
}

int mpic_audit_line(struct evbuffer *lines, const char *event, json_t *record)
{
    char now[96];
    iso_time(now, sizeof now);
    json_t *line = json_object();
    json_object_set_new(line, "time", json_string(now));
    json_object_set_new(line, "event", json_string(event));
    json_object_update(line, record);
    json_decref(record);
    char *text = mpic_json_dump(line);
    json_decref(line);
    if (text == NULL)
        return -1;
    size_t n = strlen(text);
    text[n] = '\n';   /* json_dumps leaves room: replaced NUL, added with its length */
    int rc = evbuffer_add(lines, text, n + 1);
    free(text);
    return rc;
}

int mpic_audit_submit(struct mpic_audit *a, struct evbuffer *lines, mpic_audit_done_cb cb, void *arg)
{
    struct unit *u = calloc(1, sizeof *u);
    if (u == NULL) {
        evbuffer_free(lines);
        return -1;
    }
    u->lines = lines;
    u->cb = cb;
    u->arg = arg;
    pthread_mutex_lock(&a->mu);
    *a->queue_tail = u;
    a->queue_tail = &u->next;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

void mpic_audit_reopen(struct mpic_audit *a)
{
    pthread_mutex_lock(&a->mu);
    a->reopen = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

unsigned long mpic_audit_failures(const struct mpic_audit *a)
{
    return a ? a->failures : 0;
}
