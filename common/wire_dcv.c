/* DCV on the wire: dcv_check_parameters by method (required and optional
 * keys of the contract, every problem listed), the echo with defaults
 * filled in, and the strict reading of agents' DCV details. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire_internal.h"

#define MAX_VALUE_LEN 4096
#define MAX_HEADERS 32

/* Which keys each method takes (R = required, O = optional). */
enum { K_TOKEN, K_KEYAUTH, K_KEYAUTH_HASH, K_TOKEN_PATH, K_CHALLENGE, K_SCHEME, K_REGEX, K_EXACT_CASE,
       K_EXACT_MATCH, K_RRTYPE, K_PREFIX, K_ISSUERS, K_EXPECTED_ACCT, K_ACCOUNT_URI, K_HEADERS, K_COUNT };
static const char *const key_names[K_COUNT] = {
    "token", "key_authorization", "key_authorization_hash", "http_token_path", "challenge_value", "url_scheme",
    "match_regex", "require_exact_case", "require_exact_match", "dns_record_type", "dns_name_prefix",
    "issuer_domain_names", "expected_account_uri", "account_uri", "http_headers",
};
#define R(k) (1u << (k))
#define O(k) (1u << ((k) + 16))
static const unsigned method_keys[MPIC_DCV_METHOD_COUNT] = {
    [MPIC_DCV_ACME_HTTP_01] = R(K_TOKEN) | R(K_KEYAUTH) | O(K_HEADERS),
    [MPIC_DCV_ACME_DNS_01] = R(K_KEYAUTH_HASH),
    [MPIC_DCV_ACME_TLS_ALPN_01] = R(K_KEYAUTH_HASH),
    [MPIC_DCV_WEBSITE_CHANGE] = R(K_TOKEN_PATH) | R(K_CHALLENGE) | O(K_SCHEME) | O(K_REGEX) | O(K_HEADERS) |
                                O(K_EXACT_CASE),
    [MPIC_DCV_DNS_CHANGE] = R(K_CHALLENGE) | R(K_RRTYPE) | O(K_PREFIX) | O(K_EXACT_MATCH) | O(K_EXACT_CASE),
    [MPIC_DCV_CONTACT_EMAIL_TXT] = R(K_CHALLENGE),
    [MPIC_DCV_CONTACT_PHONE_TXT] = R(K_CHALLENGE),
    [MPIC_DCV_CONTACT_EMAIL_CAA] = R(K_CHALLENGE),
    [MPIC_DCV_CONTACT_PHONE_CAA] = R(K_CHALLENGE),
    [MPIC_DCV_IP_ADDRESS] = R(K_CHALLENGE) | R(K_RRTYPE),
    [MPIC_DCV_REVERSE_ADDRESS_LOOKUP] = R(K_CHALLENGE),
    [MPIC_DCV_DNS_PERSISTENT] = R(K_ISSUERS) | R(K_EXPECTED_ACCT),
    [MPIC_DCV_DNS_ACCOUNT_01] = R(K_KEYAUTH_HASH) | R(K_ACCOUNT_URI),
};

static bool takes(enum mpic_dcv_method m, int k)
{
    return (method_keys[m] & (R(k) | O(k))) != 0;
}

int mpic_dcv_param_use(enum mpic_dcv_method m, const char *key)
{
    for (int k = 0; (unsigned)m < MPIC_DCV_METHOD_COUNT && k < K_COUNT; k++)
        if (strcmp(key, key_names[k]) == 0)
            return (method_keys[m] & R(k)) ? 2 : (method_keys[m] & O(k)) ? 1 : 0;
    return 0;
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* A required-or-optional string member; NULL when absent (issue if required). */
static char *get_string(json_t *obj, enum mpic_dcv_method m, int k, json_t *issues)
{
    json_t *v = mpic_wire_field(obj, key_names[k]);
    if (v == NULL) {
        if (method_keys[m] & R(k))
            mpic_issue_add(issues, MPIC_ISSUE_MISSING_FIELD, "dcv_check_parameters.%s is required for %s", key_names[k],
                           mpic_dcv_method_name(m));
        return NULL;
    }
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) > MAX_VALUE_LEN) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER, "dcv_check_parameters.%s must be a string of at most %d"
                       " characters", key_names[k], MAX_VALUE_LEN);
        return NULL;
    }
    if (*s == '\0') {
        mpic_issue_add(issues, k == K_CHALLENGE ? MPIC_ISSUE_EMPTY_CHALLENGE_VALUE : MPIC_ISSUE_INVALID_DCV_PARAMETER,
                       "dcv_check_parameters.%s must not be empty", key_names[k]);
        return NULL;
    }
    return strdup(s);
}

