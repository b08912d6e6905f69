/* agent.lab_behaviours (docs/conformance.md, Scenario mode): scripted answers for
 * chosen names, only in builds configured with MPIC_LAB_BEHAVIOUR and only
 * under agent.policy open-mpic-reference, so that a production agent can
 * never be told to report anything but what it observed. */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>

#define LAB_RULES_MAX 256
#define LAB_DELAY_MAX_MS 300000
#define LAB_PATTERN_MAX 253

#ifndef MPIC_LAB_BEHAVIOUR

int mpic_cfg_parse_lab_behaviours(struct loader *ld, json_t *arr, struct mpic_agent_config *a)
{
    return mpic_cfg_fail(ld, "agent.lab_behaviours", "this build has no lab behaviours (they exist only in test"
                         " and lab builds, configured with -DMPIC_LAB_BEHAVIOUR=ON)");
}

#else

static int parse_result(struct loader *ld, json_t *obj, const char *kp, struct mpic_lab_behaviour *b)
{
    static const char *const keys[] = { "passed", "completed", "error", NULL };
    if (mpic_cfg_want_object(ld, obj, kp) < 0 || mpic_cfg_check_keys(ld, obj, kp, keys) < 0)
        return -1;
    char k[KEYPATH_LEN];
    mpic_cfg_keypath_key(k, kp, "passed");
    if (json_object_get(obj, "passed") == NULL)
        return mpic_cfg_fail(ld, k, "required key is missing");
    b->completed = true;
    if (mpic_cfg_opt_bool(ld, obj, kp, "passed", &b->passed) < 0 ||
        mpic_cfg_opt_bool(ld, obj, kp, "completed", &b->completed) < 0)
        return -1;
    if (b->passed && !b->completed)
        return mpic_cfg_fail(ld, k, "a check that did not complete cannot have passed");
    json_t *v = json_object_get(obj, "error");
    const char *s = NULL;
    mpic_cfg_keypath_key(k, kp, "error");
    if (v != NULL && (mpic_cfg_want_string(ld, v, k, &s) < 0 || mpic_cfg_dup_str(ld, k, s, &b->error) < 0))
        return -1;
    return 0;
}

static int parse_rule(struct loader *ld, json_t *obj, const char *kp, struct mpic_lab_behaviour *b)
{
    static const char *const keys[] = { "match", "action", "delay_ms", "status", "result", NULL };
    char k[KEYPATH_LEN], show[SHOW_LEN];
    const char *s = NULL;
    if (mpic_cfg_want_object(ld, obj, kp) < 0 || mpic_cfg_check_keys(ld, obj, kp, keys) < 0)
        return -1;
    mpic_cfg_keypath_key(k, kp, "match");
    json_t *v = json_object_get(obj, "match");
    if (v == NULL)
        return mpic_cfg_fail(ld, k, "required key is missing");
    if (mpic_cfg_want_string(ld, v, k, &s) < 0)
        return -1;
    if (s[0] == '\0' || strlen(s) > LAB_PATTERN_MAX)
        return mpic_cfg_fail(ld, k, "expected a glob of 1..%d characters", LAB_PATTERN_MAX);
    if (mpic_cfg_dup_str(ld, k, s, &b->match) < 0)
        return -1;

    mpic_cfg_keypath_key(k, kp, "action");
    if ((v = json_object_get(obj, "action")) == NULL)
        return mpic_cfg_fail(ld, k, "required key is missing");
    if (mpic_cfg_want_string(ld, v, k, &s) < 0)
        return -1;
    if (mpic_lab_action_parse(s, &b->action) != 0)
        return mpic_cfg_fail(ld, k, "unknown action \"%s\" (expected delay, transport-error, close, malformed"
                             " or result)", SHOW(s, show));

    b->status = 502;
    if (mpic_cfg_opt_unsigned(ld, obj, kp, "delay_ms", 0, LAB_DELAY_MAX_MS, &b->delay_ms) < 0 ||
        mpic_cfg_opt_unsigned(ld, obj, kp, "status", 400, 599, &b->status) < 0)
        return -1;
    if (b->action == MPIC_LAB_DELAY && b->delay_ms == 0)
        return mpic_cfg_fail(ld, kp, "action delay needs delay_ms above 0");
    if (json_object_get(obj, "status") != NULL && b->action != MPIC_LAB_TRANSPORT_ERROR) {
        mpic_cfg_keypath_key(k, kp, "status");
        return mpic_cfg_fail(ld, k, "only action transport-error takes a status");
    }
    mpic_cfg_keypath_key(k, kp, "result");
    v = json_object_get(obj, "result");
    if ((v != NULL) != (b->action == MPIC_LAB_RESULT))
        return mpic_cfg_fail(ld, k, v ? "only action result takes a result" : "action result needs a result");
    return v != NULL ? parse_result(ld, v, k, b) : 0;
}

int mpic_cfg_parse_lab_behaviours(struct loader *ld, json_t *arr, struct mpic_agent_config *a)
{
    const char *P = "agent.lab_behaviours";
    if (a->policy != MPIC_PROFILE_OPEN_MPIC_REFERENCE)
        return mpic_cfg_fail(ld, P, "refused under policy %s: scripted answers are for lab clusters only"
                             " (set agent.policy to open-mpic-reference)", mpic_policy_profile_name(a->policy));
    if (mpic_cfg_want_array(ld, arr, P) < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (n > LAB_RULES_MAX)
        return mpic_cfg_fail(ld, P, "%zu rules, at most %d are allowed", n, LAB_RULES_MAX);
    if (n == 0)
        return 0;
    a->lab_behaviours.v = calloc(n, sizeof *a->lab_behaviours.v);
    if (a->lab_behaviours.v == NULL)
        return mpic_cfg_fail_oom(ld, P);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN];
        mpic_cfg_keypath_index(kp, P, i);
        a->lab_behaviours.n++;   /* counted first: a half-filled rule is freed too */
        if (parse_rule(ld, v, kp, &a->lab_behaviours.v[i]) < 0)
            return -1;
    }
    return 0;
}

#endif
