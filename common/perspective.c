#include "perspective.h"

#include <stddef.h>
#include <strings.h>

static const char *const rir_names[MPIC_RIR_COUNT] = { "ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC" };

const char *mpic_rir_name(enum mpic_rir rir)
{
    if ((unsigned)rir >= MPIC_RIR_COUNT)
        return "unknown";
    return rir_names[rir];
}

int mpic_rir_parse(const char *s, enum mpic_rir *out)
{
    if (s == NULL)
        return -1;
    for (int i = 0; i < MPIC_RIR_COUNT; i++) {
        if (strcasecmp(s, rir_names[i]) == 0) {
            *out = (enum mpic_rir)i;
            return 0;
        }
    }
    if (strcasecmp(s, "RIPE") == 0) {
        *out = MPIC_RIR_RIPE_NCC;
        return 0;
    }
    return -1;
}