static bool get_bool(json_t *obj, const char *key, bool dflt, json_t *issues)
{
    json_t *v = mpic_wire_field(obj, key);
    if (v == NULL)
        return dflt;
    if (!json_is_boolean(v)) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER, "dcv_check_parameters.%s must be a boolean", key);
        return dflt;
    }
    return json_is_true(v);
}

static bool token_chars(const char *s)   /* base64url: cannot leave the challenge directory */
{
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_'))
            return false;
    return true;
}

/* Relative to /.well-known/pki-validation/; a leading '/' is accepted (the
 * reference's suites send "/x") and dropped when the URL is built. */
static bool token_path_ok(const char *s)
{
    if (strstr(s, "..") != NULL)
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || strchr("-_.~/", *s) != NULL))
            return false;
    return true;
}

static bool hex64(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s))
            return false;
    return true;
}

static bool prefix_ok(const char *s)   /* labels of letters, digits, '-' and '_', no trailing dot */
{
    size_t label = 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

static void parse_headers(json_t *obj, struct mpic_dcv_params *p, json_t *issues)
{
    json_t *h = mpic_wire_field(obj, "http_headers");
    if (h == NULL)
        return;
    if (!json_is_object(h) || json_object_size(h) > MAX_HEADERS) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER,
                       "dcv_check_parameters.http_headers must be an object of at most %d string values", MAX_HEADERS);
        return;
    }
    size_t n = json_object_size(h);
    p->http_header_names.v = calloc(n ? n : 1, sizeof(char *));
    p->http_header_values.v = calloc(n ? n : 1, sizeof(char *));
    const char *name;
    json_t *v;
    json_object_foreach(h, name, v) {
        const char *val = json_string_value(v);
        bool name_ok = *name != '\0' && strlen(name) < 128;
        for (const char *c = name; name_ok && *c; c++)
            name_ok = isalnum((unsigned char)*c) || strchr("!#$%&'*+-.^_`|~", *c) != NULL;
        if (!name_ok || val == NULL || strlen(val) > 1024 || !printable_ascii(val)) {
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER,
                           "dcv_check_parameters.http_headers: header names must be tokens and values printable"
                           " strings");
            continue;
        }
        p->http_header_names.v[p->http_header_names.n++] = strdup(name);
        p->http_header_values.v[p->http_header_values.n++] = strdup(val);
    }
}

static void parse_issuers(json_t *obj, struct mpic_dcv_params *p, json_t *issues)
{
    json_t *a = mpic_wire_field(obj, "issuer_domain_names");
    if (a == NULL) {
        mpic_issue_add(issues, MPIC_ISSUE_MISSING_FIELD, "dcv_check_parameters.issuer_domain_names is required for dns-persistent");
        return;
    }
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > 64) {
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER,
                       "dcv_check_parameters.issuer_domain_names must be a non-empty array of domain names");
        return;
    }
    size_t i;
    json_t *d;
    p->issuer_domain_names.v = calloc(json_array_size(a), sizeof(char *));
    json_array_foreach(a, i, d) {
        const char *s = json_string_value(d);
        char *l = s ? strdup(s) : NULL;
        for (char *c = l; c && *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (l == NULL || !mpic_issuer_domain_valid(l)) {
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER,
                           "dcv_check_parameters.issuer_domain_names[%zu] is not a domain name", i);
            free(l);
            continue;
        }
        p->issuer_domain_names.v[p->issuer_domain_names.n++] = l;
    }
}

static void parse_rrtype(json_t *obj, struct mpic_dcv_params *p, json_t *issues)
{
    const char *s = json_string_value(mpic_wire_field(obj, "dns_record_type"));
    bool ip = p->method == MPIC_DCV_IP_ADDRESS;
    static const enum mpic_dcv_rrtype change[] = { MPIC_RR_CNAME, MPIC_RR_TXT, MPIC_RR_CAA };
    static const enum mpic_dcv_rrtype addr[] = { MPIC_RR_A, MPIC_RR_AAAA };
    const enum mpic_dcv_rrtype *allowed = ip ? addr : change;
    size_t n = ip ? 2 : 3;
    for (size_t i = 0; s != NULL && i < n; i++) {
        if (strcmp(s, mpic_dcv_rrtype_name(allowed[i])) == 0) {
            p->dns_record_type = allowed[i];
            return;
        }
    }
    if (mpic_wire_field(obj, "dns_record_type") == NULL)
        mpic_issue_add(issues, MPIC_ISSUE_MISSING_FIELD, "dcv_check_parameters.dns_record_type is required for %s",
                       mpic_dcv_method_name(p->method));
    else
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER, "dcv_check_parameters.dns_record_type must be %s for %s",
                       ip ? "\"A\" or \"AAAA\"" : "\"CNAME\", \"TXT\" or \"CAA\"", mpic_dcv_method_name(p->method));
}

