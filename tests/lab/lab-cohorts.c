/* mpic-lab-cohorts CONFIG TARGET SIZE: the cohorts the orchestrator of CONFIG
 * asks, in attempt order, for TARGET at perspective count SIZE; one line of
 * perspective codes per cohort. local-cluster.sh --scenarios uses it to give
 * exactly the first cohort of a name a failing lab behaviour, so that the
 * first attempt fails and the second passes. Lab builds only: with the cohort
 * secret it reveals what the secret is there to hide. */
#include <stdio.h>
#include <stdlib.h>

#include "cohort.h"
#include "config.h"

int main(int argc, char **argv)
{
    struct mpic_config cfg;
    struct mpic_error err;
    char *end;
    if (argc != 4) {
        fprintf(stderr, "usage: %s CONFIG TARGET SIZE\n", argv[0]);
        return 2;
    }
    unsigned long size = strtoul(argv[3], &end, 10);
    if (*end != '\0' || size < 1) {
        fprintf(stderr, "%s: SIZE must be a positive integer\n", argv[0]);
        return 2;
    }
    if (mpic_config_load(argv[1], MPIC_ROLE_ORCHESTRATOR, &cfg, &err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err.msg);
        return 1;
    }
    const struct mpic_orchestrator_config *oc = &cfg.orchestrator;
    size_t *out = calloc(cfg.n_perspectives, sizeof *out);
    size_t n = 0;
    if (out == NULL || (size <= cfg.n_perspectives &&
                        mpic_cohorts_build(cfg.perspectives, cfg.n_perspectives, oc->cohort_secret,
                                           oc->cohort_secret_len, argv[2], size, out, &n, &err) != 0)) {
        fprintf(stderr, "%s: %s\n", argv[0], out ? err.msg : "out of memory");
        free(out);
        mpic_config_free(&cfg);
        return 1;
    }
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < size; i++)
            printf("%s%s", i ? " " : "", cfg.perspectives[out[k * size + i]].code);
        printf("\n");
    }
    free(out);
    mpic_config_free(&cfg);
    if (n == 0)
        fprintf(stderr, "%s: no cohort of %lu for %s\n", argv[0], size, argv[2]);
    return n > 0 ? 0 : 1;
}
