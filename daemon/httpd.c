#include "httpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"

void mpic_http_send_json(struct mpic_http_request *req, int code, const char *reason, json_t *body)
{
    static const char oom[] = "{\"message\":\"out of memory\"}";
    char *text = body ? mpic_json_dump(body) : NULL;
    if (text != NULL)
        mpic_http_reply(req, code, reason, text, strlen(text));
    else
        mpic_http_reply(req, 500, "Internal Server Error", oom, sizeof oom - 1);
    free(text);
    json_decref(body);
}

void mpic_http_send_message(struct mpic_http_request *req, int code, const char *reason, const char *message)
{
    mpic_http_send_json(req, code, reason, json_pack("{s:s}", "message", message));
}

void mpic_http_limits_print(const char *config, const struct mpic_http_limits *h, size_t max_body_bytes)
{
    printf("%s: http: head within %u ms, body within %u ms, keep-alive idle %u ms, at most %u connections and %u"
           " requests in flight, head at most %u bytes and %u fields, body at most %zu bytes\n", config,
           h->head_timeout_ms, h->body_timeout_ms, h->idle_timeout_ms, h->max_connections, h->max_inflight,
           h->max_header_bytes, h->max_headers, max_body_bytes);
}
