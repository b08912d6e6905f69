/* The table of DCV methods: names as the API spells them, how each is
 * observed, and freeing a parsed parameter set. The matching rules are in
 * dcv.c. */
#include <stdlib.h>
#include <string.h>

#include "dcv.h"

static const struct {
    const char *name;
    enum mpic_dcv_kind kind;
} methods[MPIC_DCV_METHOD_COUNT] = {
    [MPIC_DCV_ACME_HTTP_01] = { "acme-http-01", MPIC_DCV_KIND_HTTP },
    [MPIC_DCV_ACME_DNS_01] = { "acme-dns-01", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_ACME_TLS_ALPN_01] = { "acme-tls-alpn-01", MPIC_DCV_KIND_TLS_ALPN },
    [MPIC_DCV_WEBSITE_CHANGE] = { "website-change", MPIC_DCV_KIND_HTTP },
    [MPIC_DCV_DNS_CHANGE] = { "dns-change", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_CONTACT_EMAIL_TXT] = { "contact-email-txt", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_CONTACT_PHONE_TXT] = { "contact-phone-txt", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_CONTACT_EMAIL_CAA] = { "contact-email-caa", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_CONTACT_PHONE_CAA] = { "contact-phone-caa", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_IP_ADDRESS] = { "ip-address", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_REVERSE_ADDRESS_LOOKUP] = { "reverse-address-lookup", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_DNS_PERSISTENT] = { "dns-persistent", MPIC_DCV_KIND_DNS },
    [MPIC_DCV_DNS_ACCOUNT_01] = { "dns-account-01", MPIC_DCV_KIND_DNS },
};

const char *mpic_dcv_method_name(enum mpic_dcv_method m)
{
    return (unsigned)m < MPIC_DCV_METHOD_COUNT ? methods[m].name : "unknown";
}

int mpic_dcv_method_parse(const char *s, enum mpic_dcv_method *out)
{
    for (unsigned i = 0; s != NULL && i < MPIC_DCV_METHOD_COUNT; i++) {
        if (strcmp(s, methods[i].name) == 0) {
            *out = (enum mpic_dcv_method)i;
            return 0;
        }
    }
    return -1;
}

enum mpic_dcv_kind mpic_dcv_method_kind(enum mpic_dcv_method m)
{
    return (unsigned)m < MPIC_DCV_METHOD_COUNT ? methods[m].kind : MPIC_DCV_KIND_DNS;
}

const char *mpic_dcv_rrtype_name(enum mpic_dcv_rrtype t)
{
    static const char *const names[] = { "NONE", "A", "AAAA", "CNAME", "TXT", "CAA" };
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "NONE";
}

void mpic_dcv_params_free(struct mpic_dcv_params *p)
{
    free(p->token);
    free(p->key_authorization);
    free(p->key_authorization_hash);
    free(p->http_token_path);
    free(p->challenge_value);
    free(p->match_regex);
    free(p->dns_name_prefix);
    mpic_strv_free(&p->issuer_domain_names);
    free(p->expected_account_uri);
    free(p->account_uri);
    mpic_strv_free(&p->http_header_names);
    mpic_strv_free(&p->http_header_values);
    memset(p, 0, sizeof *p);
}
