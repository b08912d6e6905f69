/* The command line read into an Open MPIC request body. Each flag names the
 * wire key it sets, so the flags stay the contract's vocabulary; which DCV
 * method takes which key is asked of common/ (wire_dcv.c), not restated. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dcv.h"
#include "wire.h"

/* Where a flag's value goes. */
enum scope { TO_ORCH, TO_TOP, TO_CAA, TO_DCV, TO_PARAMS /* caa or dcv, whichever is run */, TO_CLIENT };
enum kind { K_STRING, K_UPPER, K_TRUE, K_FALSE, K_LIST, K_HEADER, K_COUNT, K_SECONDS };

static const struct flag {
    const char *name;
    enum scope scope;
    enum kind kind;
    const char *key;     /* wire key; for TO_CLIENT a name of ours */
} flags[] = {
    { "perspective-count", TO_ORCH, K_COUNT, "perspective_count" },
    { "quorum-count", TO_ORCH, K_COUNT, "quorum_count" },
    { "max-attempts", TO_ORCH, K_COUNT, "max_attempts" },
    { "cohort", TO_ORCH, K_COUNT, "cohort_for_single_attempt" },
    { "trace-id", TO_TOP, K_STRING, "trace_identifier" },
    { "s-mime", TO_CAA, K_TRUE, "certificate_type" },
    { "caa-domain", TO_CAA, K_LIST, "caa_domains" },
    { "validation-method", TO_CAA, K_STRING, "validation_method" },
    { "allow-lookup-failure", TO_CAA, K_TRUE, "allow_lookup_failure" },
    { "account-uri", TO_PARAMS, K_STRING, "account_uri" },
    { "token", TO_DCV, K_STRING, "token" },
    { "key-authorization", TO_DCV, K_STRING, "key_authorization" },
    { "key-authorization-hash", TO_DCV, K_STRING, "key_authorization_hash" },
    { "http-token-path", TO_DCV, K_STRING, "http_token_path" },
    { "challenge-value", TO_DCV, K_STRING, "challenge_value" },
    { "url-scheme", TO_DCV, K_STRING, "url_scheme" },
    { "match-regex", TO_DCV, K_STRING, "match_regex" },
    { "require-exact-case", TO_DCV, K_TRUE, "require_exact_case" },
    { "no-require-exact-case", TO_DCV, K_FALSE, "require_exact_case" },
    { "require-exact-match", TO_DCV, K_TRUE, "require_exact_match" },
    { "no-require-exact-match", TO_DCV, K_FALSE, "require_exact_match" },
    { "record-type", TO_DCV, K_UPPER, "dns_record_type" },
    { "dns-name-prefix", TO_DCV, K_STRING, "dns_name_prefix" },
    { "issuer-domain", TO_DCV, K_LIST, "issuer_domain_names" },
    { "expected-account-uri", TO_DCV, K_STRING, "expected_account_uri" },
    { "header", TO_DCV, K_HEADER, "http_headers" },
    { "url", TO_CLIENT, K_STRING, "url" },
    { "key", TO_CLIENT, K_STRING, "key" },
    { "key-file", TO_CLIENT, K_STRING, "key_file" },
    { "config", TO_CLIENT, K_STRING, "config" },
    { "cacert", TO_CLIENT, K_STRING, "cacert" },
    { "timeout", TO_CLIENT, K_SECONDS, "timeout" },
    { "json", TO_CLIENT, K_TRUE, "json" },
    { "help", TO_CLIENT, K_TRUE, "help" },
    { "version", TO_CLIENT, K_TRUE, "version" },
};
#define N_FLAGS (sizeof flags / sizeof flags[0])
#define FLAG_BASE 256   /* getopt_long's val for flags[i] is FLAG_BASE + i */

static bool takes_value(const struct flag *f)
{
    return f->kind != K_TRUE && f->kind != K_FALSE;
}

