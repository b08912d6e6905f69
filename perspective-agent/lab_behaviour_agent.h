/* The agent's side of agent.lab_behaviours (common/lab_behaviour.h): the
 * answers that are not a check response. Compiled into lab builds only
 * (MPIC_LAB_BEHAVIOUR); main.c owns the job and its delay timer. */
#ifndef MPIC_LAB_BEHAVIOUR_AGENT_H
#define MPIC_LAB_BEHAVIOUR_AGENT_H

#include <jansson.h>

#include "http_server.h"
#include "lab_behaviour.h"
#include "wire.h"

/* Answers req as transport-error, close or malformed say (close frees the
 * connection, and req with it): either way req must not be used again. */
void mpic_lab_answer_raw(struct mpic_http_request *req, const struct mpic_lab_behaviour *b);

/* The check response a result rule reports, with the check's empty details. */
json_t *mpic_lab_check_response(const struct mpic_lab_behaviour *b, enum mpic_check_type type, json_t *details);

/* "mpic-agent -t": one line per configured rule. */
void mpic_lab_print(const struct mpic_lab_behaviours *rules);

#endif
