/* The mpic command-line client: the command line read into a request body
 * (request.c), where the server and key come from (settings.c), and the
 * answer written for a person (report.c). main.c does the HTTP. */
#ifndef MPIC_CLI_H
#define MPIC_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

/* Exit statuses: the check's verdict, or that there is none. */
enum { MPIC_CLI_VALID = 0, MPIC_CLI_NOT_VALID = 1, MPIC_CLI_ERROR = 2 };

struct mpic_cli {
    /* Connection flags as given; NULL when absent (settings.c falls back). */
    const char *url, *key, *key_file, *config, *cacert;
    long timeout_s;
    bool json;          /* print the answer exactly as received */
    bool help, version;
    json_t *request;    /* the body to POST; owned; NULL with help or version */
};

/* Reads argv (options anywhere, as getopt_long permutes them). Returns 0, or
 * -1 with err naming the argument at fault. Flags that the DCV method does
 * not take are refused here; what needs the server's judgement (ranges,
 * required parameters, target syntax) is left to its 400. */
int mpic_cli_parse(int argc, char **argv, struct mpic_cli *out, struct mpic_error *err);
void mpic_cli_free(struct mpic_cli *c);
void mpic_cli_usage(FILE *out);

/* Where to send the request and with which key: flags > environment
 * (MPIC_URL, MPIC_API_KEY) > config file (--config, else
 * $XDG_CONFIG_HOME/mpic/cli.conf or ~/.config/mpic/cli.conf). */
struct mpic_cli_conn {
    char *endpoint;     /* the base URL with /v1/mpic appended */
    char *key;
    char *cacert;       /* NULL: the system's trust store */
};
int mpic_cli_settings(const struct mpic_cli *c, struct mpic_cli_conn *out, struct mpic_error *err);
void mpic_cli_conn_free(struct mpic_cli_conn *c);

/* A 200 answer as a table per attempt and a verdict line. Returns
 * MPIC_CLI_VALID or MPIC_CLI_NOT_VALID, or -1 with err when the body is not
 * an answer of the API. */
int mpic_cli_report(FILE *out, const char *body, size_t len, double elapsed_s, struct mpic_error *err);
/* Any other status, readably: a 400's validation_issues one per line. */
void mpic_cli_report_refusal(FILE *out, long status, const char *body, size_t len);

#endif
