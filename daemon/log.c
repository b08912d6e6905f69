#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Set once by main() before anything logs; read-only afterwards. */
static const char *log_program = "mpic";
static enum mpic_log_level log_min = MPIC_LOG_INFO;
static int64_t (*log_now_ns)(void);

/* Lines waiting for mpic_log_flush(). Only whole lines are written, so that
 * lines stay whole when several processes share stderr. */
static char pending[64 * 1024];
static size_t pending_len;
static void (*wake_fn)(void *);
static void *wake_arg;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;   /* nowhere left to tell */
        p += w;
        n -= (size_t)w;
    }
}

void mpic_log_flush(void)
{
    write_all(pending, pending_len);
    pending_len = 0;
}

void mpic_log_init(const char *program, enum mpic_log_level min_level)
{
    static bool flush_at_exit;
    if (!flush_at_exit)
        flush_at_exit = atexit(mpic_log_flush) == 0;
    log_program = program;
    log_min = min_level;
}

bool mpic_log_enabled(enum mpic_log_level level)
{
    return level >= log_min;
}

void mpic_log_set_clock(int64_t (*now_ns)(void))
{
    log_now_ns = now_ns;
}

void mpic_log_set_wake(void (*wake)(void *arg), void *arg)
{
    mpic_log_flush();
    wake_fn = wake;
    wake_arg = arg;
}

int mpic_log_level_parse(const char *name, enum mpic_log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum mpic_log_level)i;
            return 0;
        }
    }
    return -1;
}

void mpic_log(enum mpic_log_level level, const char *event, const char *fmt, ...)
{
    if (level < log_min)
        return;
    int64_t ns = log_now_ns != NULL ? log_now_ns() : 0;
    time_t sec = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char line[4096];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s event=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (long)(ns % 1000000000 / 1000000), log_program, level_names[level], event);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    if (len + 1 < sizeof line)
        line[len++] = '\n';
    else
        line[len - 1] = '\n';
    bool was_empty = pending_len == 0;
    if (pending_len + len > sizeof pending)
        mpic_log_flush();
    memcpy(pending + pending_len, line, len);
    pending_len += len;
    /* Errors go out at once: they may be the last words before an exit. */
    if (wake_fn == NULL || level >= MPIC_LOG_ERROR)
        mpic_log_flush();
    else if (was_empty)
        wake_fn(wake_arg);
}

const char *mpic_log_quote(const char *s, char *buf, size_t len)
{
    if (len == 0)
        return "";
    if (s == NULL) {
        snprintf(buf, len, "-");
        return buf;
    }
    int plain = *s != '\0';
    for (const char *p = s; *p; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p >= 0x7f) {
            plain = 0;
            break;
        }
    }
    if (plain) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    size_t o = 0;
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 6 < len; p++) {
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)*p;
        } else if (*p < ' ' || *p == 0x7f) {
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