void mpic_cli_usage(FILE *out)
{
    fputs("usage: mpic caa TARGET [--s-mime] [--caa-domain D]... [options]\n"
          "       mpic dcv METHOD TARGET [method flags] [options]\n"
          "\n"
          "DCV methods:", out);
    for (unsigned i = 0; i < MPIC_DCV_METHOD_COUNT; i++)
        fprintf(out, "%s%s", i % 5 == 0 ? "\n  " : " ", mpic_dcv_method_name((enum mpic_dcv_method)i));
    fputs("\n"
          "method flags: --token T --key-authorization KA --key-authorization-hash H --challenge-value V\n"
          "  --http-token-path P --url-scheme http|https --match-regex RE --[no-]require-exact-case\n"
          "  --record-type TYPE --dns-name-prefix P --[no-]require-exact-match --issuer-domain D...\n"
          "  --expected-account-uri U --account-uri U --header NAME:VALUE...\n"
          "CAA flags: --s-mime --caa-domain D... --account-uri U --validation-method M --allow-lookup-failure\n"
          "orchestration: --perspective-count N --quorum-count N --max-attempts N --cohort N --trace-id ID\n"
          "connection: --url URL --key KEY | --key-file FILE --config FILE --cacert FILE --timeout SECONDS\n"
          "  (flags > MPIC_URL, MPIC_API_KEY > config file ~/.config/mpic/cli.conf)\n"
          "output: --json (the answer as received)\n"
          "exit status: 0 valid, 1 not valid, 2 error.  See mpic(1).\n", out);
}

static int parse_count(const char *flag, const char *s, long long *out, struct mpic_error *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return mpic_error_set(err, "--%s: \"%s\" is not an integer", flag, s);
    *out = v;
    return 0;
}

