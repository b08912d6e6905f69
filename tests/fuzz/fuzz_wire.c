/* Feeds arbitrary bytes to every parser that reads untrusted JSON: client
 * requests, agent requests and agent replies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const struct mpic_request caa_req = { .check_type = MPIC_CHECK_CAA };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct mpic_request_limits lim = { 6, 6, 3 };
    struct mpic_request r;
    struct mpic_orchestration o;
    struct mpic_error err;
    json_t *issues = json_array();
    if (mpic_request_parse((const char *)data, size, &lim, &r, &o, issues) == 0) {
        json_t *j = mpic_agent_request_json(&r, &r.caa.domains);
        char *s = mpic_json_dump(j);
        struct mpic_request back;
        if (s != NULL && mpic_agent_request_parse(s, strlen(s), &back, &err) == 0)
            mpic_request_free(&back);
        free(s);
        json_decref(j);
    }
    mpic_request_free(&r);
    json_decref(issues);
    json_t *cr = mpic_agent_response_parse((const char *)data, size, "us-east-1", &caa_req, &err);
    json_decref(cr);
    return 0;
}