/* A pattern that cannot compile is the client's mistake: a 400 here, not a
 * failed check at every perspective. Same options as mpic_dcv_regex_match. */
static void check_regex(const char *pattern, json_t *issues)
{
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_NEVER_UTF, &errcode, &erroff,
                                   NULL);
    if (re != NULL) {
        pcre2_code_free(re);
        return;
    }
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(errcode, msg, sizeof msg);
    mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER, "dcv_check_parameters.match_regex does not compile at offset %zu:"
                   " %s", (size_t)erroff, (const char *)msg);
}

/* name is zone or a name below it (case-insensitive). */
static bool in_zone(const char *name, const char *zone)
{
    size_t n = strlen(name), z = strlen(zone);
    return n >= z && strcasecmp(name + n - z, zone) == 0 && (n == z || name[n - z - 1] == '.');
}

/* Checks that only make sense with the target in hand. */
static void check_target(const struct mpic_request *r, json_t *issues)
{
    const struct mpic_dcv_params *p = &r->dcv;
    const struct mpic_target *t = &r->target_info;
    bool ip = t->kind != MPIC_TARGET_DNS;
    enum mpic_dcv_method m = p->method;
    if (t->wildcard && (m == MPIC_DCV_ACME_HTTP_01 || m == MPIC_DCV_ACME_TLS_ALPN_01 || m == MPIC_DCV_WEBSITE_CHANGE ||
                        m == MPIC_DCV_IP_ADDRESS || m == MPIC_DCV_REVERSE_ADDRESS_LOOKUP))
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DOMAIN, "%s cannot validate a wildcard target (BR 3.2.2.4)",
                       mpic_dcv_method_name(m));
    /* BR 4.2.2: no certificate for an IP Reverse Zone name, so no validation of one either (an IP
     * address is validated as such, e.g. by reverse-address-lookup on its IP target). */
    if (!ip && (in_zone(t->name, "in-addr.arpa") || in_zone(t->name, "ip6.arpa")))
        mpic_issue_add(issues, "invalid-domain", "%s is under an IP reverse zone (in-addr.arpa, ip6.arpa), which"
                       " the Baseline Requirements exclude from certificates (BR 4.2.2)", t->name);
    bool ip_method = m == MPIC_DCV_REVERSE_ADDRESS_LOOKUP;
    bool both = m == MPIC_DCV_ACME_HTTP_01 || m == MPIC_DCV_ACME_TLS_ALPN_01 || m == MPIC_DCV_WEBSITE_CHANGE;
    if (!both && ip != ip_method)
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DOMAIN, "%s needs %s target", mpic_dcv_method_name(m),
                       ip_method ? "an IP address" : "a domain name");
    /* An ip-address challenge_value that is no address of dns_record_type is not refused here: the
     * reference answers it as a check that ran and failed (200, is_valid false), and so do the agents. */
}

