#include "clock.h"

#include <stdio.h>
#include <stdlib.h>

#include "log.h"

#define TEST_CLOCK_VAR "MPIC_TEST_CLOCK"

/* Added to the real clock; set once by mpic_clock_init(), 0 in production. */
static int64_t offset_ns;

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mpic_clock_now_ns(void)
{
    return read_ns(CLOCK_REALTIME) + offset_ns;
}

time_t mpic_clock_now(void)
{
    return (time_t)(mpic_clock_now_ns() / 1000000000);
}

int64_t mpic_clock_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

#ifdef MPIC_TEST_CLOCK
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) only: a test names its instant exactly. */
static int parse_instant(const char *s, time_t *out)
{
    struct tm tm = { 0 }, back;
    int end = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &end) != 6 || end == 0 || s[end] != '\0')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    struct tm want = tm;
    *out = timegm(&tm);
    /* timegm normalises 2026-02-30 into March: a date that moved was not a date. */
    if (gmtime_r(out, &back) == NULL || back.tm_year != want.tm_year || back.tm_mon != want.tm_mon ||
        back.tm_mday != want.tm_mday || back.tm_hour != want.tm_hour || back.tm_min != want.tm_min)
        return -1;
    return 0;
}
#endif

int mpic_clock_init(const char *program)
{
    mpic_log_set_clock(mpic_clock_now_ns);
    const char *v = getenv(TEST_CLOCK_VAR);
    if (v == NULL || *v == '\0')
        return 0;
#ifdef MPIC_TEST_CLOCK
    time_t at;
    if (parse_instant(v, &at) != 0) {
        fprintf(stderr, "%s: %s=%s: expected YYYY-MM-DDTHH:MM:SSZ\n", program, TEST_CLOCK_VAR, v);
        return -1;
    }
    offset_ns = (int64_t)at * 1000000000 - read_ns(CLOCK_REALTIME);
    mpic_log(MPIC_LOG_WARN, "test_clock", "message=\"test clock in use: wall time started at %s (%s);"
             " a build for tests only\"", v, TEST_CLOCK_VAR);
#else
    mpic_log(MPIC_LOG_WARN, "test_clock_ignored", "message=\"%s is set, but this build has no test clock:"
             " ignored\"", TEST_CLOCK_VAR);
#endif
    return 0;
}
