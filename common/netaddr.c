/* The SSRF guard: which addresses are not public unicast and so must not be
 * contacted for an HTTP or TLS challenge. The tables follow the IANA special-
 * purpose address registries (RFC 6890 and successors); every entry is
 * refused whether or not the registry marks it "globally reachable", since a
 * validation target has no business being an anycast relay or a protocol
 * assignment.
 *
 * Decisions beyond the registries, on purpose:
 * - IPv6 outside 2000::/3 is refused: IANA allocates global unicast only
 *   there, so anything else is unallocated or special.
 * - IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96) and NAT64 well-known
 *   prefix (64:ff9b::/96) addresses are judged by the IPv4 address they carry:
 *   that is where the packets end up.
 * - 6to4 (2002::/16) is refused outright rather than judged by its embedded
 *   IPv4 address: the path runs through relays we do not control (RFC 7526
 *   deprecated the anycast relays), so the embedded address says little
 *   about where the connection really lands. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct range {
    uint8_t prefix[16];
    unsigned bits;
    const char *why;
};

static const struct range v4_ranges[] = {
    { { 255, 255, 255, 255 }, 32, "limited broadcast (RFC 919)" },
    { { 0 }, 8, "this network (RFC 1122)" },
    { { 10 }, 8, "private (RFC 1918)" },
    { { 100, 64 }, 10, "shared address space (CGNAT, RFC 6598)" },
    { { 127 }, 8, "loopback (RFC 1122)" },
    { { 169, 254 }, 16, "link-local (RFC 3927)" },
    { { 172, 16 }, 12, "private (RFC 1918)" },
    { { 192, 0, 0 }, 24, "IETF protocol assignments (RFC 6890)" },
    { { 192, 0, 2 }, 24, "documentation (RFC 5737)" },
    { { 192, 88, 99 }, 24, "6to4 relay anycast (RFC 7526)" },
    { { 192, 168 }, 16, "private (RFC 1918)" },
    { { 198, 18 }, 15, "benchmarking (RFC 2544)" },
    { { 198, 51, 100 }, 24, "documentation (RFC 5737)" },
    { { 203, 0, 113 }, 24, "documentation (RFC 5737)" },
    { { 224 }, 4, "multicast (RFC 5771)" },
    { { 240 }, 4, "reserved (RFC 1112)" },
};

static const struct range v6_ranges[] = {
    { { 0 }, 128, "unspecified (RFC 4291)" },
    { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128, "loopback (RFC 4291)" },
    { { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, "local-use NAT64 (RFC 8215)" },
    { { 0x01, 0x00 }, 64, "discard-only (RFC 6666)" },
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation (RFC 3849)" },
    { { 0x20, 0x01, 0x00, 0x00 }, 32, "Teredo (RFC 4380)" },
    { { 0x20, 0x01 }, 23, "IETF protocol assignments (RFC 2928)" },
    { { 0x20, 0x02 }, 16, "6to4 (RFC 3056)" },
    { { 0x3f, 0xff }, 20, "documentation (RFC 9637)" },
    { { 0xfc }, 7, "unique local (RFC 4193)" },
    { { 0xfe, 0x80 }, 10, "link-local (RFC 4291)" },
    { { 0xfe, 0xc0 }, 10, "site-local (RFC 3879)" },
    { { 0xff }, 8, "multicast (RFC 4291)" },
};

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
static const uint8_t v4_compat[12] = { 0 };
static const uint8_t nat64_wkp[12] = { 0x00, 0x64, 0xff, 0x9b };

static bool in_range(const uint8_t *addr, const struct range *r)
{
    unsigned whole = r->bits / 8;
    unsigned rest = r->bits % 8;
    if (memcmp(addr, r->prefix, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[whole] & mask) == (r->prefix[whole] & mask);
}

static const char *lookup(const uint8_t *addr, const struct range *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (in_range(addr, &table[i]))
            return table[i].why;
    }
    return NULL;
}

static const char *v4_reason(const uint8_t *a)
{
    return lookup(a, v4_ranges, sizeof v4_ranges / sizeof v4_ranges[0]);
}

static const char *v6_reason(const uint8_t *a)
{
    const char *why = lookup(a, v6_ranges, sizeof v6_ranges / sizeof v6_ranges[0]);
    if (why != NULL)
        return why;
    if (memcmp(a, v4_mapped, 12) == 0 || memcmp(a, v4_compat, 12) == 0 || memcmp(a, nat64_wkp, 12) == 0)
        return v4_reason(a + 12);
    if ((a[0] & 0xe0) != 0x20)
        return "reserved (outside 2000::/3 global unicast)";
    return NULL;
}

bool mpic_addr_is_reserved(const char *ip, const char **why)
{
    uint8_t a[16];
    const char *reason;
    if (ip != NULL && inet_pton(AF_INET, ip, a) == 1)
        reason = v4_reason(a);
    else if (ip != NULL && inet_pton(AF_INET6, ip, a) == 1)
        reason = v6_reason(a);
    else
        reason = "not an IP address literal";
    if (why != NULL)
        *why = reason != NULL ? reason : "public unicast";
    return reason != NULL;
}

bool mpic_addr_is_literal(const char *s)
{
    uint8_t a[16];
    return s != NULL && (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1);
}

bool mpic_addr_same(const char *a, const char *b)
{
    uint8_t x[16], y[16];
    if (inet_pton(AF_INET, a, x) == 1)
        return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
    return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 && memcmp(x, y, 16) == 0;
}

int mpic_addr_reverse_name(const char *ip, char *buf, size_t len)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, ip, a) == 1)
        return snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]) < (int)len ? 0 : -1;
    if (inet_pton(AF_INET6, ip, a) != 1 || len < 64 + sizeof "ip6.arpa")
        return -1;
    static const char hex[] = "0123456789abcdef";
    size_t pos = 0;
    for (int i = 15; i >= 0; i--) {
        buf[pos++] = hex[a[i] & 0xf];
        buf[pos++] = '.';
        buf[pos++] = hex[a[i] >> 4];
        buf[pos++] = '.';
    }
    memcpy(buf + pos, "ip6.arpa", sizeof "ip6.arpa");
    return 0;
}