void mpic_wire_parse_dcv(json_t *root, struct mpic_request *r, json_t *issues)
{
    json_t *obj = mpic_wire_field(root, "dcv_check_parameters");
    if (obj == NULL || !json_is_object(obj)) {
        mpic_issue_add(issues, obj ? MPIC_ISSUE_INVALID_DCV_PARAMETER : MPIC_ISSUE_MISSING_FIELD,
                       "dcv_check_parameters must be an object naming a validation_method");
        return;
    }
    const char *name = json_string_value(mpic_wire_field(obj, "validation_method"));
    struct mpic_dcv_params *p = &r->dcv;
    if (name == NULL) {
        mpic_issue_add(issues, MPIC_ISSUE_MISSING_FIELD, "dcv_check_parameters.validation_method is required");
        return;
    }
    if (mpic_dcv_method_parse(name, &p->method) != 0) {
        mpic_issue_add(issues, MPIC_ISSUE_UNKNOWN_VALIDATION_METHOD, "dcv_check_parameters.validation_method: unknown method"
                       " (expected acme-http-01, acme-dns-01, acme-tls-alpn-01, website-change, dns-change,"
                       " contact-email-txt, contact-phone-txt, contact-email-caa, contact-phone-caa, ip-address,"
                       " reverse-address-lookup, dns-persistent or dns-account-01)");
        return;
    }
    r->has_dcv = true;
    enum mpic_dcv_method m = p->method;
    if (takes(m, K_TOKEN) && (p->token = get_string(obj, m, K_TOKEN, issues)) != NULL && !token_chars(p->token))
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER, "dcv_check_parameters.token must be base64url characters");
    if (takes(m, K_KEYAUTH))
        p->key_authorization = get_string(obj, m, K_KEYAUTH, issues);
    if (takes(m, K_KEYAUTH_HASH) && (p->key_authorization_hash = get_string(obj, m, K_KEYAUTH_HASH, issues)) != NULL &&
        (m == MPIC_DCV_ACME_TLS_ALPN_01 ? !hex64(p->key_authorization_hash) : !printable_ascii(p->key_authorization_hash)))
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER, m == MPIC_DCV_ACME_TLS_ALPN_01
                       ? "dcv_check_parameters.key_authorization_hash must be the hex SHA-256 (64 hex digits)"
                       : "dcv_check_parameters.key_authorization_hash must be printable ASCII");
    if (takes(m, K_TOKEN_PATH) && (p->http_token_path = get_string(obj, m, K_TOKEN_PATH, issues)) != NULL &&
        !token_path_ok(p->http_token_path))
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER,
                       "dcv_check_parameters.http_token_path must be a relative path without \"..\"");
    if (takes(m, K_CHALLENGE))
        p->challenge_value = get_string(obj, m, K_CHALLENGE, issues);
    if (takes(m, K_SCHEME)) {
        json_t *v = mpic_wire_field(obj, "url_scheme");
        const char *s = json_string_value(v);
        if (v != NULL && (s == NULL || (strcmp(s, "http") != 0 && strcmp(s, "https") != 0)))
            mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER, "dcv_check_parameters.url_scheme must be \"http\" or \"https\"");
        p->url_scheme_https = s != NULL && strcmp(s, "https") == 0;
    }
    if (takes(m, K_REGEX) && (p->match_regex = get_string(obj, m, K_REGEX, issues)) != NULL)
        check_regex(p->match_regex, issues);
    p->require_exact_case = takes(m, K_EXACT_CASE) ? get_bool(obj, "require_exact_case", true, issues) : true;
    p->require_exact_match = takes(m, K_EXACT_MATCH) ? get_bool(obj, "require_exact_match", false, issues) : false;
    if (takes(m, K_RRTYPE))
        parse_rrtype(obj, p, issues);
    /* Spec 3.9: case matters only in TXT data; CNAME targets and CAA values are compared without case
     * whatever the client asked, and the echo says so, as the reference's does. */
    if (m == MPIC_DCV_DNS_CHANGE && p->dns_record_type != MPIC_RR_TXT)
        p->require_exact_case = false;
    /* An empty prefix means none: the reference's suites send "" for the record at the target itself. */
    const char *prefix = json_string_value(mpic_wire_field(obj, "dns_name_prefix"));
    bool empty_prefix = prefix != NULL && *prefix == '\0';
    if (takes(m, K_PREFIX) && !empty_prefix && (p->dns_name_prefix = get_string(obj, m, K_PREFIX, issues)) != NULL &&
        !prefix_ok(p->dns_name_prefix))
        mpic_issue_add(issues, MPIC_ISSUE_INVALID_DCV_PARAMETER,
                       "dcv_check_parameters.dns_name_prefix must be DNS labels (letters, digits, '-', '_')");
    if (takes(m, K_ISSUERS))
        parse_issuers(obj, p, issues);
    if (takes(m, K_EXPECTED_ACCT))
        p->expected_account_uri = get_string(obj, m, K_EXPECTED_ACCT, issues);
    if (takes(m, K_ACCOUNT_URI))
        p->account_uri = get_string(obj, m, K_ACCOUNT_URI, issues);
    if (takes(m, K_HEADERS))
        parse_headers(obj, p, issues);
    if (r->target != NULL)
        check_target(r, issues);
}

