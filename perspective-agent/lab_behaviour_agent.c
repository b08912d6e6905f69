/* Scripted answers for lab agents. The orchestrator must meet each of them as
 * it meets a real fault: a status other than 200, a connection closed before
 * any answer, a body that is not JSON (docs/conformance.md, Scenario mode). */
#include "lab_behaviour_agent.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "httpd.h"
#include "log.h"

void mpic_lab_answer_raw(struct evhttp_request *req, const struct mpic_lab_behaviour *b)
{
    static const char malformed[] = "{\"perspective_code\": \"lab\", \"check_response\": ";   /* cut short */
    struct evbuffer *buf;
    switch (b->action) {
    case MPIC_LAB_TRANSPORT_ERROR:
        mpic_http_send_message(req, (int)b->status, "Lab Behaviour", "lab behaviour: transport error");
        break;
    case MPIC_LAB_MALFORMED:
        buf = evbuffer_new();
        if (buf == NULL) {
            evhttp_send_error(req, 500, "out of memory");
            break;
        }
        evbuffer_add(buf, malformed, strlen(malformed));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
        evhttp_send_reply(req, 200, "OK", buf);
        evbuffer_free(buf);
        break;
    default:   /* close: the pending request goes with its connection */
        evhttp_connection_free(evhttp_request_get_connection(req));
        break;
    }
}

json_t *mpic_lab_check_response(const struct mpic_lab_behaviour *b, enum mpic_check_type type, json_t *details)
{
    json_t *errors = NULL;
    if (b->error != NULL || !b->completed)
        errors = mpic_error_list_json(MPIC_ERR_LAB_BEHAVIOUR, b->error ? b->error : "lab behaviour: not completed");
    return mpic_check_response_json(b->completed, b->passed, errors, mpic_clock_now_ns(), type, details);
}

void mpic_lab_print(const struct mpic_lab_behaviours *rules)
{
    if (rules->n > 0)
        printf("lab behaviours (first match wins; this agent does not always report what it observed):\n");
    for (size_t i = 0; i < rules->n; i++) {
        char line[600];
        mpic_lab_behaviour_describe(&rules->v[i], line, sizeof line);
        printf("  %s\n", line);
    }
}
