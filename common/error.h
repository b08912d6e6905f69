/* The one error convention of mpic: a function that can fail returns 0 on
 * success and -1 on failure, and fills a caller-provided struct mpic_error
 * with a message that names the input at fault (file and key, field, name).
 * Callers that only propagate may pass the same struct along unchanged. */
#ifndef MPIC_ERROR_H
#define MPIC_ERROR_H

#define MPIC_ERROR_MAX 512

struct mpic_error {
    char msg[MPIC_ERROR_MAX];
};

/* Formats into err (if not NULL) and returns -1, so "return mpic_error_set(...)". */
int mpic_error_set(struct mpic_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
