/* What both daemons' HTTP servers share: JSON replies on http_server.c and
 * the command line. Edge code: it does I/O, so it is not in common/. */
#ifndef MPIC_HTTPD_H
#define MPIC_HTTPD_H

#include <jansson.h>
#include <stdbool.h>

#include "http_server.h"

/* Sends body (stolen) as application/json; a 500 when it cannot be serialised. */
void mpic_http_send_json(struct mpic_http_request *req, int code, const char *reason, json_t *body);
/* Sends {"message": message}. */
void mpic_http_send_message(struct mpic_http_request *req, int code, const char *reason, const char *message);

/* "-t": one line with the HTTP server's limits. */
void mpic_http_limits_print(const char *config, const struct mpic_http_limits *h, size_t max_body_bytes);

#endif