json_t *mpic_wire_dcv_params_json(const struct mpic_dcv_params *p)
{
    enum mpic_dcv_method m = p->method;
    json_t *j = json_object();
    json_object_set_new(j, "validation_method", json_string(mpic_dcv_method_name(m)));
    for (int k = 0; k < K_COUNT; k++) {
        if (!takes(m, k))
            continue;
        json_t *v;
        switch (k) {
        case K_TOKEN: v = mpic_wire_string_or_null(p->token); break;
        case K_KEYAUTH: v = mpic_wire_string_or_null(p->key_authorization); break;
        case K_KEYAUTH_HASH: v = mpic_wire_string_or_null(p->key_authorization_hash); break;
        case K_TOKEN_PATH: v = mpic_wire_string_or_null(p->http_token_path); break;
        case K_CHALLENGE: v = mpic_wire_string_or_null(p->challenge_value); break;
        case K_SCHEME: v = json_string(p->url_scheme_https ? "https" : "http"); break;
        case K_REGEX: v = mpic_wire_string_or_null(p->match_regex); break;
        case K_EXACT_CASE: v = json_boolean(p->require_exact_case); break;
        case K_EXACT_MATCH: v = json_boolean(p->require_exact_match); break;
        case K_RRTYPE: v = json_string(mpic_dcv_rrtype_name(p->dns_record_type)); break;
        case K_PREFIX: v = mpic_wire_string_or_null(p->dns_name_prefix); break;
        case K_ISSUERS: v = mpic_wire_strv_json(&p->issuer_domain_names); break;
        case K_EXPECTED_ACCT: v = mpic_wire_string_or_null(p->expected_account_uri); break;
        case K_ACCOUNT_URI: v = mpic_wire_string_or_null(p->account_uri); break;
        default:
            if (p->http_header_names.v == NULL) {
                v = json_null();
            } else {
                v = json_object();
                for (size_t i = 0; i < p->http_header_names.n; i++)
                    json_object_set_new(v, p->http_header_names.v[i], json_string(p->http_header_values.v[i]));
            }
        }
        json_object_set_new(j, key_names[k], v);
    }
    return j;
}

static bool null_or(json_t *v, bool (*is)(const json_t *))
{
    return json_is_null(v) || is(v);
}

static bool is_string(const json_t *v) { return json_is_string(v); }
static bool is_integer(const json_t *v) { return json_is_integer(v); }
static bool is_boolean(const json_t *v) { return json_is_boolean(v); }

static bool string_list(json_t *v)
{
    if (json_is_null(v))
        return true;
    if (!json_is_array(v))
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return false;
    }
    return true;
}

static bool history_list(json_t *v)
{
    static const char *const keys[] = { "status_code", "url" };
    if (json_is_null(v))
        return true;
    if (!json_is_array(v) || json_array_size(v) > MPIC_DCV_HTTP_MAX_REDIRECTS)
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!mpic_wire_exact_keys(e, keys, 2) || !json_is_integer(json_object_get(e, "status_code")) ||
            !json_is_string(json_object_get(e, "url")))
            return false;
    }
    return true;
}

json_t *mpic_wire_parse_dcv_details(json_t *d, enum mpic_dcv_method m, struct mpic_error *err)
{
    static const char *const dns_keys[] = { "validation_method", "records_seen", "response_code", "ad_flag",
                                            "found_at", "cname_chain" };
    static const char *const http_keys[] = { "validation_method", "response_history", "response_url",
                                             "response_status_code", "response_page" };
    static const char *const alpn_keys[] = { "validation_method", "common_name" };
    const char *vm = json_string_value(json_object_get(d, "validation_method"));
    bool ok = vm != NULL && strcmp(vm, mpic_dcv_method_name(m)) == 0;
    const char *const *keys = alpn_keys;
    size_t n = 2;
    switch (mpic_dcv_method_kind(m)) {
    case MPIC_DCV_KIND_DNS:
        keys = dns_keys;
        n = 6;
        ok = ok && mpic_wire_exact_keys(d, dns_keys, 6) && string_list(json_object_get(d, "records_seen")) &&
             null_or(json_object_get(d, "response_code"), is_integer) &&
             null_or(json_object_get(d, "ad_flag"), is_boolean) && null_or(json_object_get(d, "found_at"), is_string) &&
             string_list(json_object_get(d, "cname_chain"));
        break;
    case MPIC_DCV_KIND_HTTP:
        keys = http_keys;
        n = 5;
        ok = ok && mpic_wire_exact_keys(d, http_keys, 5) && history_list(json_object_get(d, "response_history")) &&
             null_or(json_object_get(d, "response_url"), is_string) &&
             null_or(json_object_get(d, "response_status_code"), is_integer) &&
             null_or(json_object_get(d, "response_page"), is_string);
        break;
    case MPIC_DCV_KIND_TLS_ALPN:
        ok = ok && mpic_wire_exact_keys(d, alpn_keys, 2) && null_or(json_object_get(d, "common_name"), is_string);
        break;
    }
    if (!ok) {
        mpic_error_set(err, "details do not match the %s details of the contract", mpic_dcv_method_name(m));
        return NULL;
    }
    /* Rebuilt key by key in the contract's order. */
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(out, keys[i], json_deep_copy(json_object_get(d, keys[i])));
    return out;
}
