#include "httpd.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "wire.h"

void mpic_http_send_json(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
    char *text = body ? mpic_json_dump(body) : NULL;
    struct evbuffer *buf = evbuffer_new();
    if (text != NULL && buf != NULL) {
        evbuffer_add(buf, text, strlen(text));
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
        evhttp_send_reply(req, code, reason, buf);
    } else {
        evhttp_send_error(req, 500, "out of memory");
    }
    if (buf != NULL)
        evbuffer_free(buf);
    free(text);
    json_decref(body);
}

void mpic_http_send_message(struct evhttp_request *req, int code, const char *reason, const char *message)
{
    mpic_http_send_json(req, code, reason, json_pack("{s:s}", "message", message));
}

struct bufferevent *mpic_http_tls_bev(struct event_base *base, void *ssl_ctx)
{
    /* evhttp serves a NULL answer as a plain-text connection: on an agent that
     * would skip the client certificate. Out of memory here, stop instead. */
    SSL *ssl = SSL_new(ssl_ctx);
    struct bufferevent *bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                                   BEV_OPT_CLOSE_ON_FREE)
                                  : NULL;
    if (bev == NULL) {
        mpic_log(MPIC_LOG_ERROR, "tls_setup_failed", "error=\"cannot create a TLS connection; stopping rather than"
                 " serving without TLS\"");
        abort();
    }
    /* Clients that drop the connection without close_notify are common and harmless here. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

int mpic_http_listen(struct evhttp *http, const char *host, unsigned short port)
{
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(http, host, port);
    if (bound == NULL)
        return -1;
    int one = 1;
    return setsockopt(evhttp_bound_socket_get_fd(bound), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
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
