/* Unit tests for the SSRF guard (common/netaddr.c): the first and last
 * address of every refused range, the public neighbours just outside it, and
 * public addresses. Literals only: nothing here is ever contacted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "netaddr.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct addr_case {
    const char *ip;
    bool reserved;
    const char *why; /* substring of the reason; NULL: not checked */
};

/* Each refused range: first address, last address, public neighbours. */
static const struct addr_case v4_cases[] = {
    { "0.0.0.0", true, "this network" },
    { "0.255.255.255", true, "this network" },
    { "1.0.0.0", false, NULL },
    { "9.255.255.255", false, NULL },
    { "10.0.0.0", true, "RFC 1918" },
    { "10.255.255.255", true, "RFC 1918" },
    { "11.0.0.0", false, NULL },
    { "100.63.255.255", false, NULL },
    { "100.64.0.0", true, "RFC 6598" },
    { "100.127.255.255", true, "RFC 6598" },
    { "100.128.0.0", false, NULL },
    { "126.255.255.255", false, NULL },
    { "127.0.0.0", true, "loopback" },
    { "127.0.0.1", true, "loopback" },
    { "127.255.255.255", true, "loopback" },
    { "128.0.0.0", false, NULL },
    { "169.253.255.255", false, NULL },
    { "169.254.0.0", true, "link-local" },
    { "169.254.169.254", true, "link-local" },
    { "169.254.255.255", true, "link-local" },
    { "169.255.0.0", false, NULL },
    { "172.15.255.255", false, NULL },
    { "172.16.0.0", true, "RFC 1918" },
    { "172.31.255.255", true, "RFC 1918" },
    { "172.32.0.0", false, NULL },
    { "191.255.255.255", false, NULL },
    { "192.0.0.0", true, "IETF protocol" },
    { "192.0.0.255", true, "IETF protocol" },
    { "192.0.1.0", false, NULL },
    { "192.0.2.0", true, "documentation" },
    { "192.0.2.255", true, "documentation" },
    { "192.0.3.0", false, NULL },
    { "192.88.98.255", false, NULL },
    { "192.88.99.0", true, "6to4" },
    { "192.88.99.255", true, "6to4" },
    { "192.88.100.0", false, NULL },
    { "192.167.255.255", false, NULL },
    { "192.168.0.0", true, "RFC 1918" },
    { "192.168.255.255", true, "RFC 1918" },
    { "192.169.0.0", false, NULL },
    { "198.17.255.255", false, NULL },
    { "198.18.0.0", true, "benchmarking" },
    { "198.19.255.255", true, "benchmarking" },
    { "198.20.0.0", false, NULL },
    { "198.51.99.255", false, NULL },
    { "198.51.100.0", true, "documentation" },
    { "198.51.100.255", true, "documentation" },
    { "198.51.101.0", false, NULL },
    { "203.0.112.255", false, NULL },
    { "203.0.113.0", true, "documentation" },
    { "203.0.113.255", true, "documentation" },
    { "203.0.114.0", false, NULL },
    { "223.255.255.255", false, NULL },
    { "224.0.0.0", true, "multicast" },
    { "239.255.255.255", true, "multicast" },
    { "240.0.0.0", true, "reserved" },
    { "255.255.255.254", true, "reserved" },
    { "255.255.255.255", true, "broadcast" },
    /* public */
    { "8.8.8.8", false, NULL },
    { "1.1.1.1", false, NULL },
    { "9.9.9.9", false, NULL },
};

