/* libFuzzer target for the orchestrator<->agent messages of common/wire_agent.c.
 *
 * Input layout: an agent request, a 0x00 octet, an agent reply (JSON cannot
 * hold a raw NUL, so the split is unambiguous). The request must survive a
 * parse / write / parse cycle unchanged; the reply is read against the
 * parsed request (or a CAA request when the first half is not one), and
 * what the orchestrator keeps of it must read back as itself. */
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

/* Writes r as the orchestrator would and returns the dump (malloc'd). */
static char *request_dump(const struct mpic_request *r)
{
    json_t *j = mpic_agent_request_json(r, &r->caa.domains);
    char *s = mpic_json_dump(j);
    json_decref(j);
    check(s != NULL);
    return s;
}

static bool request_round_trip(const char *body, size_t len, struct mpic_request *out)
{
    struct mpic_error err;
    if (mpic_agent_request_parse(body, len, out, &err) != 0) {
        check(err.msg[0] != '\0');
        return false;
    }
    check(out->target != NULL);
    check(out->check_type != MPIC_CHECK_DCV || out->has_dcv);
    char *first = request_dump(out);
    struct mpic_request again;
    check(mpic_agent_request_parse(first, strlen(first), &again, &err) == 0);
    char *second = request_dump(&again);
    check(strcmp(first, second) == 0);
    free(second);
    free(first);
    mpic_request_free(&again);
    return true;
}

static void response_round_trip(const char *body, size_t len, const struct mpic_request *req)
{
    struct mpic_error err;
    json_t *cr = mpic_agent_response_parse(body, len, "us-east-1", req, &err);
    if (cr == NULL) {
        check(err.msg[0] != '\0');
        return;
    }
    check(!json_is_true(json_object_get(cr, "check_passed")) ||
          json_is_true(json_object_get(cr, "check_completed")));
    char *kept = mpic_json_dump(cr);
    json_t *msg = mpic_agent_response_json("us-east-1", cr);
    char *wire = mpic_json_dump(msg);
    check(kept != NULL && wire != NULL);
    json_t *back = mpic_agent_response_parse(wire, strlen(wire), "us-east-1", req, &err);
    check(back != NULL);
    char *again = mpic_json_dump(back);
    check(again != NULL && strcmp(kept, again) == 0);
    /* Another perspective's reply is never taken for this one's. */
    check(mpic_agent_response_parse(wire, strlen(wire), "eu-west-1", req, &err) == NULL);
    free(again);
    json_decref(back);
    free(wire);
    json_decref(msg);
    free(kept);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct mpic_request caa_req = { .check_type = MPIC_CHECK_CAA };
    const uint8_t *nul = memchr(data, 0, size);
    size_t req_len = nul != NULL ? (size_t)(nul - data) : size;
    /* Exact-size copies so that ASan sees a read past either half. */
    char *req_body = malloc(req_len + 1);
    check(req_body != NULL);
    memcpy(req_body, data, req_len);
    size_t resp_len = nul != NULL ? size - req_len - 1 : 0;
    char *resp_body = malloc(resp_len + 1);
    check(resp_body != NULL);
    if (resp_len > 0)
        memcpy(resp_body, nul + 1, resp_len);

    struct mpic_request req;
    bool have = request_round_trip(req_body, req_len, &req);
    if (nul != NULL)
        response_round_trip(resp_body, resp_len, have ? &req : &caa_req);
    if (have)
        mpic_request_free(&req);
    free(resp_body);
    free(req_body);
    return 0;
}
