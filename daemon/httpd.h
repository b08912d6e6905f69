/* What both daemons' HTTP servers share: JSON replies, TLS on libevent's
 * evhttp, and the command line. Edge code: it does I/O, so it is not in
 * common/. */
#ifndef MPIC_HTTPD_H
#define MPIC_HTTPD_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdbool.h>

/* Sends body (stolen) as application/json; a 500 when it cannot be serialised. */
void mpic_http_send_json(struct evhttp_request *req, int code, const char *reason, json_t *body);
/* Sends {"message": message}. */
void mpic_http_send_message(struct evhttp_request *req, int code, const char *reason, const char *message);

/* evhttp_set_bevcb callback: every accepted connection speaks TLS with the
 * SSL_CTX given as arg. */
struct bufferevent *mpic_http_tls_bev(struct event_base *base, void *ssl_ctx);

/* Binds http to host:port. The listening socket gets TCP_NODELAY, which
 * accepted sockets inherit: evhttp writes a reply's head and body
 * separately, and Nagle's algorithm would hold the body back until the
 * peer's delayed ACK (about 40 ms a request). -1 with errno on failure. */
int mpic_http_listen(struct evhttp *http, const char *host, unsigned short port);

/* Parses "-c CONFIG [-t]" (and -V, -h). Returns true to go on; false after
 * printing the version or the usage, with *exit_status 0 for -V and -h and 2
 * for wrong arguments. */
bool mpic_daemon_args(int argc, char **argv, const char *program, const char **config, bool *check_only,
                      int *exit_status);

#endif
