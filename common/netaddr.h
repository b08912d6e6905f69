/* Which addresses an agent may connect to for HTTP and TLS challenges. A CA
 * must not be turned into a scanner of its own networks (SSRF): loopback,
 * private, link-local, CGNAT, multicast, documentation and other reserved
 * ranges are refused unless the operator allows private targets. Pure. */
#ifndef MPIC_NETADDR_H
#define MPIC_NETADDR_H

#include <stdbool.h>

/* ip is an IPv4 or IPv6 literal. Returns true and a short reason ("loopback",
 * "private (RFC 1918)", "documentation (RFC 5737)", ...) when the address is
 * not a public unicast address; an unparseable literal is reserved too.
 * IPv4-mapped/-compatible IPv6 and NAT64 well-known-prefix addresses are
 * judged by the IPv4 address they carry. */
bool mpic_addr_is_reserved(const char *ip, const char **why);

#endif
