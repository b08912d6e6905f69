/* Rule selection for lab behaviours: first match wins, so a specific name
 * listed before a wildcard overrides it. */
#include "lab_behaviour.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {
    [MPIC_LAB_DELAY] = "delay",
    [MPIC_LAB_TRANSPORT_ERROR] = "transport-error",
    [MPIC_LAB_CLOSE] = "close",
    [MPIC_LAB_MALFORMED] = "malformed",
    [MPIC_LAB_RESULT] = "result",
};

const char *mpic_lab_action_name(enum mpic_lab_action a)
{
    return (size_t)a < sizeof action_names / sizeof action_names[0] ? action_names[a] : "?";
}

int mpic_lab_action_parse(const char *s, enum mpic_lab_action *out)
{
    for (size_t i = 0; i < sizeof action_names / sizeof action_names[0]; i++) {
        if (strcmp(s, action_names[i]) == 0) {
            *out = (enum mpic_lab_action)i;
            return 0;
        }
    }
    return -1;
}

/* Lower-cased copy of s without a trailing dot; false when it does not fit. */
static bool fold(const char *s, char *out, size_t outlen)
{
    size_t len = strlen(s);
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len >= outlen)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[len] = '\0';
    return true;
}

bool mpic_lab_pattern_match(const char *pattern, const char *target)
{
    char p[256], name[256];
    /* Longer than any DNS name: no rule was written for it. */
    return fold(pattern, p, sizeof p) && fold(target, name, sizeof name) && fnmatch(p, name, 0) == 0;
}

const struct mpic_lab_behaviour *mpic_lab_behaviour_find(const struct mpic_lab_behaviours *rules,
                                                         const char *target)
{
    for (size_t i = 0; rules != NULL && target != NULL && i < rules->n; i++) {
        if (mpic_lab_pattern_match(rules->v[i].match, target))
            return &rules->v[i];
    }
    return NULL;
}

void mpic_lab_behaviour_describe(const struct mpic_lab_behaviour *b, char *out, size_t len)
{
    char what[320];
    switch (b->action) {
    case MPIC_LAB_TRANSPORT_ERROR:
        snprintf(what, sizeof what, "transport-error HTTP %u", b->status);
        break;
    case MPIC_LAB_RESULT:
        snprintf(what, sizeof what, "result passed=%s completed=%s%s%.200s%s", b->passed ? "true" : "false",
                 b->completed ? "true" : "false", b->error ? " error=\"" : "", b->error ? b->error : "",
                 b->error ? "\"" : "");
        break;
    default:
        snprintf(what, sizeof what, "%s", mpic_lab_action_name(b->action));
        break;
    }
    snprintf(out, len, "%s: %s after %u ms", b->match, what, b->delay_ms);
}

void mpic_lab_behaviours_free(struct mpic_lab_behaviours *rules)
{
    for (size_t i = 0; i < rules->n; i++) {
        free(rules->v[i].match);
        free(rules->v[i].error);
    }
    free(rules->v);
    rules->v = NULL;
    rules->n = 0;
}
