/* A network perspective as the pure rules see it (cohort selection, quorum,
 * BR policy): its code, its RIR, the perspectives too close to it, where it
 * and its resolver are. The configuration loader (daemon/config.h) fills a
 * catalogue of these; nothing here reads a file. */
#ifndef MPIC_PERSPECTIVE_H
#define MPIC_PERSPECTIVE_H

#include <stdbool.h>

#include "strv.h"

enum mpic_rir { MPIC_RIR_ARIN, MPIC_RIR_RIPE_NCC, MPIC_RIR_APNIC, MPIC_RIR_LACNIC, MPIC_RIR_AFRINIC };
#define MPIC_RIR_COUNT 5

/* "ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC" (the Open MPIC spelling). */
const char *mpic_rir_name(enum mpic_rir rir);
/* Accepts the names above and "RIPE" (Boulder's spelling), case-insensitively. */
int mpic_rir_parse(const char *s, enum mpic_rir *out);

struct mpic_perspective {
    char *code;             /* e.g. "us-east-1": [a-z0-9-], 1..63 chars, unique */
    char *name;             /* human readable, optional (NULL) */
    enum mpic_rir rir;
    struct mpic_strv too_close;  /* codes; symmetric (validated both ways) */
    char *url;              /* agent base URL "https://host:port", required for the orchestrator */
    bool has_location;      /* location given; required under policy cabf-br */
    double lat, lon;        /* degrees; where outbound traffic first reaches the provider */
    bool has_resolver;      /* a recursive resolver not co-located with the perspective */
    double resolver_lat, resolver_lon;
    enum mpic_rir resolver_rir;  /* equals rir (validated) */
};

#endif
