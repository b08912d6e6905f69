#include "target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool ldh(int c)
{
    return isascii(c) && (isalnum(c) || c == '-');
}

/* Checks labels of s[0..len) and counts them; names the first fault in err. */
static int check_labels(const char *s, size_t len, size_t *labels, struct mpic_error *err)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!ldh((unsigned char)s[i]))
                return mpic_error_set(err, "byte 0x%02x at offset %zu is not allowed in a DNS name"
                                      " (use A-labels: letters, digits and hyphens)",
                                      (unsigned char)s[i], i);
            continue;
        }
        size_t l = i - start;
        if (l == 0)
            return mpic_error_set(err, i == len ? "a DNS name must not end with a dot" : "empty label in DNS name");
        if (l > 63)
            return mpic_error_set(err, "label of %zu characters exceeds 63", l);
        if (s[start] == '-' || s[i - 1] == '-')
            return mpic_error_set(err, "a label must not start or end with a hyphen");
        n++;
        start = i + 1;
    }
    *labels = n;
    return 0;
}

static bool has_non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* name into out->name after the prefix already there: as sent when ASCII,
 * else its A-label form. */
static int checked_name(const char *name, struct mpic_target *out, struct mpic_error *err)
{
    size_t at = strlen(out->name);
    char *ascii = NULL;
    if (has_non_ascii(name)) {
        int rc = idn2_to_ascii_8z(name, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        if (rc != IDN2_OK)
            return mpic_error_set(err, "not a valid internationalised domain name (IDNA2008, UTS #46): %s",
                                  idn2_strerror(rc));
        name = ascii;
    }
    int n = snprintf(out->name + at, sizeof out->name - at, "%s", name);
    free(ascii);
    if (n < 0 || (size_t)n >= sizeof out->name - at)
        return mpic_error_set(err, "DNS name longer than 253 characters");
    return 0;
}

int mpic_target_parse(const char *s, struct mpic_target *out, struct mpic_error *err)
{
    unsigned char buf[16];
    memset(out, 0, sizeof *out);
    if (s == NULL || *s == '\0')
        return mpic_error_set(err, "target is empty");
    if (inet_pton(AF_INET, s, buf) == 1) {
        out->kind = MPIC_TARGET_IPV4;
        snprintf(out->name, sizeof out->name, "%s", s);
        return 0;
    }
    if (strchr(s, ':') != NULL) {
        if (inet_pton(AF_INET6, s, buf) == 1) {
            out->kind = MPIC_TARGET_IPV6;
            snprintf(out->name, sizeof out->name, "%s", s);
            return 0;
        }
        return mpic_error_set(err, "not a valid IPv6 address (no brackets, ports or zones)");
    }
    out->kind = MPIC_TARGET_DNS;
    const char *name = s;
    if (strncmp(s, "*.", 2) == 0) {
        out->wildcard = true;
        name = s + 2;
        strcpy(out->name, "*.");
    }
    if (checked_name(name, out, err) != 0)
        return -1;
    name = out->name + (out->wildcard ? 2 : 0);
    size_t len = strlen(name);
    if (len > 253)
        return mpic_error_set(err, "DNS name longer than 253 characters");
    size_t labels = 0;
    if (check_labels(name, len, &labels, err) != 0)
        return -1;
    if (labels < 2)
        return mpic_error_set(err, "a single-label name cannot be validated for a certificate");
    /* All-numeric final label would make "1.2.3.4.5" look like a name. */
    const char *tld = strrchr(name, '.') + 1;
    if (strspn(tld, "0123456789") == strlen(tld))
        return mpic_error_set(err, "the top-level label must not be all digits");
    if (strcasecmp(tld, "onion") == 0)
        return mpic_error_set(err, ".onion names are not DNS names (RFC 7686) and the Baseline Requirements allow"
                                   " no DNS-based validation of them");
    return 0;
}

bool mpic_issuer_domain_valid(const char *s)
{
    size_t labels = 0;
    if (s == NULL || *s == '\0' || strlen(s) > 253)
        return false;
    for (const char *p = s; *p; p++)
        if (isupper((unsigned char)*p))
            return false;
    return check_labels(s, strlen(s), &labels, NULL) == 0;
}
