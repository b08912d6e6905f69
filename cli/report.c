/* The answer written for a person: one table per attempt (a row per
 * perspective) and a verdict line with the quorum. The answer names no RIR
 * and no per-perspective latency, so neither is shown; the elapsed time is
 * the client's own. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dcv.h"

enum { COL_CODE, COL_PASSED, COL_COMPLETED, COL_WHERE, COL_SEEN, COL_ERROR, N_COLS };

struct table {
    const char *head[N_COLS];
    char **cells;       /* rows * N_COLS, owned */
    size_t rows;
};

static char *dup_or_dash(const char *s)
{
    return strdup(s && *s ? s : "-");
}

/* Strings of a JSON array joined by sep; "-" for null or empty. */
static char *joined(json_t *a, const char *sep)
{
    size_t len = 1, i;
    json_t *e;
    json_array_foreach(a, i, e)
        len += strlen(json_string_value(e) ? json_string_value(e) : "") + strlen(sep);
    if (json_array_size(a) == 0)
        return strdup("-");
    char *s = calloc(len, 1);
    json_array_foreach(a, i, e) {
        if (i > 0)
            strcat(s, sep);
        strcat(s, json_string_value(e) ? json_string_value(e) : "");
    }
    return s;
}

static char *errors_cell(json_t *errors)
{
    json_t *texts = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const char *type = json_string_value(json_object_get(e, "error_type"));
        const char *msg = json_string_value(json_object_get(e, "error_message"));
        json_array_append_new(texts, json_sprintf("%s: %s", type ? type : "?", msg ? msg : ""));
    }
    char *s = joined(texts, "; ");
    json_decref(texts);
    return s;
}

/* The two detail columns, by how the check was observed. */
static void detail_cells(json_t *d, enum mpic_dcv_kind kind, bool caa, char **where, char **seen)
{
    if (caa || kind == MPIC_DCV_KIND_DNS) {
        *where = dup_or_dash(json_string_value(json_object_get(d, "found_at")));
        *seen = joined(json_object_get(d, "records_seen"), "; ");
    } else if (kind == MPIC_DCV_KIND_HTTP) {
        *where = dup_or_dash(json_string_value(json_object_get(d, "response_url")));
        json_t *st = json_object_get(d, "response_status_code");
        *seen = json_is_integer(st) ? json_dumps(st, JSON_ENCODE_ANY) : strdup("-");
    } else {
        *where = dup_or_dash(json_string_value(json_object_get(d, "common_name")));
        *seen = strdup("");
    }
}

static void print_table(FILE *out, json_t *perspectives, bool caa, enum mpic_dcv_kind kind)
{
    struct table t = { .head = { "PERSPECTIVE", "PASSED", "COMPLETED", "FOUND AT", "RECORDS", "ERROR" } };
    if (!caa && kind == MPIC_DCV_KIND_HTTP) {
        t.head[COL_WHERE] = "URL";
        t.head[COL_SEEN] = "STATUS";
    } else if (!caa && kind == MPIC_DCV_KIND_TLS_ALPN) {
        t.head[COL_WHERE] = "COMMON NAME";
        t.head[COL_SEEN] = "";
    }
    t.rows = json_array_size(perspectives);
    t.cells = calloc(t.rows * N_COLS + 1, sizeof(char *));
    size_t widths[N_COLS], i;
    for (int c = 0; c < N_COLS; c++)
        widths[c] = strlen(t.head[c]);
    json_t *p;
    json_array_foreach(perspectives, i, p) {
        json_t *cr = json_object_get(p, "check_response");
        char **row = t.cells + i * N_COLS;
        row[COL_CODE] = dup_or_dash(json_string_value(json_object_get(p, "perspective_code")));
        row[COL_PASSED] = strdup(json_is_true(json_object_get(cr, "check_passed")) ? "yes" : "no");
        row[COL_COMPLETED] = strdup(json_is_true(json_object_get(cr, "check_completed")) ? "yes" : "no");
        detail_cells(json_object_get(cr, "details"), kind, caa, &row[COL_WHERE], &row[COL_SEEN]);
        row[COL_ERROR] = errors_cell(json_object_get(cr, "errors"));
        for (int c = 0; c < N_COLS; c++)
            if (strlen(row[c]) > widths[c])
                widths[c] = strlen(row[c]);
    }
    for (size_t r = 0; r <= t.rows; r++) {
        for (int c = 0; c < N_COLS; c++) {
            const char *cell = r == 0 ? t.head[c] : t.cells[(r - 1) * N_COLS + c];
            if (c == N_COLS - 1)
                fprintf(out, "%s\n", cell);
            else
                fprintf(out, "%-*s  ", (int)widths[c], cell);
        }
    }
    for (size_t k = 0; k < t.rows * N_COLS; k++)
        free(t.cells[k]);
    free(t.cells);
}

