/* Lab behaviours: a test or lab agent (built with MPIC_LAB_BEHAVIOUR, run
 * under policy open-mpic-reference) may answer chosen target names in a
 * scripted way, so that a cluster shows clients partial failures, timeouts,
 * lost perspectives and malformed replies on demand (docs/conformance.md, Scenario mode).
 * This part is pure: which rule a target name selects and how a rule reads;
 * perspective-agent/lab_behaviour_agent.c does the answering. */
#ifndef MPIC_LAB_BEHAVIOUR_H
#define MPIC_LAB_BEHAVIOUR_H

#include <stdbool.h>
#include <stddef.h>

enum mpic_lab_action {
    MPIC_LAB_DELAY,            /* wait delay_ms, then run the real check */
    MPIC_LAB_TRANSPORT_ERROR,  /* answer HTTP status (502 unless given) instead of a check response */
    MPIC_LAB_CLOSE,            /* close the connection without answering */
    MPIC_LAB_MALFORMED,        /* answer 200 with a body that is not JSON */
    MPIC_LAB_RESULT,           /* answer the fixed passed/completed/error */
};

struct mpic_lab_behaviour {
    char *match;               /* shell glob on the lower-cased target without trailing dot */
    enum mpic_lab_action action;
    unsigned delay_ms;         /* before acting, for every action */
    unsigned status;           /* transport-error: 400..599 */
    bool passed, completed;    /* result */
    char *error;               /* result: error_message, NULL for none */
};

struct mpic_lab_behaviours {
    struct mpic_lab_behaviour *v;
    size_t n;
};

/* "delay", "transport-error", "close", "malformed", "result". */
const char *mpic_lab_action_name(enum mpic_lab_action a);
int mpic_lab_action_parse(const char *s, enum mpic_lab_action *out);

/* Whether the glob matches the target; case-insensitive, a trailing dot of
 * the target ignored, '*' crosses labels ("*.x.test" is a suffix match). */
bool mpic_lab_pattern_match(const char *pattern, const char *target);

/* The first rule, in configured order, whose pattern matches; NULL for none. */
const struct mpic_lab_behaviour *mpic_lab_behaviour_find(const struct mpic_lab_behaviours *rules,
                                                         const char *target);

/* One line for mpic-agent -t and the log, e.g.
 * "*.x.test: result passed=false completed=true after 0 ms". */
void mpic_lab_behaviour_describe(const struct mpic_lab_behaviour *b, char *out, size_t len);

void mpic_lab_behaviours_free(struct mpic_lab_behaviours *rules);

#endif
