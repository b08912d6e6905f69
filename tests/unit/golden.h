/* Reads a hand-written golden file of tests/data/golden/ for byte-for-byte comparisons. */
#ifndef MPIC_TEST_GOLDEN_H
#define MPIC_TEST_GOLDEN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

static inline const char *read_golden(const char *name)
{
    static char buf[65536];
    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s", MPIC_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

#endif