static const struct addr_case v6_cases[] = {
    { "::", true, "unspecified" },
    { "::1", true, "loopback" },
    { "0:0:0:0:0:0:0:1", true, "loopback" },
    /* IPv4-mapped and -compatible: judged by the IPv4 address carried */
    { "::ffff:0.0.0.0", true, "this network" },
    { "::ffff:127.0.0.1", true, "loopback" },
    { "::ffff:10.1.2.3", true, "RFC 1918" },
    { "::ffff:169.254.169.254", true, "link-local" },
    { "::ffff:255.255.255.255", true, "broadcast" },
    { "::ffff:8.8.8.8", false, NULL },
    { "::ffff:808:808", false, NULL },
    { "::127.0.0.1", true, "loopback" },
    { "::8.8.8.8", false, NULL },
    { "::0.0.0.2", true, "this network" },
    /* SIIT ::ffff:0:0:0/96 is neither mapped nor in 2000::/3 */
    { "::ffff:0:808:808", true, "2000::/3" },
    /* NAT64 well-known prefix: judged by the IPv4 address carried */
    { "64:ff9b::", true, "this network" },
    { "64:ff9b::a00:1", true, "RFC 1918" },
    { "64:ff9b::7f00:1", true, "loopback" },
    { "64:ff9b::808:808", false, NULL },
    { "64:ff9b::ffff:ffff", true, "broadcast" },
    { "64:ff9b:0:0:1::808:808", true, "2000::/3" },
    { "64:ff9b:1::", true, "RFC 8215" },
    { "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", true, "RFC 8215" },
    { "100::", true, "discard" },
    { "100::ffff:ffff:ffff:ffff", true, "discard" },
    { "100:0:0:1::", true, "2000::/3" },
    /* 2001::/23 protocol assignments, Teredo inside it */
    { "2001::", true, "Teredo" },
    { "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", true, "Teredo" },
    { "2001:1::1", true, "IETF protocol" },
    { "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", true, "IETF protocol" },
    { "2001:200::", false, NULL },
    { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false, NULL },
    { "2001:db8::", true, "RFC 3849" },
    { "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true, "RFC 3849" },
    { "2001:db9::", false, NULL },
    { "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, NULL },
    /* 6to4 refused outright, even with a public IPv4 inside */
    { "2002::", true, "6to4" },
    { "2002:808:808::1", true, "6to4" },
    { "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "6to4" },
    { "2003::", false, NULL },
    { "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, NULL },
    { "3fff::", true, "RFC 9637" },
    { "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", true, "RFC 9637" },
    { "3fff:1000::", false, NULL },
    { "4000::", true, "2000::/3" },
    { "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "2000::/3" },
    { "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "2000::/3" },
    { "fc00::", true, "unique local" },
    { "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "unique local" },
    { "fe00::", true, "2000::/3" },
    { "fe80::", true, "link-local" },
    { "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "link-local" },
    { "fec0::", true, "site-local" },
    { "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "site-local" },
    { "ff00::", true, "multicast" },
    { "ff02::1", true, "multicast" },
    { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, "multicast" },
    /* public */
    { "2606:4700::1111", false, NULL },
    { "2001:4860:4860::8888", false, NULL },
    { "2a00:1450:4001::1", false, NULL },
};

/* Anything that is not a plain literal is refused rather than guessed at. */
static const struct addr_case not_literal_cases[] = {
    { "", true, "not an IP" },
    { "example.com", true, "not an IP" },
    { "8.8.8", true, "not an IP" },
    { "010.0.0.1", true, "not an IP" },
    { "0x7f.0.0.1", true, "not an IP" },
    { "2130706433", true, "not an IP" },
    { " 8.8.8.8", true, "not an IP" },
    { "8.8.8.8 ", true, "not an IP" },
    { "[2606:4700::1111]", true, "not an IP" },
    { "fe80::1%eth0", true, "not an IP" },
    { "8.8.8.8:80", true, "not an IP" },
    { "256.0.0.1", true, "not an IP" },
};

static void run_table(const char *table, const struct addr_case *cases, size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        bool got = mpic_addr_is_reserved(cases[i].ip, &why);
        bool bad = got != cases[i].reserved || why == NULL;
        if (!bad && cases[i].why != NULL && strstr(why, cases[i].why) == NULL)
            bad = true;
        if (bad) {
            print_error("%s: %s expected %s (%s), got %s (%s)\n", table, cases[i].ip,
                        cases[i].reserved ? "reserved" : "public", cases[i].why != NULL ? cases[i].why : "-",
                        got ? "reserved" : "public", why != NULL ? why : "no reason");
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

static void ipv4_reserved_ranges_first_last_and_neighbours(void **state)
{
    (void)state;
    run_table("ipv4", v4_cases, ARRAY_LEN(v4_cases));
}

static void ipv6_reserved_ranges_first_last_and_neighbours(void **state)
{
    (void)state;
    run_table("ipv6", v6_cases, ARRAY_LEN(v6_cases));
}

static void non_literals_are_reserved(void **state)
{
    (void)state;
    run_table("not-literal", not_literal_cases, ARRAY_LEN(not_literal_cases));
    assert_true(mpic_addr_is_reserved(NULL, NULL));
}

static void why_may_be_null(void **state)
{
    (void)state;
    assert_true(mpic_addr_is_reserved("127.0.0.1", NULL));
    assert_false(mpic_addr_is_reserved("8.8.8.8", NULL));
}

/* The v4-in-v6 forms must agree with the plain IPv4 verdict for every
 * address, or a mapped spelling could slip a private address past the guard. */
static void mapped_and_nat64_agree_with_ipv4(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(v4_cases); i++) {
        char mapped[64], nat64[64];
        snprintf(mapped, sizeof mapped, "::ffff:%s", v4_cases[i].ip);
        snprintf(nat64, sizeof nat64, "64:ff9b::%s", v4_cases[i].ip);
        bool want = mpic_addr_is_reserved(v4_cases[i].ip, NULL);
        if (mpic_addr_is_reserved(mapped, NULL) != want)
            fail_msg("%s disagrees with %s", mapped, v4_cases[i].ip);
        if (mpic_addr_is_reserved(nat64, NULL) != want)
            fail_msg("%s disagrees with %s", nat64, v4_cases[i].ip);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_reserved_ranges_first_last_and_neighbours),
        cmocka_unit_test(ipv6_reserved_ranges_first_last_and_neighbours),
        cmocka_unit_test(non_literals_are_reserved),
        cmocka_unit_test(why_may_be_null),
        cmocka_unit_test(mapped_and_nat64_agree_with_ipv4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
