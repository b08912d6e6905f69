/* The addresses of a name the agent will connect to (HTTP and TLS-ALPN
 * challenges), found through the agent's own resolver, never the system's.
 *
 * One policy, the one a CA would expect of both methods:
 * - A and AAAA are asked in parallel; every address is kept, IPv4 first, up
 *   to MPIC_ADDR_LOOKUP_MAX, and the caller tries them in that order while
 *   connecting fails (a name's operator may list a dead address first);
 * - a family whose lookup failed does not matter when the other found
 *   addresses: the addresses we would use are known;
 * - NXDOMAIN, SERVFAIL and any other rcode but NOERROR are lookup errors
 *   whose message names the rcode: a name that does not exist cannot be
 *   validated, and saying "no records" would hide why;
 * - every address goes through the SSRF guard (netaddr.h) before the first
 *   connect (mpic_addr_list_refused), so that a name with one public and
 *   one internal address is refused, not half-trusted. */
#ifndef MPIC_ADDR_LOOKUP_H
#define MPIC_ADDR_LOOKUP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "error.h"
#include "resolver.h"

#define MPIC_ADDR_LOOKUP_MAX 16

struct mpic_addr {
    int family;                     /* AF_INET or AF_INET6 */
    unsigned char bytes[16];
    char text[INET6_ADDRSTRLEN];
};

struct mpic_addr_list {
    struct mpic_addr a[MPIC_ADDR_LOOKUP_MAX];
    size_t n;
};

/* Appends the literal ip (IPv4 or IPv6); -1 when it is none or the list is full. */
int mpic_addr_list_add_literal(struct mpic_addr_list *l, const char *ip);

/* The first address the SSRF guard refuses, with its reason; NULL when all
 * are public (or allow_private, agent.allow_private_targets, is set). */
const struct mpic_addr *mpic_addr_list_refused(const struct mpic_addr_list *l, bool allow_private, const char **why);

/* sockaddr for a with port. */
socklen_t mpic_addr_sockaddr(const struct mpic_addr *a, unsigned port, struct sockaddr_storage *ss);

/* Called once from the loop unless cancelled: the addresses found (n > 0),
 * or error, a message naming the name, the type and the failure. The lookup
 * frees itself when the callback returns: forget it, do not cancel it. */
typedef void (*mpic_addr_lookup_cb)(const struct mpic_addr_list *found, const char *error, void *arg);

struct mpic_addr_lookup;
struct mpic_addr_lookup *mpic_addr_lookup_start(struct mpic_resolver *r, const char *host, mpic_addr_lookup_cb cb,
                                                void *arg, struct mpic_error *err);
/* Also frees; NULL is fine. */
void mpic_addr_lookup_cancel(struct mpic_addr_lookup *l);

#endif