static long long count_passed(json_t *perspectives)
{
    long long n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(perspectives, i, p)
        n += json_is_true(json_object_get(json_object_get(p, "check_response"), "check_passed"));
    return n;
}

int mpic_cli_report(FILE *out, const char *body, size_t len, double elapsed_s, struct mpic_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    json_t *actual = json_object_get(root, "actual_orchestration_parameters");
    json_t *perspectives = json_object_get(root, "perspectives");
    json_t *valid = json_object_get(root, "is_valid");
    const char *type = json_string_value(json_object_get(root, "check_type"));
    const char *target = json_string_value(json_object_get(root, "domain_or_ip_target"));
    if (!json_is_array(perspectives) || !json_is_boolean(valid) || !json_is_object(actual) || type == NULL ||
        target == NULL) {
        json_decref(root);
        return mpic_error_set(err, "the server's 200 answer is not an Open MPIC response");
    }
    bool caa = strcmp(type, "caa") == 0;
    const char *method = json_string_value(json_object_get(json_object_get(root, "dcv_check_parameters"),
                                                           "validation_method"));
    enum mpic_dcv_method m = MPIC_DCV_ACME_DNS_01;
    if (!caa && method != NULL)
        mpic_dcv_method_parse(method, &m);
    enum mpic_dcv_kind kind = mpic_dcv_method_kind(m);

    json_t *trace = json_object_get(root, "trace_identifier");
    fprintf(out, "%s check of %s%s%s%s%s\n", caa ? "CAA" : "DCV", target, caa ? "" : " by ", caa ? "" : method,
            json_is_string(trace) ? ", trace " : "", json_is_string(trace) ? json_string_value(trace) : "");
    json_t *previous = json_object_get(root, "previous_attempt_results");
    size_t attempts = json_array_size(previous) + 1, i;
    json_t *attempt;
    json_array_foreach(previous, i, attempt) {
        fprintf(out, "\nattempt %zu of %zu\n", i + 1, attempts);
        print_table(out, attempt, caa, kind);
    }
    if (attempts > 1)
        fprintf(out, "\nattempt %zu of %zu\n", attempts, attempts);
    else
        fputc('\n', out);
    print_table(out, perspectives, caa, kind);

    long long n = json_integer_value(json_object_get(actual, "perspective_count"));
    long long q = json_integer_value(json_object_get(actual, "quorum_count"));
    long long a = json_integer_value(json_object_get(actual, "attempt_count"));
    fprintf(out, "\n%s: %lld/%lld perspectives passed (quorum %lld), %lld attempt%s, %.2f s%s\n",
            json_is_true(valid) ? "VALID" : "NOT VALID", count_passed(perspectives), n, q, a, a == 1 ? "" : "s",
            elapsed_s, json_is_false(json_object_get(root, "mpic_completed")) ? ", MPIC not completed" : "");
    json_decref(root);
    return json_is_true(valid) ? MPIC_CLI_VALID : MPIC_CLI_NOT_VALID;
}

void mpic_cli_report_refusal(FILE *out, long status, const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *issues = json_object_get(root, "validation_issues");
    const char *message = json_string_value(json_object_get(root, "message"));
    if (status == 400 && json_is_array(issues)) {
        fprintf(out, "mpic: the server refused the request (HTTP 400):\n");
        size_t i;
        json_t *issue;
        json_array_foreach(issues, i, issue) {
            const char *type = json_string_value(json_object_get(issue, "issue_type"));
            const char *msg = json_string_value(json_object_get(issue, "message"));
            fprintf(out, "  %s: %s\n", type ? type : "?", msg ? msg : "");
        }
    } else if (status == 403) {
        fprintf(out, "mpic: HTTP 403 %s: the API key was refused\n", message ? message : "Forbidden");
    } else if (message != NULL) {
        fprintf(out, "mpic: HTTP %ld: %s\n", status, message);
    } else {
        /* Not ours to parse: show the start of it, without control characters. */
        fprintf(out, "mpic: HTTP %ld", status);
        if (len > 0)
            fputs(": ", out);
        for (size_t k = 0; k < len && k < 300; k++)
            fputc((unsigned char)body[k] >= 0x20 && body[k] != 0x7f ? body[k] : ' ', out);
        fputc('\n', out);
    }
    json_decref(root);
}