static json_t *object_member(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (o == NULL) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

static int set_header(json_t *params, const char *arg, struct mpic_error *err)
{
    const char *colon = strchr(arg, ':');
    if (colon == NULL || colon == arg)
        return mpic_error_set(err, "--header: \"%s\" is not NAME:VALUE", arg);
    char *name = strndup(arg, (size_t)(colon - arg));
    const char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    json_object_set_new(object_member(params, "http_headers"), name, json_string(value));
    free(name);
    return 0;
}

/* One flag's value into the client settings or its place in the body. */
static int apply(const struct flag *f, const char *arg, json_t *body, json_t *params, struct mpic_cli *out,
                 struct mpic_error *err)
{
    json_t *dst = f->scope == TO_ORCH ? object_member(body, "orchestration_parameters")
                : f->scope == TO_TOP ? body : params;
    long long n;
    switch (f->kind) {
    case K_STRING:
        if (f->scope != TO_CLIENT) {
            json_object_set_new(dst, f->key, json_string(arg));
        } else {
            const char **slot = strcmp(f->key, "url") == 0 ? &out->url
                              : strcmp(f->key, "key") == 0 ? &out->key
                              : strcmp(f->key, "key_file") == 0 ? &out->key_file
                              : strcmp(f->key, "config") == 0 ? &out->config : &out->cacert;
            *slot = arg;
        }
        return 0;
    case K_UPPER: {
        char *u = strdup(arg);
        for (char *c = u; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        json_object_set_new(dst, f->key, json_string(u));
        free(u);
        return 0;
    }
    case K_TRUE:
    case K_FALSE:
        if (f->scope == TO_CLIENT) {
            bool *slot = strcmp(f->key, "json") == 0 ? &out->json
                       : strcmp(f->key, "help") == 0 ? &out->help : &out->version;
            *slot = true;
        } else if (strcmp(f->key, "certificate_type") == 0) {
            json_object_set_new(dst, f->key, json_string("s-mime"));
        } else {
            json_object_set_new(dst, f->key, json_boolean(f->kind == K_TRUE));
        }
        return 0;
    case K_LIST: {
        json_t *a = json_object_get(dst, f->key);
        if (a == NULL)
            json_object_set_new(dst, f->key, a = json_array());
        json_array_append_new(a, json_string(arg));
        return 0;
    }
    case K_HEADER:
        return set_header(dst, arg, err);
    case K_COUNT:
        if (parse_count(f->name, arg, &n, err) != 0)
            return -1;
        json_object_set_new(dst, f->key, json_integer(n));
        return 0;
    case K_SECONDS:
        if (parse_count(f->name, arg, &n, err) != 0)
            return -1;
        if (n < 1 || n > 3600)
            return mpic_error_set(err, "--%s: %lld is not between 1 and 3600 seconds", f->name, n);
        out->timeout_s = (long)n;
        return 0;
    }
    return 0;
}

/* Refuses a flag that the check being run would not read: the server ignores
 * keys it does not know, so a typo'd method would otherwise pass unnoticed. */
static int check_scope(const struct flag *f, const char *command, bool dcv, enum mpic_dcv_method m,
                       struct mpic_error *err)
{
    if ((f->scope == TO_CAA && dcv) || (f->scope == TO_DCV && !dcv))
        return mpic_error_set(err, "--%s does not apply to mpic %s", f->name, command);
    if (dcv && (f->scope == TO_DCV || f->scope == TO_PARAMS) && mpic_dcv_param_use(m, f->key) == 0)
        return mpic_error_set(err, "--%s does not apply to %s", f->name, mpic_dcv_method_name(m));
    return 0;
}

int mpic_cli_parse(int argc, char **argv, struct mpic_cli *out, struct mpic_error *err)
{
    memset(out, 0, sizeof *out);
    out->timeout_s = 60;
    struct option longopts[N_FLAGS + 1];
    for (size_t i = 0; i < N_FLAGS; i++)
        longopts[i] = (struct option){ flags[i].name, takes_value(&flags[i]) ? required_argument : no_argument, NULL,
                                       FLAG_BASE + (int)i };
    longopts[N_FLAGS] = (struct option){ 0 };

    /* Flags are applied once the positionals have said which check runs. */
    size_t n_seen = 0;
    struct { const struct flag *f; const char *arg; } *seen = calloc((size_t)argc + 1, sizeof *seen);
    optind = 0;   /* glibc: start afresh (the unit tests parse many command lines) */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            out->help = true;
        } else if (c >= FLAG_BASE) {
            seen[n_seen].f = &flags[c - FLAG_BASE];
            seen[n_seen++].arg = optarg;
        } else {
            mpic_error_set(err, c == ':' ? "%s needs a value" : "unknown option %s", argv[optind - 1]);
            free(seen);
            return -1;
        }
    }
    for (size_t i = 0; i < n_seen; i++)
        if (seen[i].f->scope == TO_CLIENT && apply(seen[i].f, seen[i].arg, NULL, NULL, out, err) != 0)
            goto fail;
    if (out->help || out->version) {
        free(seen);
        return 0;
    }

    char **pos = argv + optind;
    int n_pos = argc - optind;
    const char *command = n_pos > 0 ? pos[0] : NULL;
    bool dcv = command != NULL && strcmp(command, "dcv") == 0;
    enum mpic_dcv_method method = MPIC_DCV_ACME_HTTP_01;
    if (command == NULL || (!dcv && strcmp(command, "caa") != 0)) {
        mpic_error_set(err, command ? "unknown command \"%s\" (caa or dcv)" : "no command given (caa or dcv)",
                       command);
        goto fail;
    }
    if (n_pos != (dcv ? 3 : 2)) {
        mpic_error_set(err, dcv ? "mpic dcv takes a METHOD and a TARGET" : "mpic caa takes one TARGET");
        goto fail;
    }
    if (dcv && mpic_dcv_method_parse(pos[1], &method) != 0) {
        mpic_error_set(err, "unknown DCV method \"%s\" (mpic --help lists them)", pos[1]);
        goto fail;
    }

    json_t *body = json_object();
    out->request = body;
    json_object_set_new(body, "check_type", json_string(dcv ? "dcv" : "caa"));
    json_object_set_new(body, "domain_or_ip_target", json_string(pos[n_pos - 1]));
    json_t *params = json_object();
    if (dcv)
        json_object_set_new(params, "validation_method", json_string(pos[1]));
    for (size_t i = 0; i < n_seen; i++) {
        const struct flag *f = seen[i].f;
        if (f->scope == TO_CLIENT)
            continue;
        if (check_scope(f, command, dcv, method, err) != 0 || apply(f, seen[i].arg, body, params, out, err) != 0) {
            json_decref(params);
            goto fail;
        }
    }
    /* Absent CAA parameters let the server apply its configured issuers. */
    if (dcv || json_object_size(params) > 0)
        json_object_set_new(body, dcv ? "dcv_check_parameters" : "caa_check_parameters", params);
    else
        json_decref(params);
    free(seen);
    return 0;
fail:
    free(seen);
    mpic_cli_free(out);
    return -1;
}

void mpic_cli_free(struct mpic_cli *c)
{
    json_decref(c->request);
    c->request = NULL;
}
