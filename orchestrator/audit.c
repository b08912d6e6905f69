#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "wire.h"

struct mpic_audit {
    int fd;
    bool fsync_per_request;
    char *path;
};

struct mpic_audit *mpic_audit_open(const char *path, bool fsync_per_request, struct mpic_error *err)
{
    struct mpic_audit *a = calloc(1, sizeof *a);
    if (a == NULL) {
        mpic_error_set(err, "out of memory");
        return NULL;
    }
    /* O_APPEND: concurrent writers (a log shipper rotating by copy, a second
     * instance by mistake) never interleave inside a line. */
    a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    a->path = strdup(path);
    a->fsync_per_request = fsync_per_request;
    if (a->fd < 0 || a->path == NULL) {
        mpic_error_set(err, "%s: cannot open the audit log: %s", path, a->fd < 0 ? strerror(errno) : "out of memory");
        mpic_audit_close(a);
        return NULL;
    }
    return a;
}

void mpic_audit_close(struct mpic_audit *a)
{
    if (a == NULL)
        return;
    if (a->fd >= 0) {
        fsync(a->fd);
        close(a->fd);
    }
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

void mpic_audit_write(struct mpic_audit *a, const char *event, json_t *record)
{
    if (a == NULL) {
        json_decref(record);
        return;
    }
    char now[96];
    iso_time(now, sizeof now);
    json_t *line = json_object();
    json_object_set_new(line, "time", json_string(now));
    json_object_set_new(line, "event", json_string(event));
    json_object_update(line, record);
    json_decref(record);
    char *text = mpic_json_dump(line);
    json_decref(line);
    if (text == NULL) {
        mpic_log(MPIC_LOG_ERROR, "audit_write_failed", "path=%s error=\"out of memory\"", a->path);
        return;
    }
    size_t n = strlen(text);
    text[n] = '\n';   /* json_dumps leaves room: replaced NUL, written with its length */
    ssize_t w = write(a->fd, text, n + 1);
    if (w != (ssize_t)(n + 1))
        mpic_log(MPIC_LOG_ERROR, "audit_write_failed", "path=%s error=\"%s\"", a->path,
                 w < 0 ? strerror(errno) : "short write");
    free(text);
}

void mpic_audit_commit(struct mpic_audit *a)
{
    if (a != NULL && a->fsync_per_request && fsync(a->fd) != 0)
        mpic_log(MPIC_LOG_ERROR, "audit_fsync_failed", "path=%s error=\"%s\"", a->path, strerror(errno));
}
