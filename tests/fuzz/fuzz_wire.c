/* libFuzzer target for the client side of the wire model (common/wire_request.c): a request body is
 * validated against fixed server limits. A refusal must list its issues; an
 * accepted request must resolve to an orchestration inside the limits, be
 * echoed, and turn into an agent request that the agents accept (the
 * orchestrator<->agent messages have their own target, fuzz_agent_msg). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void check_refusal(json_t *issues)
{
    check(json_array_size(issues) > 0);
    size_t i;
    json_t *e;
    json_array_foreach(issues, i, e) {
        check(json_is_string(json_object_get(e, "issue_type")));
        check(json_is_string(json_object_get(e, "message")));
    }
    json_t *body = mpic_validation_failed_body(json_incref(issues));
    char *s = mpic_json_dump(body);
    check(s != NULL);
    free(s);
    json_decref(body);
}

static void check_accepted(const struct mpic_request *r, const struct mpic_orchestration *o,
                           const struct mpic_request_limits *lim)
{
    check(r->target != NULL);
    check(o->perspective_count >= 2 && o->perspective_count <= lim->n_perspectives);
    check(o->quorum_count >= 1 && o->quorum_count <= o->perspective_count);
    check(o->max_attempts >= 1 && o->max_attempts <= lim->max_attempts_cap);
    check(o->cohort == 0 || o->max_attempts == 1);

    /* What the orchestrator sends, with the configured issuers when the client named none. */
    static char *issuers[] = { "ca.example" };
    static const struct mpic_strv dflt = { issuers, 1 };
    json_t *j = mpic_agent_request_json(r, r->caa.domains.v != NULL ? &r->caa.domains : &dflt);
    char *s = mpic_json_dump(j);
    check(s != NULL);
    struct mpic_request back;
    struct mpic_error err;
    check(mpic_agent_request_parse(s, strlen(s), &back, &err) == 0);
    /* The agents are sent the name the checks use: U-labels as A-labels. */
    check(back.check_type == r->check_type && strcmp(back.target, r->target_info.name) == 0);
    mpic_request_free(&back);
    free(s);
    json_decref(j);

    struct mpic_response_fields f = { .mpic_completed = true, .request = r, .actual = *o,
                                      .perspectives = json_array() };
    json_t *resp = mpic_response_json(&f);
    s = mpic_json_dump(resp);
    check(s != NULL);
    free(s);
    json_decref(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct mpic_request_limits lim = { 6, 6, 3 };
    /* An exact-size copy so that ASan sees a read past the body. */
    char *body = malloc(size ? size : 1);
    check(body != NULL);
    if (size > 0)
        memcpy(body, data, size);
    struct mpic_request r;
    struct mpic_orchestration o;
    json_t *issues = json_array();
    if (mpic_request_parse(body, size, &lim, &r, &o, issues) == 0) {
        check(json_array_size(issues) == 0);
        check_accepted(&r, &o, &lim);
    } else {
        check_refusal(issues);
    }
    mpic_request_free(&r);
    json_decref(issues);
    free(body);
    return 0;
}
