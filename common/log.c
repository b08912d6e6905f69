#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Set once by main() before anything logs; read-only afterwards. */
static const char *log_program = "mpic";
static enum mpic_log_level log_min = MPIC_LOG_INFO;
static int64_t (*log_now_ns)(void);

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void mpic_log_init(const char *program, enum mpic_log_level min_level)
{
    log_program = program;
    log_min = min_level;
}

void mpic_log_set_clock(int64_t (*now_ns)(void))
{
    log_now_ns = now_ns;
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
    /* One fputs per line keeps lines whole when several processes share stderr. */
    size_t len = strlen(line);
    if (len + 1 < sizeof line) {
        line[len] = '\n';
        line[len + 1] = '\0';
    } else {
        line[sizeof line - 2] = '\n';
    }
    fputs(line, stderr);
    fflush(stderr);
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
