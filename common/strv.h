/* A list of owned strings, the one the configuration, the wire model and the
 * DNS readers all hand around. Its own header so that a pure module can name
 * it without including the configuration. An empty list is { NULL, 0 }. */
#ifndef MPIC_STRV_H
#define MPIC_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct mpic_strv {
    char **v;
    size_t n;
};

/* Frees every string and the array, and leaves the list empty. */
void mpic_strv_free(struct mpic_strv *sv);
/* The same, overwriting each string first: for secrets. */
void mpic_strv_wipe(struct mpic_strv *sv);
/* Appends s, which the list owns from then on; -1 (s still the caller's)
 * when memory ran out. */
int mpic_strv_push(struct mpic_strv *sv, char *s);
bool mpic_strv_contains(const struct mpic_strv *sv, const char *s);

#endif
