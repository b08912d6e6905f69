/* mpic(1): asks an Open MPIC server for one CAA check or domain control
 * validation and says whether it was corroborated. Exit 0 valid, 1 not
 * valid, 2 no verdict (usage, configuration, network, or a refusal). */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "wire.h"

#define MAX_ANSWER (16u << 20)   /* far above any answer; a bound on a wrong server */

struct answer {
    char *data;
    size_t len;
    bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *userdata)
{
    struct answer *a = userdata;
    size_t add = size * n;
    if (a->len + add > MAX_ANSWER) {
        a->too_big = true;
        return 0;
    }
    char *grown = realloc(a->data, a->len + add + 1);
    if (grown == NULL)
        return 0;
    a->data = grown;
    memcpy(a->data + a->len, ptr, add);
    a->len += add;
    a->data[a->len] = '\0';
    return add;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct progress {
    const char *what;
    double start;
    long shown;   /* seconds last written; -1 = nothing on the line */
};

/* Only on a terminal: a pipe or a log file gets no carriage returns. curl
 * calls this about once a second while it waits, so whole seconds it is. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct progress *p = userdata;
    double waited = now_s() - p->start;
    if (waited >= 1 && (long)waited != p->shown) {
        p->shown = (long)waited;
        fprintf(stderr, "\rmpic: checking %s ... %ld s", p->what, p->shown);
        fflush(stderr);
    }
    return 0;
}

static long post(const struct mpic_cli *cli, const struct mpic_cli_conn *conn, const char *body, struct answer *a,
                 struct progress *prog, char errbuf[CURL_ERROR_SIZE])
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        return -1;
    char *key_header = malloc(strlen(conn->key) + sizeof "x-api-key: ");
    strcpy(key_header, "x-api-key: ");
    strcat(key_header, conn->key);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, key_header);
    curl_easy_setopt(e, CURLOPT_URL, conn->endpoint);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mpic/" MPIC_VERSION);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, cli->timeout_s);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    if (conn->cacert != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, conn->cacert);
    if (isatty(STDERR_FILENO)) {
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, prog);
    }
    CURLcode rc = curl_easy_perform(e);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    else if (errbuf[0] == '\0')
        strcpy(errbuf, curl_easy_strerror(rc));
    if (prog->shown >= 0)
        fputs("\r\033[K", stderr);
    curl_slist_free_all(h);
    memset(key_header, 0, strlen(key_header));
    free(key_header);
    curl_easy_cleanup(e);
    return status;
}

int main(int argc, char **argv)
{
    struct mpic_cli cli;
    struct mpic_cli_conn conn = { 0 };
    struct mpic_error err = { { 0 } };
    if (mpic_cli_parse(argc, argv, &cli, &err) != 0) {
        fprintf(stderr, "mpic: %s\n(mpic --help shows the usage)\n", err.msg);
        return MPIC_CLI_ERROR;
    }
    if (cli.help || cli.version) {
        if (cli.help)
            mpic_cli_usage(stdout);
        else
            printf("mpic %s\n", MPIC_VERSION);
        return 0;
    }
    if (mpic_cli_settings(&cli, &conn, &err) != 0) {
        fprintf(stderr, "mpic: %s\n", err.msg);
        mpic_cli_free(&cli);
        return MPIC_CLI_ERROR;
    }

    int exit_code = MPIC_CLI_ERROR;
    char *body = mpic_json_dump(cli.request);
    struct answer a = { 0 };
    struct progress prog = { json_string_value(json_object_get(cli.request, "domain_or_ip_target")), now_s(), -1 };
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_global_init(CURL_GLOBAL_DEFAULT);
    long status = post(&cli, &conn, body, &a, &prog, errbuf);
    double elapsed = now_s() - prog.start;
    if (status < 0) {
        fprintf(stderr, "mpic: %s: %s\n", conn.endpoint, a.too_big ? "answer larger than 16 MiB" : errbuf);
    } else if (cli.json && a.len > 0) {
        /* Exactly as received: a script parses this. */
        fwrite(a.data, 1, a.len, stdout);
        if (a.data[a.len - 1] != '\n' && isatty(STDOUT_FILENO))
            fputc('\n', stdout);   /* for the prompt's sake only */
        if (status == 200) {
            json_t *root = json_loadb(a.data, a.len, 0, NULL);
            json_t *valid = json_object_get(root, "is_valid");
            exit_code = !json_is_boolean(valid) ? MPIC_CLI_ERROR
                      : json_is_true(valid) ? MPIC_CLI_VALID : MPIC_CLI_NOT_VALID;
            json_decref(root);
        } else {
            mpic_cli_report_refusal(stderr, status, a.data, a.len);
        }
    } else if (status == 200) {
        exit_code = mpic_cli_report(stdout, a.data ? a.data : "", a.len, elapsed, &err);
        if (exit_code < 0) {
            fprintf(stderr, "mpic: %s: %s\n", conn.endpoint, err.msg);
            exit_code = MPIC_CLI_ERROR;
        }
    } else {
        mpic_cli_report_refusal(stderr, status, a.data ? a.data : "", a.len);
    }
    curl_global_cleanup();
    free(a.data);
    free(body);
    mpic_cli_conn_free(&conn);
    mpic_cli_free(&cli);
    return exit_code;
}
