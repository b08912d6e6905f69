#include "target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

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

int mpic_target_parse(const char *s, struct mpic_target *out, struct mpic_error *err)
{
    unsigned char buf[16];
    memset(out, 0, sizeof *out);
    if (s == NULL || *s == '\0')
        return mpic_error_set(err, "target is empty");
    if (inet_pton(AF_INET, s, buf) == 1) {
        out->kind = MPIC_TARGET_IPV4;
        return 0;
    }
    if (strchr(s, ':') != NULL) {
        if (inet_pton(AF_INET6, s, buf) == 1) {
            out->kind = MPIC_TARGET_IPV6;
            return 0;
        }
        return mpic_error_set(err, "not a valid IPv6 address (no brackets, ports or zones)");
    }
    out->kind = MPIC_TARGET_DNS;
    const char *name = s;
    if (strncmp(s, "*.", 2) == 0) {
        out->wildcard = true;
        name = s + 2;
    }
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
