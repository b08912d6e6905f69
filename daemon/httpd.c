#include "httpd.h"

#include <getopt.h>
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

bool mpic_daemon_args(int argc, char **argv, const char *program, const char **config, bool *check_only,
                      int *exit_status)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check", no_argument, NULL, 't' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    *config = NULL;
    *check_only = false;
    while ((opt = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': *config = optarg; break;
        case 't': *check_only = true; break;
        case 'V':
            printf("%s %s\n", program, MPIC_VERSION);
            *exit_status = 0;
            return false;
        default:
            fprintf(stderr, "usage: %s -c CONFIG [-t]\n"
                            "  -c, --config CONFIG  configuration file (mpic.conf(5), docs/config.md)\n"
                            "  -t, --check          check the configuration and exit\n"
                            "  -V, --version        print the version and exit\n", program);
            *exit_status = opt == 'h' ? 0 : 2;
            return false;
        }
    }
    if (*config == NULL || optind != argc) {
        fprintf(stderr, "usage: %s -c CONFIG [-t]\n", program);
        *exit_status = 2;
        return false;
    }
    return true;
}
