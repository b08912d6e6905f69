/* What a domain_or_ip_target is: a DNS name (possibly "*." wildcard) or an IP
 * literal. Pure syntax checks and IDN mapping; no lookups. */
#ifndef MPIC_TARGET_H
#define MPIC_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum mpic_target_kind { MPIC_TARGET_DNS, MPIC_TARGET_IPV4, MPIC_TARGET_IPV6 };

/* "*." + 253 octets + NUL */
#define MPIC_TARGET_NAME_MAX 256

struct mpic_target {
    enum mpic_target_kind kind;
    bool wildcard;        /* DNS only: the name began with "*." */
    char name[MPIC_TARGET_NAME_MAX];   /* what the checks use: the target as sent, U-labels as A-labels */
};

/* Accepts an IPv4 dotted quad, an IPv6 literal (no brackets, no zone), or a
 * DNS name: optional leading "*.", at least two labels, each 1..63 of letters,
 * digits and inner hyphens, at most 253 octets, no trailing dot. A name with
 * any non-ASCII byte is read as UTF-8 and mapped to A-labels the way browsers
 * do (UTS #46 non-transitional, then IDNA2008). .onion names are refused:
 * they are not in the DNS (RFC 7686) and the BRs allow no DNS-based
 * validation of them. */
int mpic_target_parse(const char *s, struct mpic_target *out, struct mpic_error *err);

/* An issuer domain name as CAA uses it: lower-case A-labels, no trailing dot. */
bool mpic_issuer_domain_valid(const char *s);

#endif
