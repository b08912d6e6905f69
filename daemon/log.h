/* The one logging convention of mpic: one line per event on stderr,
 *   2026-11-28T16:50:00.123Z mpic-agent info event=caa_check trace=abc target=example.com ...
 * i.e. a UTC timestamp, the program, the level, then logfmt key=value pairs.
 * The event name comes first so that lines can be grepped by event; values
 * that may hold spaces or quotes go through mpic_log_quote().
 *
 * Lines are written at once until a daemon sets a wake function: then they
 * gather in a buffer, and the first line into an empty buffer calls wake,
 * which arranges one mpic_log_flush() per event-loop iteration (daemon/
 * log_loop.c): one write(2) per iteration under load, not one per line.
 * Error lines and a full buffer flush at once, and exit flushes. Not
 * thread-safe: the daemons log from their loop thread only. */
#ifndef MPIC_LOG_H
#define MPIC_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mpic_log_level { MPIC_LOG_DEBUG, MPIC_LOG_INFO, MPIC_LOG_WARN, MPIC_LOG_ERROR };

void mpic_log_init(const char *program, enum mpic_log_level min_level);
/* The clock of the timestamps, the daemon's own (clock.h, so that a test
 * clock shows in the lines too); until set, lines carry the epoch. */
void mpic_log_set_clock(int64_t (*now_ns)(void));
int mpic_log_level_parse(const char *name, enum mpic_log_level *out);
/* wake NULL: back to writing each line at once. */
void mpic_log_set_wake(void (*wake)(void *arg), void *arg);
void mpic_log_flush(void);

/* Whether a line of this level would be written: lets a caller skip the
 * quoting and formatting of a line that would be dropped. */
bool mpic_log_enabled(enum mpic_log_level level);

/* fmt continues the line after "event=NAME " and should be key=value pairs. */
void mpic_log(enum mpic_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes s as a logfmt value (quoted and escaped when needed, "-" for NULL)
 * into buf and returns buf; values are truncated to fit. */
const char *mpic_log_quote(const char *s, char *buf, size_t len);

#endif
