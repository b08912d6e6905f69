/* Which addresses an agent may connect to for HTTP and TLS challenges. A CA
 * must not be turned into a scanner of its own networks (SSRF): loopback,
 * private, link-local, CGNAT, multicast, documentation and other reserved
 * ranges are refused unless the operator allows private targets. Pure. */
#ifndef MPIC_NETADDR_H
#define MPIC_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

/* ip is an IPv4 or IPv6 literal. Returns true and a short reason ("loopback",
 * "private (RFC 1918)", "documentation (RFC 5737)", ...) when the address is
 * not a public unicast address; an unparseable literal is reserved too.
 * IPv4-mapped/-compatible IPv6 and NAT64 well-known-prefix addresses are
 * judged by the IPv4 address they carry. */
bool mpic_addr_is_reserved(const char *ip, const char **why);

/* Whether s is an IPv4 or IPv6 address literal (no brackets, no zone). */
bool mpic_addr_is_literal(const char *s);

/* Whether two literals name the same address ("::1" and "0::1" do). */
bool mpic_addr_same(const char *a, const char *b);

/* The reverse-mapping name of an IP literal (RFC 1035 §3.5, RFC 3596 §2.5),
 * e.g. 4.3.2.1.in-addr.arpa, without a trailing dot: the DNS methods ask it
 * and TLS-ALPN sends it as SNI (RFC 8738 §6). -1 when ip is no literal or
 * buf is too small. */
int mpic_addr_reverse_name(const char *ip, char *buf, size_t len);

#endif
