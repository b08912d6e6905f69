/* Domain control validation: the methods of the Open MPIC API (plus
 * dns-persistent and dns-account-01), their parameters, and the pure
 * matching rules each perspective applies to what it observed. No I/O. */
#ifndef MPIC_DCV_H
#define MPIC_DCV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "strv.h"

enum mpic_dcv_method {
    MPIC_DCV_ACME_HTTP_01,
    MPIC_DCV_ACME_DNS_01,
    MPIC_DCV_ACME_TLS_ALPN_01,
    MPIC_DCV_WEBSITE_CHANGE,
    MPIC_DCV_DNS_CHANGE,
    MPIC_DCV_CONTACT_EMAIL_TXT,
    MPIC_DCV_CONTACT_PHONE_TXT,
    MPIC_DCV_CONTACT_EMAIL_CAA,
    MPIC_DCV_CONTACT_PHONE_CAA,
    MPIC_DCV_IP_ADDRESS,
    MPIC_DCV_REVERSE_ADDRESS_LOOKUP,
    MPIC_DCV_DNS_PERSISTENT,
    MPIC_DCV_DNS_ACCOUNT_01,
};
#define MPIC_DCV_METHOD_COUNT 13

/* HTTP redirects an agent follows for one challenge: the reference's 20 (the BRs set no
 * count). The orchestrator refuses an agent reply reporting more. */
#define MPIC_DCV_HTTP_MAX_REDIRECTS 20

/* The method table (names, kinds, rrtype names, params_free) is in dcv_method.c. */
const char *mpic_dcv_method_name(enum mpic_dcv_method m);      /* "acme-http-01", ... */
int mpic_dcv_method_parse(const char *s, enum mpic_dcv_method *out);

/* How the agent observes a method. */
enum mpic_dcv_kind { MPIC_DCV_KIND_HTTP, MPIC_DCV_KIND_DNS, MPIC_DCV_KIND_TLS_ALPN };
enum mpic_dcv_kind mpic_dcv_method_kind(enum mpic_dcv_method m);

enum mpic_dcv_rrtype { MPIC_RR_NONE, MPIC_RR_A, MPIC_RR_AAAA, MPIC_RR_CNAME, MPIC_RR_TXT, MPIC_RR_CAA };
const char *mpic_dcv_rrtype_name(enum mpic_dcv_rrtype t);  /* "TXT", ... */

/* The parsed dcv_check_parameters. Strings are owned (NULL when absent). */
struct mpic_dcv_params {
    enum mpic_dcv_method method;
    char *token;                    /* acme-http-01 */
    char *key_authorization;        /* acme-http-01 */
    char *key_authorization_hash;   /* acme-dns-01, acme-tls-alpn-01 (hex SHA-256), dns-account-01 */
    char *http_token_path;          /* website-change */
    char *challenge_value;          /* website-change, dns-change, contact-*, ip-address, reverse-address-lookup */
    bool url_scheme_https;          /* website-change: false = "http" (default) */
    char *match_regex;              /* website-change, optional */
    bool require_exact_case;        /* website-change, dns-change; default true */
    bool require_exact_match;       /* dns-change; default false (substring) */
    enum mpic_dcv_rrtype dns_record_type;  /* dns-change (CNAME/TXT/CAA), ip-address (A/AAAA) */
    char *dns_name_prefix;          /* dns-change, optional */
    struct mpic_strv issuer_domain_names;  /* dns-persistent, lower-case */
    char *expected_account_uri;     /* dns-persistent */
    char *account_uri;              /* dns-account-01 */
    struct mpic_strv http_header_names, http_header_values;  /* http-01, website-change; same length */
};
void mpic_dcv_params_free(struct mpic_dcv_params *p);

/* ---- matching rules: each returns true when the observation corroborates ---- */

/* acme-http-01: body with trailing whitespace (SP, HTAB, CR, LF) removed equals key_authorization. */
bool mpic_dcv_http01_match(const char *body, size_t len, const char *key_authorization);

/* TXT RDATA: the character-strings joined without separator. */
char *mpic_dcv_txt_join(const uint8_t *const *strings, const size_t *lens, size_t n);  /* malloc'd */

/* dns-change / website-change value rule: exact or substring, case-sensitive or not. */
bool mpic_dcv_value_match(const char *observed, const char *expected, bool exact, bool exact_case);

/* ip-address: expected is an IP literal; observed A/AAAA presentation; compared as addresses. */
bool mpic_dcv_ip_match(const char *observed, const char *expected);

/* dns-account-01 label: "_" + lower-case base32 (no padding) of the first 10
 * bytes of SHA-256(account_uri), e.g. "_ujmmovf2vn55tgye". buf >= 18 bytes. */
void mpic_dcv_account_label(const char *account_uri, char *buf, size_t len);

/* RFC 4648 §6 base32, lower-case, no padding: writes ceil(8n/5) characters and
 * a NUL. Returns that length, or 0 with buf "" (if len > 0) when it does not fit. */
size_t mpic_dcv_base32(const uint8_t *in, size_t n, char *buf, size_t len);

/* contact-*-txt / -caa: the whole value is one email address (RFC 6532 §3.2
 * addr-spec, practical subset) / one RFC 3966 global number ("+" digits,
 * visual separators). */
bool mpic_dcv_contact_email_valid(const char *s);
bool mpic_dcv_contact_phone_valid(const char *s);

/* dns-persistent (BR 3.2.2.4.22): evaluates one TXT value (an RFC 8659
 * issue-value). Passes when the issuer is among issuer_domains, exactly one
 * accounturi equals expected_account_uri byte for byte, no known parameter
 * (accounturi, policy, persistuntil) repeats, persistUntil (if any) is an
 * integer not before now, and, for wildcard targets, policy=wildcard (case-
 * insensitive) is present. why receives the reason on failure. */
bool mpic_dcv_persist_match(const char *txt, const struct mpic_strv *issuer_domains,
                            const char *expected_account_uri, bool wildcard, time_t now, char *why, size_t why_len);

/* website-change regex (PCRE2 syntax) with a match limit so that a hostile
 * pattern cannot hang an agent. Returns 1 match, 0 no match, -1 bad pattern
 * or limit hit (message in why). */
int mpic_dcv_regex_match(const char *pattern, const char *subject, size_t len, char *why, size_t why_len);

#endif
