/* The daemons' one wall clock: timestamps, the BR phase and method sunsets,
 * the audit log and the log lines all read it, so a test that moves it moves
 * all of them together. Durations and deadlines use the monotonic clock.
 *
 * A build configured with -DMPIC_TEST_CLOCK=ON (the default of the sanitizer
 * build, never of a release) reads the environment variable MPIC_TEST_CLOCK
 * (e.g. 2026-12-14T23:59:58Z) at start-up: the clock then runs from that
 * instant at the real rate. Any other build ignores the variable. */
#ifndef MPIC_CLOCK_H
#define MPIC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Call once, after mpic_log_init(): sets up the test clock when built with it
 * and asked for (one warning log line), and gives the log its clock. -1 after
 * printing why when MPIC_TEST_CLOCK is set but malformed. */
int mpic_clock_init(const char *program);

/* Wall-clock time, nanoseconds since the epoch / seconds since the epoch. */
int64_t mpic_clock_now_ns(void);
time_t mpic_clock_now(void);

/* Monotonic nanoseconds, for measuring durations. */
int64_t mpic_clock_mono_ns(void);

#endif
